package storetest

import (
	"testing"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// addInbox queues events for the engine, in order: contact, event seq, …
func addInbox(t testing.TB, db *store.DB, items ...any) {
	t.Helper()
	write(t, db, func(tx *store.Tx) error {
		for i := 0; i < len(items); i += 2 {
			if err := tx.AddInbox(items[i].(string), int64(items[i+1].(int))); err != nil {
				return err
			}
		}
		return nil
	})
}

func claimInbox(t testing.TB, db *store.DB, limit int) []store.InboxItem {
	t.Helper()
	var got []store.InboxItem
	write(t, db, func(tx *store.Tx) (err error) { got, err = tx.ClaimInbox(limit); return })
	return got
}

func inboxCases() []contractCase {
	return []contractCase{
		{"Tx.Queues", func(t *testing.T, db *store.DB) {
			write(t, db, func(tx *store.Tx) error {
				equal(t, "without a rule", tx.Queues("Anything"), true)
				return nil
			})
			db.SetRelevant(func(name string) bool { return name == "Order Completed" })
			write(t, db, func(tx *store.Tx) error {
				equal(t, "a relevant event", tx.Queues("Order Completed"), true)
				equal(t, "another", tx.Queues("Message Delivered"), false)
				return nil
			})
		}},
		{"DB.SetRelevant", func(t *testing.T, db *store.DB) {
			db.SetRelevant(func(name string) bool { return false })
			write(t, db, func(tx *store.Tx) error {
				equal(t, "nothing relevant", tx.Queues("Order Completed"), false)
				return nil
			})
			db.SetRelevant(nil)
			write(t, db, func(tx *store.Tx) error {
				equal(t, "rule removed", tx.Queues("Order Completed"), true)
				return nil
			})
		}},
		{"DB.Relevance", func(t *testing.T, db *store.DB) {
			equal(t, "no rule installed", db.Relevance() == nil, true)
			db.SetRelevant(func(name string) bool { return name == "Order Completed" })
			rule := db.Relevance()
			equal(t, "the installed rule", rule != nil && rule("Order Completed") && !rule("Page Viewed"), true)
			db.SetRelevant(nil)
			equal(t, "rule removed", db.Relevance() == nil, true)
		}},
		{"Tx.AddInbox", func(t *testing.T, db *store.DB) {
			addInbox(t, db, "ana", 7, "bob", 8, "ana", 9)
			got := claimInbox(t, db, 10)
			equal(t, "items", len(got), 3)
			for i, want := range []struct {
				c string
				e int64
			}{{"ana", 7}, {"bob", 8}, {"ana", 9}} {
				if got[i].ContactID != want.c || got[i].EventSeq != want.e {
					t.Errorf("item %d: %+v, want %s/%d", i, got[i], want.c, want.e)
				}
			}
			_ = db.WriteTx(bg, func(tx *store.Tx) error {
				_ = tx.AddInbox("cy", 10)
				return smsflow.Errorf(smsflow.EINTERNAL, "roll back")
			})
			equal(t, "after a rollback", must(db.InboxDepth(bg))(t), int64(3))
		}},
		{"Tx.ClaimInbox", func(t *testing.T, db *store.DB) {
			addInbox(t, db, "ana", 1, "bob", 2, "cy", 3, "dee", 4)
			got := claimInbox(t, db, 2)
			equal(t, "claimed", len(got), 2)
			if got[0].Seq >= got[1].Seq || got[0].ContactID != "ana" {
				t.Errorf("claimed %+v: want arrival order", got)
			}
			equal(t, "claiming deletes nothing", must(db.InboxDepth(bg))(t), int64(4))
			if !concurrent(db) {
				return
			}
			write(t, db, func(tx *store.Tx) error {
				mine := must(tx.ClaimInbox(2))(t)
				return alongside(db, func(tx2 *store.Tx) error {
					theirs := must(tx2.ClaimInbox(10))(t)
					equal(t, "another transaction's claim skips the locked rows", len(theirs), 2)
					for _, it := range theirs {
						for _, m := range mine {
							if it.Seq == m.Seq {
								t.Errorf("item %d claimed twice", it.Seq)
							}
						}
					}
					return nil
				})
			})
		}},
		{"Tx.OlderInbox", func(t *testing.T, db *store.DB) {
			addInbox(t, db, "ana", 1, "bob", 2, "ana", 3)
			items := claimInbox(t, db, 10)
			write(t, db, func(tx *store.Tx) error {
				equal(t, "ana's first", must(tx.OlderInbox("ana", items[0].Seq))(t), false)
				equal(t, "ana's second", must(tx.OlderInbox("ana", items[2].Seq))(t), true)
				equal(t, "bob's", must(tx.OlderInbox("bob", items[1].Seq))(t), false)
				return nil
			})
		}},
		{"Tx.OldestInbox", func(t *testing.T, db *store.DB) {
			addInbox(t, db, "ana", 1, "bob", 2, "ana", 3)
			items := claimInbox(t, db, 10)
			write(t, db, func(tx *store.Tx) error {
				equal(t, "oldest", must(tx.OldestInbox([]string{"ana", "bob", "cy"}))(t), map[string]int64{"ana": items[0].Seq, "bob": items[1].Seq})
				equal(t, "none asked", must(tx.OldestInbox(nil))(t), map[string]int64{})
				return nil
			})
		}},
		{"Tx.DeleteInboxItems", func(t *testing.T, db *store.DB) {
			addInbox(t, db, "ana", 1, "bob", 2, "ana", 3)
			items := claimInbox(t, db, 10)
			write(t, db, func(tx *store.Tx) error {
				if err := tx.DeleteInboxItems(nil); err != nil {
					return err
				}
				return tx.DeleteInboxItems([]int64{items[0].Seq, items[2].Seq})
			})
			left := claimInbox(t, db, 10)
			equal(t, "left", len(left), 1)
			equal(t, "left", left[0].ContactID, "bob")
		}},
		{"DB.InboxDepth", func(t *testing.T, db *store.DB) {
			equal(t, "empty", must(db.InboxDepth(bg))(t), int64(0))
			addInbox(t, db, "ana", 1, "bob", 2)
			equal(t, "two", must(db.InboxDepth(bg))(t), int64(2))
		}},
	}
}
