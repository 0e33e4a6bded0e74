package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

func claim(t testing.TB, db *store.DB, now time.Time, limit int, scope store.OutboxScope) []*smsflow.Message {
	t.Helper()
	var got []*smsflow.Message
	write(t, db, func(tx *store.Tx) (err error) { got, err = tx.ClaimOutbox(now, limit, scope); return })
	return got
}

func outboxCases() []contractCase {
	return []contractCase{
		{"Tx.ClaimOutbox", func(t *testing.T, db *store.DB) {
			r := addRun(t, db, smsflow.Run{ContactID: "ana"})
			a := addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: "a", ContactID: "ana"})
			b := addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: "b", ContactID: "ana"})
			c := addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: "c", ContactID: "ana"})
			addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: "d", ContactID: "ana", Status: "sent"})
			addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: "e", ContactID: "ana", Sender: "+15550001111"})
			p := addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: "f", ContactID: "ana", FlowID: "paused"})
			got := claim(t, db, t0, 2, store.OutboxScope{Waiting: []string{"paused"}})
			equal(t, "oldest first, limited", messageIDs(got), []int64{a.ID, b.ID})
			equal(t, "claimed status", got[0].Status, "sending")
			equal(t, "claimed at", got[0].UpdatedAt, t0)
			equal(t, "stored status", messageByID(t, db, a.ID).Status, "sending")
			// The claim returns fewer columns than a read (no consumed_by,
			// an inbound message's): an outbound message reads the same.
			equal(t, "claimed as read", *got[0], *messageByID(t, db, a.ID))
			equal(t, "the rest", messageIDs(claim(t, db, t0, 10, store.OutboxScope{Waiting: []string{"paused"}})), []int64{c.ID})
			equal(t, "a waiting flow's, once it is not", messageIDs(claim(t, db, t0, 10, store.OutboxScope{})), []int64{p.ID})
			equal(t, "another sender's", len(claim(t, db, t0, 10, store.OutboxScope{Sender: "+15550001111"})), 1)
			equal(t, "nothing left", len(claim(t, db, t0, 10, store.OutboxScope{})), 0)
			t.Run("past a cursor", func(t *testing.T) { claimAfter(t, db, r.ID) })
			t.Run("claimed rows", func(t *testing.T) { claimedRows(t, db) })
			t.Run("marking the first calls", func(t *testing.T) { claimCalling(t, db) })
			if !concurrent(db) {
				return
			}
			for _, s := range []string{"g", "h", "i"} {
				addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: s, ContactID: "ana"})
			}
			write(t, db, func(tx *store.Tx) error {
				mine := must(tx.ClaimOutbox(t0, 1, store.OutboxScope{}))(t)
				return alongside(db, func(tx2 *store.Tx) error {
					// The statement that marks calls skips locked rows too.
					theirs := must(tx2.ClaimOutbox(t0, 10, store.OutboxScope{Calling: 1}))(t)
					equal(t, "another sender skips the claimed row", len(theirs), 2)
					for _, m := range theirs {
						if m.ID == mine[0].ID {
							t.Errorf("message %d claimed twice", m.ID)
						}
					}
					return nil
				})
			})
		}},
		{"Tx.ReleaseClaim", func(t *testing.T, db *store.DB) {
			for _, s := range []string{"a", "b", "c"} {
				addMessage(t, db, smsflow.Message{StepID: "keyword:" + s, ContactID: "ana"})
			}
			done := claim(t, db, t0, 2, store.OutboxScope{Node: "n1", Claim: 3})
			open := claim(t, db, t0, 1, store.OutboxScope{Node: "n1", Claim: 5})
			write(t, db, func(tx *store.Tx) error {
				if err := tx.MarkSent("console", "", messageIDs(done), []string{"", ""}, []string{"", ""}, t0); err != nil {
					return err
				}
				if err := tx.ReleaseClaim("n1", 3); err != nil {
					return err
				}
				return tx.ReleaseClaim("n1", 77) // none: no error
			})
			equal(t, "only the open round is taken back", must(db.RecoverClaims(bg, "n1", time.Time{}, t0))(t), store.Recovered{Requeued: 1})
			equal(t, "queued again", messageByID(t, db, open[0].ID).Status, "queued")
			equal(t, "sent ones untouched", messageByID(t, db, done[0].ID).Status, "sent")
			equal(t, "a round is taken back once", must(db.RecoverClaims(bg, "n1", time.Time{}, t0))(t), store.Recovered{})
		}},
		{"DB.RepointQueued", func(t *testing.T, db *store.DB) {
			gone := addMessage(t, db, smsflow.Message{StepID: "keyword:a", ContactID: "ana", Sender: "+15550000001"})
			kept := addMessage(t, db, smsflow.Message{StepID: "keyword:b", ContactID: "ana", Sender: "+15550000002"})
			sent := addMessage(t, db, smsflow.Message{StepID: "keyword:c", ContactID: "ana", Sender: "+15550000001", Status: "sent"})
			equal(t, "moved", must(db.RepointQueued(bg, []string{"+15550000002"}))(t), int64(1))
			equal(t, "a removed sender's queued message", messageByID(t, db, gone.ID).Sender, "")
			equal(t, "a kept sender's", messageByID(t, db, kept.ID).Sender, "+15550000002")
			equal(t, "a sent one", messageByID(t, db, sent.ID).Sender, "+15550000001")
			equal(t, "none kept", must(db.RepointQueued(bg, nil))(t), int64(1))
		}},
		{"Tx.MarkSent", func(t *testing.T, db *store.DB) {
			a := addMessage(t, db, smsflow.Message{StepID: "keyword:a", ContactID: "ana", Status: "sending", ErrorCode: "throttled"})
			b := addMessage(t, db, smsflow.Message{StepID: "keyword:b", ContactID: "ana", Status: "sending", Sender: "+15550000002", ProviderID: "OLD"})
			c := addMessage(t, db, smsflow.Message{StepID: "keyword:c", ContactID: "ana", Status: "sending"})
			write(t, db, func(tx *store.Tx) error {
				if err := tx.MarkSent("twilio", "", nil, nil, nil, t0); err != nil {
					return err
				}
				return tx.MarkSent("twilio", "+15550000001", []int64{a.ID, b.ID}, []string{"SM1", ""}, []string{"", "delivered"}, t0.Add(time.Minute))
			})
			ga, gb := messageByID(t, db, a.ID), messageByID(t, db, b.ID)
			equal(t, "a", []string{ga.Status, ga.Provider, ga.ProviderID, ga.Sender, ga.ErrorCode}, []string{"sent", "twilio", "SM1", "+15550000001", ""})
			equal(t, "b", []string{gb.Status, gb.Provider, gb.ProviderID, gb.Sender}, []string{"delivered", "twilio", "OLD", "+15550000002"})
			equal(t, "updated", ga.UpdatedAt, t0.Add(time.Minute))
			equal(t, "c untouched", messageByID(t, db, c.ID).Status, "sending")
			write(t, db, func(tx *store.Tx) error {
				return tx.MarkSent("smpp", "", []int64{c.ID}, []string{""}, []string{""}, t0)
			})
			equal(t, "no sender: left for the default", messageByID(t, db, c.ID).Sender, "")
		}},
		{"Tx.CancelQueued", func(t *testing.T, db *store.DB) {
			r := addRun(t, db, smsflow.Run{ContactID: "ana"})
			o := addRun(t, db, smsflow.Run{ContactID: "ana"})
			a := addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: "a", ContactID: "ana"})
			s := addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: "s", ContactID: "ana", Status: "sent"})
			x := addMessage(t, db, smsflow.Message{RunID: o.ID, StepID: "a", ContactID: "ana"})
			var n int64
			write(t, db, func(tx *store.Tx) (err error) { n, err = tx.CancelQueued(r.ID, t0.Add(time.Minute)); return })
			equal(t, "canceled", n, int64(1))
			equal(t, "the run's queued message", messageByID(t, db, a.ID).Status, "canceled")
			equal(t, "canceled at", messageByID(t, db, a.ID).UpdatedAt, t0.Add(time.Minute))
			equal(t, "its sent one", messageByID(t, db, s.ID).Status, "sent")
			equal(t, "another run's", messageByID(t, db, x.ID).Status, "queued")
		}},
		{"DB.MarkCalling", func(t *testing.T, db *store.DB) {
			a := addMessage(t, db, smsflow.Message{StepID: "keyword:a", ContactID: "ana"})
			b := addMessage(t, db, smsflow.Message{StepID: "keyword:b", ContactID: "ana"})
			q := addMessage(t, db, smsflow.Message{StepID: "keyword:q", ContactID: "ana"})
			claim(t, db, t0, 2, store.OutboxScope{Node: "n1", Claim: 7})
			equal(t, "nothing to mark", len(must(db.MarkCalling(bg, nil, 7, t0))(t)), 0)
			equal(t, "another claim's rows", len(must(db.MarkCalling(bg, []int64{a.ID, b.ID}, 8, t0))(t)), 0)
			equal(t, "a queued row", len(must(db.MarkCalling(bg, []int64{q.ID}, 7, t0))(t)), 0)
			equal(t, "the claim's row", must(db.MarkCalling(bg, []int64{a.ID, q.ID}, 7, t0))(t), []int64{a.ID})
			// Taken back (the node was thought dead): no longer markable.
			equal(t, "taken back", must(db.RecoverClaims(bg, "n1", time.Time{}, t0))(t), store.Recovered{Requeued: 1, Unknown: 1})
			equal(t, "b after its claim was taken back", len(must(db.MarkCalling(bg, []int64{b.ID}, 7, t0))(t)), 0)
		}},
		{"Tx.MarkCalling", func(t *testing.T, db *store.DB) {
			a := addMessage(t, db, smsflow.Message{StepID: "keyword:a", ContactID: "ana"})
			b := addMessage(t, db, smsflow.Message{StepID: "keyword:b", ContactID: "ana"})
			q := addMessage(t, db, smsflow.Message{StepID: "keyword:q", ContactID: "ana"})
			var got []int64
			// Marked in the claim's own transaction, as a round's first group is.
			write(t, db, func(tx *store.Tx) error {
				if _, err := tx.ClaimOutbox(t0, 2, store.OutboxScope{Node: "n1", Claim: 7}); err != nil {
					return err
				}
				equal(t, "another claim's rows", len(must(tx.MarkCalling([]int64{a.ID}, 8, t0))(t)), 0)
				var err error
				got, err = tx.MarkCalling([]int64{a.ID, q.ID}, 7, t0)
				return err
			})
			equal(t, "the claim's row, not the queued one", got, []int64{a.ID})
			// A rolled-back mark counts for nothing: b goes back to the queue.
			_ = db.WriteTx(bg, func(tx *store.Tx) error {
				must(tx.MarkCalling([]int64{b.ID}, 7, t0))(t)
				return errors.New("rolled back")
			})
			equal(t, "recovered", must(db.RecoverClaims(bg, "n1", time.Time{}, t0))(t), store.Recovered{Requeued: 1, Unknown: 1})
			equal(t, "a, marked with the claim", messageByID(t, db, a.ID).Status, "unknown")
			equal(t, "b, its mark rolled back", messageByID(t, db, b.ID).Status, "queued")
		}},
		{"DB.RecoverClaims", func(t *testing.T, db *store.DB) {
			var ms []*smsflow.Message
			for _, s := range []string{"a", "b", "c", "d", "e"} {
				ms = append(ms, addMessage(t, db, smsflow.Message{StepID: "keyword:" + s, ContactID: "ana", ErrorCode: "old"}))
			}
			claim(t, db, t0, 2, store.OutboxScope{Node: "n1", Claim: 1}) // a, b
			claim(t, db, t0, 2, store.OutboxScope{Node: "n2", Claim: 2}) // c, d
			must(db.MarkCalling(bg, []int64{ms[1].ID}, 1, t0))(t)
			must(db.MarkCalling(bg, []int64{ms[3].ID}, 2, t0))(t)
			status := func(m *smsflow.Message) string {
				got := messageByID(t, db, m.ID)
				return got.Status + "/" + got.ErrorCode
			}
			equal(t, "n1 restarts", must(db.RecoverClaims(bg, "n1", time.Time{}, t0.Add(time.Minute)))(t), store.Recovered{Requeued: 1, Unknown: 1})
			equal(t, "never called: queued again", status(ms[0]), "queued/old")
			equal(t, "queued again at", messageByID(t, db, ms[0].ID).UpdatedAt, t0.Add(time.Minute))
			equal(t, "called: unknown", status(ms[1]), "unknown/interrupted")
			equal(t, "n2's untouched", status(ms[2])+" "+status(ms[3]), "sending/old sending/old")
			equal(t, "queued untouched", status(ms[4]), "queued/old")
			equal(t, "requeued claimable", messageIDs(claim(t, db, t0.Add(time.Minute), 1, store.OutboxScope{Node: "n1", Claim: 3})), []int64{ms[0].ID})
			// n2 is alive while its heartbeat is younger than the lease.
			must(db.HeartbeatNode(bg, "n2", t0))(t)
			if err := db.RecordNodeFlows(bg, "n2", "", nil, t0, t0.Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
			equal(t, "n2 alive", must(db.RecoverClaims(bg, "n1", t0.Add(-time.Minute), t0))(t), store.Recovered{})
			equal(t, "n2 stale", must(db.RecoverClaims(bg, "n1", t0.Add(time.Minute), t0))(t), store.Recovered{Requeued: 1, Unknown: 1})
			equal(t, "n2's never called", status(ms[2]), "queued/old")
			equal(t, "n2's called", status(ms[3]), "unknown/interrupted")
			equal(t, "own claims are not stale", status(ms[0]), "sending/old")
		}},
		{"DB.InterruptedMessages", func(t *testing.T, db *store.DB) {
			a := addMessage(t, db, smsflow.Message{StepID: "keyword:a", ContactID: "ana"})
			b := addMessage(t, db, smsflow.Message{StepID: "keyword:b", ContactID: "ana"})
			addMessage(t, db, smsflow.Message{StepID: "keyword:c", ContactID: "ana"}) // queued
			claim(t, db, t0, 2, store.OutboxScope{Node: "n1", Claim: 1})
			must(db.MarkCalling(bg, []int64{a.ID, b.ID}, 1, t0.Add(time.Second)))(t)
			must(db.RecoverClaims(bg, "n1", time.Time{}, t0.Add(time.Minute)))(t)
			write(t, db, func(tx *store.Tx) error {
				return tx.SetMessageStatus(b.ID, "unknown", "", "", store.Unreconciled, t0)
			})
			got := must(db.InterruptedMessages(bg, "twilio", 10))(t)
			if len(got) != 1 || got[0].ID != a.ID || !got[0].CalledAt.Equal(t0.Add(time.Second)) {
				t.Errorf("interrupted = %+v, want only %d, called at t0+1s", got, a.ID)
			}
			equal(t, "another provider's", len(must(db.InterruptedMessages(bg, "smpp", 10))(t)), 1) // no provider recorded yet
		}},
		{"Tx.SettleUnknown", func(t *testing.T, db *store.DB) {
			a := addMessage(t, db, smsflow.Message{StepID: "keyword:a", ContactID: "ana", Status: "unknown"})
			q := addMessage(t, db, smsflow.Message{StepID: "keyword:q", ContactID: "ana"})
			write(t, db, func(tx *store.Tx) error {
				equal(t, "unknown settled", must(tx.SettleUnknown(a.ID, "twilio", "SM1", "sent", t0))(t), true)
				equal(t, "queued untouched", must(tx.SettleUnknown(q.ID, "twilio", "SM2", "sent", t0))(t), false)
				equal(t, "settled once", must(tx.SettleUnknown(a.ID, "twilio", "SM3", "sent", t0))(t), false)
				return nil
			})
			got := messageByID(t, db, a.ID)
			equal(t, "settled", got.Status+"/"+got.Provider+"/"+got.ProviderID, "sent/twilio/SM1")
		}},
		{"Tx.RequeueUnknown", func(t *testing.T, db *store.DB) {
			a := addMessage(t, db, smsflow.Message{StepID: "keyword:a", ContactID: "ana", Status: "unknown"})
			s := addMessage(t, db, smsflow.Message{StepID: "keyword:s", ContactID: "ana", Status: "sent"})
			write(t, db, func(tx *store.Tx) error {
				equal(t, "unknown requeued", must(tx.RequeueUnknown(a.ID, "resent:operator", t0))(t), true)
				equal(t, "sent untouched", must(tx.RequeueUnknown(s.ID, "resent:operator", t0))(t), false)
				return nil
			})
			got := messageByID(t, db, a.ID)
			equal(t, "requeued", got.Status+"/"+got.ErrorCode, "queued/resent:operator")
			equal(t, "due at once", messageIDs(claim(t, db, t0, 10, store.OutboxScope{})), []int64{a.ID})
		}},
		{"Tx.GiveUpUnknown", func(t *testing.T, db *store.DB) {
			a := addMessage(t, db, smsflow.Message{StepID: "keyword:a", ContactID: "ana", Status: "unknown"})
			q := addMessage(t, db, smsflow.Message{StepID: "keyword:q", ContactID: "ana"})
			write(t, db, func(tx *store.Tx) error {
				equal(t, "unknown given up", must(tx.GiveUpUnknown(a.ID, "given_up", t0))(t), true)
				equal(t, "queued untouched", must(tx.GiveUpUnknown(q.ID, "given_up", t0))(t), false)
				return nil
			})
			got := messageByID(t, db, a.ID)
			equal(t, "given up", got.Status+"/"+got.ErrorCode, "canceled/given_up")
		}},
		{"Tx.CountAttempt", func(t *testing.T, db *store.DB) {
			m := addMessage(t, db, smsflow.Message{StepID: "keyword:a", ContactID: "ana"})
			write(t, db, func(tx *store.Tx) error {
				equal(t, "first", must(tx.CountAttempt(m.ID))(t), 1)
				equal(t, "second", must(tx.CountAttempt(m.ID))(t), 2)
				if _, err := tx.CountAttempt(m.ID + 1000); err == nil {
					t.Error("a missing message: no error")
				}
				return nil
			})
		}},
		{"Tx.RequeueMessage", func(t *testing.T, db *store.DB) {
			m := addMessage(t, db, smsflow.Message{StepID: "keyword:a", ContactID: "ana", ErrorCode: "old"})
			claim(t, db, t0, 10, store.OutboxScope{})
			write(t, db, func(tx *store.Tx) error { return tx.RequeueMessage(m.ID, t0.Add(time.Minute), "", t0) })
			got := messageByID(t, db, m.ID)
			equal(t, "queued again", got.Status+"/"+got.ErrorCode, "queued/old")
			equal(t, "not due before next", len(claim(t, db, t0.Add(time.Second), 10, store.OutboxScope{})), 0)
			equal(t, "due at next", len(claim(t, db, t0.Add(time.Minute), 10, store.OutboxScope{})), 1)
			write(t, db, func(tx *store.Tx) error { return tx.RequeueMessage(m.ID, t0, "throttled", t0) })
			equal(t, "error code", messageByID(t, db, m.ID).ErrorCode, "throttled")
			// Only a claimed (sending) message goes back.
			write(t, db, func(tx *store.Tx) error { return tx.SetMessageStatus(m.ID, "sent", "", "", "", t0) })
			write(t, db, func(tx *store.Tx) error { return tx.RequeueMessage(m.ID, t0, "", t0) })
			equal(t, "a sent message stays sent", messageByID(t, db, m.ID).Status, "sent")
		}},
		{"Tx.CancelContactQueued", func(t *testing.T, db *store.DB) {
			r := addRun(t, db, smsflow.Run{ContactID: "ana", Status: smsflow.RunCompleted})
			a := addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: "a", ContactID: "ana"})
			addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: "s", ContactID: "ana", Status: "sent"})
			reply := addMessage(t, db, smsflow.Message{StepID: "keyword:stop", ContactID: "ana"})
			rb := addRun(t, db, smsflow.Run{ContactID: "bob"})
			b := addMessage(t, db, smsflow.Message{RunID: rb.ID, StepID: "a", ContactID: "bob"})
			var got []store.CanceledMessage
			write(t, db, func(tx *store.Tx) (err error) {
				got, err = tx.CancelContactQueued("ana", "opt_out", t0.Add(time.Minute))
				return
			})
			equal(t, "canceled", got, []store.CanceledMessage{{ID: a.ID, RunID: r.ID, StepID: "a", FlowID: "welcome"}})
			ga := messageByID(t, db, a.ID)
			equal(t, "stored", ga.Status+"/"+ga.ErrorCode, "canceled/opt_out")
			equal(t, "the automatic reply still goes", messageByID(t, db, reply.ID).Status, "queued")
			equal(t, "another contact's", messageByID(t, db, b.ID).Status, "queued")
		}},
	}
}

// claimedRows checks claimed rows (D91): stored queued with their round's
// token, every reader sees them "sending", and what acts on queued messages
// (cancels, repointing) leaves them to their round.
func claimedRows(t *testing.T, db *store.DB) {
	r := addRun(t, db, smsflow.Run{ContactID: "bo"})
	a := addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: "a", ContactID: "bo", Sender: "+15550000001"})
	b := addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: "b", ContactID: "bo", Sender: "+15550000001"})
	equal(t, "claimed", messageIDs(claim(t, db, t0, 1, store.OutboxScope{Sender: "+15550000001", Node: "n1", Claim: 7})), []int64{a.ID})
	sending := must(db.Messages(bg, store.MessageFilter{ContactID: "bo", Status: "sending"}))(t)
	equal(t, "listed sending", messageIDs(sending), []int64{a.ID})
	equal(t, "listed queued", messageIDs(must(db.Messages(bg, store.MessageFilter{ContactID: "bo", Status: "queued"}))(t)), []int64{b.ID})
	write(t, db, func(tx *store.Tx) error {
		equal(t, "step status", must(tx.StepMessageStatus(r.ID, "a"))(t), "sending")
		return nil
	})
	equal(t, "repointed: the queued one only", must(db.RepointQueued(bg, nil))(t), int64(1))
	equal(t, "the claimed one keeps its sender", messageByID(t, db, a.ID).Sender, "+15550000001")
	var canceled []store.CanceledMessage
	write(t, db, func(tx *store.Tx) (err error) { canceled, err = tx.CancelContactQueued("bo", "opt_out", t0); return })
	equal(t, "a contact's cancel: the queued one only", len(canceled), 1)
	write(t, db, func(tx *store.Tx) error {
		n, err := tx.CancelQueued(r.ID, t0)
		equal(t, "a run's cancel: none left queued", n, int64(0))
		return err
	})
	equal(t, "still sending", messageByID(t, db, a.ID).Status, "sending")
	equal(t, "marked by its token only", must(db.MarkCalling(bg, []int64{a.ID}, 8, t0))(t), []int64(nil))
	equal(t, "marked", must(db.MarkCalling(bg, []int64{a.ID}, 7, t0))(t), []int64{a.ID})
	write(t, db, func(tx *store.Tx) error { return tx.RequeueMessage(a.ID, t0, "", t0) })
	equal(t, "requeued", messageByID(t, db, a.ID).Status, "queued")
	equal(t, "claimable again", messageIDs(claim(t, db, t0, 10, store.OutboxScope{Sender: "+15550000001", Node: "n2", Claim: 9})), []int64{a.ID})
	equal(t, "no call mark left from the last round", must(db.RecoverClaims(bg, "n0", t0, t0))(t), store.Recovered{Requeued: 1})
}

// claimCalling: a claim with Calling marks its first rows called in the
// claim itself, those and no other (a sender and a node of its own, so the
// rows of the case around it do not count).
func claimCalling(t *testing.T, db *store.DB) {
	const from = "+15550002222"
	var ms []*smsflow.Message
	for _, s := range []string{"a", "b", "c", "d"} {
		ms = append(ms, addMessage(t, db, smsflow.Message{StepID: "keyword:" + s, ContactID: "ana", Sender: from}))
	}
	got := claim(t, db, t0, 3, store.OutboxScope{Sender: from, Node: "n9", Claim: 7, Calling: 2})
	equal(t, "claimed", messageIDs(got), []int64{ms[0].ID, ms[1].ID, ms[2].ID})
	equal(t, "read as sending", got[0].Status, "sending")
	equal(t, "the first two marked called, at the claim", count(t, db, `SELECT COUNT(*) FROM messages WHERE sender = ? AND called_at = ?`, from, t0.UnixMicro()), int64(2))
	equal(t, "marked: the oldest", count(t, db, `SELECT COUNT(*) FROM messages WHERE id IN (?, ?) AND called_at <> 0`, ms[0].ID, ms[1].ID), int64(2))
	// More to mark than claimed: every claimed row, no other.
	equal(t, "the rest", messageIDs(claim(t, db, t0, 5, store.OutboxScope{Sender: from, Node: "n9", Claim: 8, Calling: 16})), []int64{ms[3].ID})
	equal(t, "all but one marked", count(t, db, `SELECT COUNT(*) FROM messages WHERE sender = ? AND called_at <> 0`, from), int64(3))
	equal(t, "the third claimed, not marked", count(t, db, `SELECT COUNT(*) FROM messages WHERE id = ? AND claim = 7 AND called_at = 0`, ms[2].ID), int64(1))
}

// claimAfter: a claim with After takes only ids above it, in id order,
// whatever lies below (and a due one below is still there for a claim
// from the front).
func claimAfter(t *testing.T, db *store.DB, runID int64) {
	ms := make([]*smsflow.Message, 4)
	for i, s := range []string{"after-a", "after-b", "after-c", "after-d"} {
		ms[i] = addMessage(t, db, smsflow.Message{RunID: runID, StepID: s, ContactID: "ana"})
	}
	equal(t, "above the cursor, oldest first", messageIDs(claim(t, db, t0, 1, store.OutboxScope{After: ms[1].ID, Calling: 1})), []int64{ms[2].ID})
	equal(t, "the rest above it", messageIDs(claim(t, db, t0, 10, store.OutboxScope{After: ms[1].ID})), []int64{ms[3].ID})
	equal(t, "nothing above the last", len(claim(t, db, t0, 10, store.OutboxScope{After: ms[3].ID})), 0)
	equal(t, "below it, from the front", messageIDs(claim(t, db, t0, 10, store.OutboxScope{})), []int64{ms[0].ID, ms[1].ID})
}
