package storetest

import (
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// messageIDs are the ids of messages, in order.
func messageIDs(ms []*smsflow.Message) []int64 {
	out := []int64{}
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func messageCases() []contractCase {
	return []contractCase{
		{"Tx.InsertMessage", func(t *testing.T, db *store.DB) {
			r := addRun(t, db, smsflow.Run{ContactID: "ana"})
			m := newMessage(smsflow.Message{RunID: r.ID, StepID: "hi", ContactID: "ana", Category: "lifecycle", Sender: "+15550001111",
				SendBefore: t0.Add(time.Hour), Body: "Hello Ana", Encoding: "UCS-2", Characters: 9, Segments: 1})
			var again bool
			write(t, db, func(tx *store.Tx) error {
				if ok := must(tx.InsertMessage(m))(t); !ok {
					t.Error("the first message of a step was not inserted")
				}
				// The same step again: not written (a step never sends twice).
				again = must(tx.InsertMessage(newMessage(smsflow.Message{RunID: r.ID, StepID: "hi", ContactID: "ana"})))(t)
				equal(t, "read in the same transaction", must(tx.StepMessageStatus(r.ID, "hi"))(t), "queued")
				return nil
			})
			equal(t, "second message of the step inserted", again, false)
			equal(t, "stored", *messageByID(t, db, m.ID), *m)
			// Messages without a run (automatic replies) never collide.
			addMessage(t, db, smsflow.Message{StepID: "keyword:stop", ContactID: "ana"})
			addMessage(t, db, smsflow.Message{StepID: "keyword:stop", ContactID: "ana"})
			// A new step, then that step again.
			write(t, db, func(tx *store.Tx) error {
				equal(t, "a new step", must(tx.InsertMessage(newMessage(smsflow.Message{RunID: r.ID, StepID: "bye", ContactID: "ana"})))(t), true)
				equal(t, "that step again", must(tx.InsertMessage(newMessage(smsflow.Message{RunID: r.ID, StepID: "bye", ContactID: "ana"})))(t), false)
				equal(t, "its status in the transaction", must(tx.StepMessageStatus(r.ID, "bye"))(t), "queued")
				return nil
			})
			equal(t, "messages", len(must(db.Messages(bg, store.MessageFilter{}))(t)), 4)
		}},
		{"Tx.AutoReplies", func(t *testing.T, db *store.DB) {
			a := addMessage(t, db, smsflow.Message{StepID: "keyword:stop", ContactID: "ana", CreatedAt: t0})
			addMessage(t, db, smsflow.Message{StepID: "keyword:help", ContactID: "ana", CreatedAt: t0.Add(time.Minute)})
			addMessage(t, db, smsflow.Message{StepID: "keyword:stop", ContactID: "ana", CreatedAt: t0.Add(-time.Hour)})        // before since
			addMessage(t, db, smsflow.Message{StepID: "keyword:stop", ContactID: "ana", CreatedAt: t0, Status: "canceled"})    // canceled
			addMessage(t, db, smsflow.Message{StepID: "keyword:stop", ContactID: "ana", CreatedAt: t0, Phone: "+14155550199"}) // another number
			addMessage(t, db, smsflow.Message{StepID: "keyword:stop", ContactID: "ana", CreatedAt: t0, Direction: "in"})       // inbound
			r := addRun(t, db, smsflow.Run{ContactID: "ana"})
			addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: "keyword:x", ContactID: "ana", CreatedAt: t0}) // a run's
			write(t, db, func(tx *store.Tx) error {
				got := must(tx.AutoReplies("ana", a.Phone, "keyword:", t0))(t)
				equal(t, "auto replies", len(got), 2)
				seen := map[store.AutoReply]bool{}
				for _, r := range got {
					seen[r] = true
				}
				if !seen[store.AutoReply{StepID: "keyword:stop", At: t0}] || !seen[store.AutoReply{StepID: "keyword:help", At: t0.Add(time.Minute)}] {
					t.Errorf("auto replies %+v", got)
				}
				equal(t, "another prefix", len(must(tx.AutoReplies("ana", a.Phone, "confirm:", t0))(t)), 0)
				return nil
			})
		}},
		{"Tx.StepMessageStatus", func(t *testing.T, db *store.DB) {
			r := addRun(t, db, smsflow.Run{ContactID: "ana"})
			addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: "hi", ContactID: "ana", Status: "delivered"})
			write(t, db, func(tx *store.Tx) error {
				equal(t, "sent step", must(tx.StepMessageStatus(r.ID, "hi"))(t), "delivered")
				equal(t, "no message", must(tx.StepMessageStatus(r.ID, "bye"))(t), "")
				return nil
			})
		}},
		{"Tx.RunReplied", func(t *testing.T, db *store.DB) {
			addMessage(t, db, smsflow.Message{ContactID: "ana", Direction: "in", CreatedAt: t0})
			addMessage(t, db, smsflow.Message{ContactID: "bob", Direction: "out", StepID: "keyword:x", CreatedAt: t0.Add(time.Hour)})
			write(t, db, func(tx *store.Tx) error {
				equal(t, "replied at since", must(tx.RunReplied("ana", t0))(t), true)
				equal(t, "nothing after", must(tx.RunReplied("ana", t0.Add(time.Second)))(t), false)
				equal(t, "outbound is no reply", must(tx.RunReplied("bob", t0))(t), false)
				return nil
			})
		}},
		{"Tx.LastRunMessage", func(t *testing.T, db *store.DB) {
			r := addRun(t, db, smsflow.Run{ContactID: "ana"})
			addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: "a", ContactID: "ana"})
			b := addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: "b", ContactID: "ana"})
			write(t, db, func(tx *store.Tx) error {
				equal(t, "latest", must(tx.LastRunMessage(r.ID))(t), b.ID)
				equal(t, "none", must(tx.LastRunMessage(r.ID+1000))(t), int64(0))
				return nil
			})
		}},
		{"Tx.MessageByProviderID", func(t *testing.T, db *store.DB) {
			addMessage(t, db, smsflow.Message{StepID: "keyword:a", ContactID: "ana", Provider: "twilio", ProviderID: "SM1"})
			b := addMessage(t, db, smsflow.Message{StepID: "keyword:b", ContactID: "ana", Provider: "twilio", ProviderID: "SM1"})
			addMessage(t, db, smsflow.Message{Direction: "in", ContactID: "ana", Provider: "twilio", ProviderID: "SM2"})
			write(t, db, func(tx *store.Tx) error {
				equal(t, "the latest with the id", must(tx.MessageByProviderID("twilio", "SM1"))(t).ID, b.ID)
				equal(t, "another provider", must(tx.MessageByProviderID("smpp", "SM1"))(t), (*smsflow.Message)(nil))
				equal(t, "inbound", must(tx.MessageByProviderID("twilio", "SM2"))(t), (*smsflow.Message)(nil))
				equal(t, "no id", must(tx.MessageByProviderID("twilio", ""))(t), (*smsflow.Message)(nil))
				return nil
			})
		}},
		{"DB.InboundSeen", func(t *testing.T, db *store.DB) {
			addMessage(t, db, smsflow.Message{Direction: "in", ContactID: "ana", Provider: "twilio", ProviderID: "SM1"})
			addMessage(t, db, smsflow.Message{StepID: "keyword:a", ContactID: "ana", Provider: "twilio", ProviderID: "SM2"})
			equal(t, "seen", must(db.InboundSeen(bg, "twilio", "SM1"))(t), true)
			equal(t, "outbound", must(db.InboundSeen(bg, "twilio", "SM2"))(t), false)
			equal(t, "another provider", must(db.InboundSeen(bg, "smpp", "SM1"))(t), false)
			equal(t, "no id", must(db.InboundSeen(bg, "twilio", ""))(t), false)
		}},
		{"Tx.SetInboundProviderID", func(t *testing.T, db *store.DB) {
			in := addMessage(t, db, smsflow.Message{Direction: "in", ContactID: "ana", Provider: "twilio"})
			out := addMessage(t, db, smsflow.Message{StepID: "keyword:a", ContactID: "ana", Provider: "twilio"})
			write(t, db, func(tx *store.Tx) error {
				if err := tx.SetInboundProviderID(in.ID, "SM1"); err != nil {
					return err
				}
				return tx.SetInboundProviderID(out.ID, "SM2")
			})
			equal(t, "inbound", messageByID(t, db, in.ID).ProviderID, "SM1")
			equal(t, "outbound untouched", messageByID(t, db, out.ID).ProviderID, "")
			equal(t, "seen", must(db.InboundSeen(bg, "twilio", "SM1"))(t), true)
		}},
		{"Tx.SetDeliveryStatus", func(t *testing.T, db *store.DB) {
			m := addMessage(t, db, smsflow.Message{StepID: "keyword:a", ContactID: "ana", Status: "sent", ErrorCode: "30001"})
			write(t, db, func(tx *store.Tx) error { return tx.SetDeliveryStatus(m.ID, "delivered", "", t0.Add(time.Minute)) })
			got := messageByID(t, db, m.ID)
			equal(t, "status", got.Status, "delivered")
			equal(t, "error code kept", got.ErrorCode, "30001")
			equal(t, "updated", got.UpdatedAt, t0.Add(time.Minute))
			write(t, db, func(tx *store.Tx) error { return tx.SetDeliveryStatus(m.ID, "undelivered", "30003", t0) })
			equal(t, "error code set", messageByID(t, db, m.ID).ErrorCode, "30003")
		}},
		{"Tx.SetMessageStatus", func(t *testing.T, db *store.DB) {
			m := addMessage(t, db, smsflow.Message{StepID: "keyword:a", ContactID: "ana", Provider: "twilio", ProviderID: "SM1", ErrorCode: "x"})
			write(t, db, func(tx *store.Tx) error {
				return tx.SetMessageStatus(m.ID, "failed", "", "", "21610", t0.Add(time.Minute))
			})
			got := messageByID(t, db, m.ID)
			equal(t, "status", got.Status, "failed")
			equal(t, "provider kept", got.Provider, "twilio")
			equal(t, "provider id kept", got.ProviderID, "SM1")
			equal(t, "error code", got.ErrorCode, "21610")
			equal(t, "updated", got.UpdatedAt, t0.Add(time.Minute))
			write(t, db, func(tx *store.Tx) error { return tx.SetMessageStatus(m.ID, "sent", "smpp", "X9", "", t0) })
			got = messageByID(t, db, m.ID)
			equal(t, "provider", got.Provider+"/"+got.ProviderID+"/"+got.ErrorCode, "smpp/X9/")
		}},
		{"Tx.RecentSends", func(t *testing.T, db *store.DB) {
			r := addRun(t, db, smsflow.Run{ContactID: "ana"})
			for i, s := range []string{"queued", "sending", "sent", "delivered", "unknown", "failed", "canceled"} {
				addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: s, ContactID: "ana", Status: s, Category: "promo", CreatedAt: t0.Add(time.Duration(i) * time.Minute)})
			}
			addMessage(t, db, smsflow.Message{Direction: "in", ContactID: "ana", CreatedAt: t0.Add(time.Hour)})
			addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: "old", ContactID: "ana", Category: "promo", CreatedAt: t0.Add(-time.Hour)})
			write(t, db, func(tx *store.Tx) error {
				got := must(tx.RecentSends("ana", t0.Add(-time.Minute)))(t)
				var at []time.Time
				for _, s := range got {
					at = append(at, s.At)
					if s.Category != "promo" || s.FlowID != "welcome" {
						t.Errorf("record %+v", s)
					}
				}
				equal(t, "counted sends after since, oldest first", at, []time.Time{t0, t0.Add(time.Minute), t0.Add(2 * time.Minute), t0.Add(3 * time.Minute), t0.Add(4 * time.Minute)})
				equal(t, "strictly after since", len(must(tx.RecentSends("ana", t0))(t)), 4)
				return nil
			})
		}},
		{"DB.Messages", func(t *testing.T, db *store.DB) {
			a := addMessage(t, db, smsflow.Message{StepID: "keyword:a", ContactID: "ana", FlowID: "welcome"})
			b := addMessage(t, db, smsflow.Message{StepID: "keyword:b", ContactID: "ana", Status: "sent"})
			c := addMessage(t, db, smsflow.Message{StepID: "keyword:c", ContactID: "bob", FlowID: "welcome"})
			equal(t, "newest first", messageIDs(must(db.Messages(bg, store.MessageFilter{}))(t)), []int64{c.ID, b.ID, a.ID})
			equal(t, "by contact", messageIDs(must(db.Messages(bg, store.MessageFilter{ContactID: "ana"}))(t)), []int64{b.ID, a.ID})
			equal(t, "by flow", messageIDs(must(db.Messages(bg, store.MessageFilter{FlowID: "welcome"}))(t)), []int64{c.ID, a.ID})
			equal(t, "by status", messageIDs(must(db.Messages(bg, store.MessageFilter{Status: "sent"}))(t)), []int64{b.ID})
			equal(t, "limited", messageIDs(must(db.Messages(bg, store.MessageFilter{Limit: 1}))(t)), []int64{c.ID})
			equal(t, "none", must(db.Messages(bg, store.MessageFilter{ContactID: "cy"}))(t), []*smsflow.Message{})
			in := addMessage(t, db, smsflow.Message{ContactID: "bob", Direction: "in", Status: "received", CreatedAt: t0.Add(time.Hour)})
			equal(t, "inbound", messageIDs(must(db.Messages(bg, store.MessageFilter{Direction: "in"}))(t)), []int64{in.ID})
			equal(t, "outbound", messageIDs(must(db.Messages(bg, store.MessageFilter{Direction: "out"}))(t)), []int64{c.ID, b.ID, a.ID})
			equal(t, "since (included)", messageIDs(must(db.Messages(bg, store.MessageFilter{Since: t0.Add(time.Hour)}))(t)), []int64{in.ID})
			equal(t, "until (excluded)", messageIDs(must(db.Messages(bg, store.MessageFilter{Until: t0.Add(time.Hour)}))(t)), []int64{c.ID, b.ID, a.ID})
			equal(t, "the next page (keyset)", messageIDs(must(db.Messages(bg, store.MessageFilter{Before: c.ID, Limit: 1}))(t)), []int64{b.ID})
			equal(t, "filters combine", messageIDs(must(db.Messages(bg, store.MessageFilter{ContactID: "ana", Before: b.ID}))(t)), []int64{a.ID})
		}},
		{"DB.MessageLog", func(t *testing.T, db *store.DB) {
			// Newest first by created_at, then id: a message recorded later
			// with an older created_at (an import) sorts by its time.
			a := addMessage(t, db, smsflow.Message{ContactID: "ana", FlowID: "welcome", Status: "delivered", CreatedAt: t0})
			b := addMessage(t, db, smsflow.Message{ContactID: "ana", Status: "unknown", CreatedAt: t0.Add(time.Minute)})
			c := addMessage(t, db, smsflow.Message{ContactID: "bob", FlowID: "welcome", Status: "delivered", CreatedAt: t0.Add(time.Minute)})
			d := addMessage(t, db, smsflow.Message{ContactID: "bob", Direction: "in", Status: "received", CreatedAt: t0.Add(-time.Hour)})
			log := func(f store.MessageFilter) []int64 { return messageIDs(must(db.MessageLog(bg, f))(t)) }
			equal(t, "newest first", log(store.MessageFilter{}), []int64{c.ID, b.ID, a.ID, d.ID})
			equal(t, "by flow", log(store.MessageFilter{FlowID: "welcome"}), []int64{c.ID, a.ID})
			equal(t, "by contact", log(store.MessageFilter{ContactID: "bob"}), []int64{c.ID, d.ID})
			equal(t, "unknown", log(store.MessageFilter{Status: "unknown"}), []int64{b.ID})
			equal(t, "a status that is not a word", log(store.MessageFilter{Status: "x'y"}), []int64{})
			equal(t, "inbound", log(store.MessageFilter{Direction: "in"}), []int64{d.ID})
			equal(t, "outbound", log(store.MessageFilter{Direction: "out"}), []int64{c.ID, b.ID, a.ID})
			equal(t, "dates", log(store.MessageFilter{Since: t0, Until: t0.Add(time.Minute)}), []int64{a.ID})
			// The next page after c (same instant as b): b, then older.
			equal(t, "keyset", log(store.MessageFilter{BeforeAt: c.CreatedAt, Before: c.ID, Limit: 2}), []int64{b.ID, a.ID})
			equal(t, "keyset at the end", log(store.MessageFilter{BeforeAt: d.CreatedAt, Before: d.ID}), []int64{})
			// A claimed message is stored queued with its round's token
			// (D91): the log filters it as sending, not as queued.
			e := addMessage(t, db, smsflow.Message{ContactID: "cy", CreatedAt: t0.Add(2 * time.Minute)})
			equal(t, "claimed", messageIDs(claim(t, db, t0, 1, store.OutboxScope{})), []int64{e.ID})
			f := addMessage(t, db, smsflow.Message{ContactID: "cy", CreatedAt: t0.Add(2 * time.Minute)})
			equal(t, "sending", log(store.MessageFilter{Status: "sending"}), []int64{e.ID})
			equal(t, "queued", log(store.MessageFilter{Status: "queued"}), []int64{f.ID})
			t.Run("a flow, a rare status and dates", func(t *testing.T) { messageLogRare(t, db) })
		}},
	}
}

// messageLogRare checks the message log's flow + rare status + dates
// filter, the one migration 0024's partial indexes serve.
func messageLogRare(t *testing.T, db *store.DB) {
	// Migration 0024's partial indexes hold a message while it is in
	// a rare state: a receipt that moves it in (or out) must show.
	var ids []int64
	for i, st := range []string{"delivered", "undelivered", "undelivered", "failed", "canceled", "undelivered"} {
		flow := "welcome"
		if i == 5 {
			flow = "winback"
		}
		ids = append(ids, addMessage(t, db, smsflow.Message{ContactID: "ana", FlowID: flow, Status: st, CreatedAt: t0.Add(time.Duration(i) * time.Hour)}).ID)
	}
	log := func(status string, since, until time.Duration) []int64 {
		return messageIDs(must(db.MessageLog(bg, store.MessageFilter{FlowID: "welcome", Status: status,
			Since: t0.Add(since), Until: t0.Add(until)}))(t))
	}
	equal(t, "undelivered in the flow and dates", log("undelivered", 0, 24*time.Hour), []int64{ids[2], ids[1]})
	equal(t, "dates bound it", log("undelivered", 2*time.Hour, 24*time.Hour), []int64{ids[2]})
	equal(t, "failed", log("failed", 0, 24*time.Hour), []int64{ids[3]})
	equal(t, "canceled", log("canceled", 0, 24*time.Hour), []int64{ids[4]})
	write(t, db, func(tx *store.Tx) error {
		return tx.SetMessageStatus(ids[0], "undelivered", "", "", "30003", t0.Add(time.Hour))
	})
	write(t, db, func(tx *store.Tx) error {
		return tx.SetMessageStatus(ids[2], "delivered", "", "", "", t0.Add(time.Hour))
	})
	equal(t, "a receipt moves a message in and out", log("undelivered", 0, 24*time.Hour), []int64{ids[1], ids[0]})
	equal(t, "the keyset", messageIDs(must(db.MessageLog(bg, store.MessageFilter{FlowID: "welcome", Status: "undelivered",
		Since: t0, Until: t0.Add(24 * time.Hour), BeforeAt: t0.Add(time.Hour), Before: ids[1], Limit: 5}))(t)), []int64{ids[0]})
}
