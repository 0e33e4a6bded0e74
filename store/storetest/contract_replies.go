package storetest

import (
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

func replyCases() []contractCase {
	return []contractCase{
		{"DB.Replies", func(t *testing.T, db *store.DB) {
			a := addMessage(t, db, smsflow.Message{ContactID: "ana", Direction: "in", Status: "received", CreatedAt: t0.Add(time.Minute)})
			b := addMessage(t, db, smsflow.Message{ContactID: "bob", Direction: "in", Status: "received", CreatedAt: t0})
			addMessage(t, db, smsflow.Message{ContactID: "bob", Status: "delivered", CreatedAt: t0.Add(time.Hour)})
			equal(t, "inbound only, by time", messageIDs(must(db.Replies(bg, 10))(t)), []int64{a.ID, b.ID})
			equal(t, "a limit out of range reads the default", messageIDs(must(db.Replies(bg, 0))(t)), []int64{a.ID, b.ID})
		}},
		{"Tx.ConsumeReplies", func(t *testing.T, db *store.DB) {
			// The inbox's texts: inbound, not consumed, newest first (by
			// time, then id); a text keeps its first mark; an outbound
			// message is never marked.
			a := addMessage(t, db, smsflow.Message{ContactID: "ana", Direction: "in", Status: "received", CreatedAt: t0})
			b := addMessage(t, db, smsflow.Message{ContactID: "bob", Direction: "in", Status: "received", CreatedAt: t0.Add(time.Minute)})
			c := addMessage(t, db, smsflow.Message{ContactID: "cy", Direction: "in", Status: "received", CreatedAt: t0.Add(time.Minute)})
			d := addMessage(t, db, smsflow.Message{ContactID: "cy", Direction: "in", Status: "received", CreatedAt: t0.Add(2 * time.Minute)})
			out := addMessage(t, db, smsflow.Message{ContactID: "cy", Status: "delivered", CreatedAt: t0.Add(3 * time.Minute)})
			replies := func(limit int) []int64 { return messageIDs(must(db.Replies(bg, limit))(t)) }
			equal(t, "all, newest first", replies(10), []int64{d.ID, c.ID, b.ID, a.ID})
			equal(t, "limited", replies(2), []int64{d.ID, c.ID})
			write(t, db, func(tx *store.Tx) error {
				return tx.ConsumeReplies([]store.ConsumedReply{{MessageID: b.ID, By: "keyword:stop"}, {MessageID: d.ID, By: "flow:ask/answer"},
					{MessageID: out.ID, By: "flow:ask/answer"}})
			})
			equal(t, "consumed left out", replies(10), []int64{c.ID, a.ID})
			write(t, db, func(tx *store.Tx) error {
				return tx.ConsumeReplies([]store.ConsumedReply{{MessageID: b.ID, By: "flow:other"}, {MessageID: c.ID, By: "flow:ask"}})
			})
			equal(t, "a second mark", replies(10), []int64{a.ID})
			equal(t, "the first mark stays", messageByID(t, db, b.ID).ConsumedBy, "keyword:stop")
			equal(t, "a run's wait", messageByID(t, db, d.ID).ConsumedBy, "flow:ask/answer")
			equal(t, "not consumed", messageByID(t, db, a.ID).ConsumedBy, "")
			equal(t, "outbound unmarked", messageByID(t, db, out.ID).ConsumedBy, "")
		}},
	}
}

func webLogoutCases() []contractCase {
	return []contractCase{
		{"DB.SessionLoggedOut", func(t *testing.T, db *store.DB) {
			equal(t, "nobody logged out", must(db.SessionLoggedOut(bg, "cc"))(t), false)
		}},
		{"DB.LogOut", func(t *testing.T, db *store.DB) {
			equal(t, "a live session", must(db.SessionLoggedOut(bg, "aa"))(t), false)
			if err := db.LogOut(bg, "aa", t0.Add(time.Hour), t0); err != nil {
				t.Fatal(err)
			}
			if err := db.LogOut(bg, "aa", t0.Add(time.Hour), t0); err != nil {
				t.Fatalf("logging out twice: %v", err)
			}
			equal(t, "logged out", must(db.SessionLoggedOut(bg, "aa"))(t), true)
			equal(t, "another session", must(db.SessionLoggedOut(bg, "bb"))(t), false)
			// A later logout forgets the rows whose cookies cannot be live
			// by any node's clock: an hour past their expiry.
			if err := db.LogOut(bg, "bb", t0.Add(3*time.Hour), t0.Add(90*time.Minute)); err != nil {
				t.Fatal(err)
			}
			equal(t, "half an hour past its expiry, kept", must(db.SessionLoggedOut(bg, "aa"))(t), true)
			if err := db.LogOut(bg, "cc", t0.Add(4*time.Hour), t0.Add(2*time.Hour+time.Second)); err != nil {
				t.Fatal(err)
			}
			equal(t, "over an hour past its expiry, forgotten", must(db.SessionLoggedOut(bg, "aa"))(t), false)
			equal(t, "the newer ones", must(db.SessionLoggedOut(bg, "bb"))(t) && must(db.SessionLoggedOut(bg, "cc"))(t), true)
		}},
	}
}
