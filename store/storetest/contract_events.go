package storetest

import (
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

func eventCases() []contractCase {
	return []contractCase{
		{"Tx.InsertEvent", func(t *testing.T, db *store.DB) {
			order := func(mid, id string) *smsflow.Event {
				e := newEvent(mid, "Order Completed")
				e.Properties = map[string]any{"order_id": id}
				e.DedupeKey = smsflow.OrderDedupeKey(e.Name, e.Properties)
				return e
			}
			var fresh []bool
			var seqs []int64
			events := []*smsflow.Event{order("m1", "o1"), order("m1", "o2"), order("m2", "o1"), order("m3", "o3")}
			// A public event takes neither a trusted event's messageId
			// nor its dedupe key: its keys are namespaced.
			pub := order("m1", "o1")
			pub.Trust = smsflow.TrustPublic
			events = append(events, pub)
			write(t, db, func(tx *store.Tx) error {
				for _, e := range events {
					ok, err := tx.InsertEvent(e)
					if err != nil {
						return err
					}
					fresh, seqs = append(fresh, ok), append(seqs, e.Seq)
				}
				// Read in the same transaction.
				got := must(tx.EventBySeq(seqs[3]))(t)
				equal(t, "m3 read back in the transaction", got.MessageID, "m3")
				return nil
			})
			equal(t, "new", fresh, []bool{true, false, false, true, true})
			if seqs[0] == 0 || seqs[3] <= seqs[0] || seqs[4] <= seqs[3] {
				t.Errorf("seqs %v: want new events numbered in call order", seqs)
			}
			equal(t, "stored", must(db.CountEvents(bg))(t), int64(3))
			// A duplicate in a later transaction.
			write(t, db, func(tx *store.Tx) error {
				equal(t, "m1 again", must(tx.InsertEvent(order("m1", "o9")))(t), false)
				return nil
			})
		}},
		{"Tx.TrustedEventWithKey", func(t *testing.T, db *store.DB) {
			e := newEvent("m1", "Order Completed")
			e.DedupeKey = "order:1"
			addEvent(t, db, e)
			p := newEvent("m2", "Order Completed")
			p.DedupeKey, p.Trust = "order:2", smsflow.TrustPublic
			addEvent(t, db, p)
			write(t, db, func(tx *store.Tx) error {
				equal(t, "a trusted event's key", must(tx.TrustedEventWithKey("order:1"))(t), true)
				equal(t, "a public event's key", must(tx.TrustedEventWithKey("order:2"))(t), false)
				equal(t, "an unknown key", must(tx.TrustedEventWithKey("order:3"))(t), false)
				return nil
			})
		}},
		{"Tx.InsertHistoryEvent", func(t *testing.T, db *store.DB) {
			addEvent(t, db, newEvent("m1", "Viewed"))
			write(t, db, func(tx *store.Tx) error {
				tx.InsertHistoryEvent(newEvent("m1", "Viewed")) // a duplicate: skipped
				tx.InsertHistoryEvent(newEvent("r1", "Message Delivered"))
				tx.InsertHistoryEvent(newEvent("r2", "Message Delivered"))
				return nil
			})
			got := must(db.EventsByContact(bg, "ana", 10))(t)
			var ids []string
			for _, e := range got {
				ids = append(ids, e.MessageID)
			}
			equal(t, "stored events", ids, []string{"m1", "r1", "r2"})
			_ = db.WriteTx(bg, func(tx *store.Tx) error {
				tx.InsertHistoryEvent(newEvent("r3", "Message Delivered"))
				return smsflow.Errorf(smsflow.EINTERNAL, "roll back")
			})
			equal(t, "after a rollback", must(db.CountEvents(bg))(t), int64(3))
		}},
		{"Tx.InsertHistoryEvents", func(t *testing.T, db *store.DB) {
			addEvent(t, db, newEvent("m1", "Viewed"))
			write(t, db, func(tx *store.Tx) error {
				equal(t, "none", tx.InsertHistoryEvents(nil), error(nil))
				// A duplicate of a stored event and one within the call are skipped.
				return tx.InsertHistoryEvents([]*smsflow.Event{newEvent("m1", "Viewed"), newEvent("r1", "Message Delivered"),
					newEvent("r2", "Message Delivered"), newEvent("r1", "Message Delivered")})
			})
			got := must(db.EventsByContact(bg, "ana", 10))(t)
			var ids []string
			for _, e := range got {
				ids = append(ids, e.MessageID)
			}
			equal(t, "stored events", ids, []string{"m1", "r1", "r2"})
			_ = db.WriteTx(bg, func(tx *store.Tx) error {
				if err := tx.InsertHistoryEvents([]*smsflow.Event{newEvent("r3", "Message Delivered")}); err != nil {
					t.Error(err)
				}
				return smsflow.Errorf(smsflow.EINTERNAL, "roll back")
			})
			equal(t, "after a rollback", must(db.CountEvents(bg))(t), int64(3))
		}},
		{"Tx.EventBySeq", func(t *testing.T, db *store.DB) {
			e := newEvent("m1", "Viewed")
			e.AnonymousID, e.Traits, e.Context = "anon", map[string]any{"plan": "pro"}, map[string]any{"ip": "203.0.113.9"}
			e.Timestamp, e.ReceivedAt = t0.Add(-time.Hour), t0
			e.Trust = smsflow.TrustPublic
			seq := addEvent(t, db, e)
			write(t, db, func(tx *store.Tx) error {
				got := must(tx.EventBySeq(seq))(t)
				want := *e
				want.DedupeKey = "" // not read back
				equal(t, "event", *got, want)
				if _, err := tx.EventBySeq(seq + 1000); err == nil {
					t.Error("a missing event: no error")
				}
				return nil
			})
		}},
		{"Tx.EventsBySeq", func(t *testing.T, db *store.DB) {
			a, b := newEvent("m1", "Viewed"), newEvent("m2", "Clicked")
			addEvent(t, db, a)
			addEvent(t, db, b)
			write(t, db, func(tx *store.Tx) error {
				got := must(tx.EventsBySeq([]int64{b.Seq, a.Seq, b.Seq + 1000}))(t)
				equal(t, "found", len(got), 2)
				equal(t, "b", got[b.Seq].MessageID, "m2")
				equal(t, "a", got[a.Seq].MessageID, "m1")
				equal(t, "none asked", must(tx.EventsBySeq(nil))(t), map[int64]*smsflow.Event{})
				return nil
			})
		}},
		{"Tx.CountEventsSince", func(t *testing.T, db *store.DB) {
			for i, at := range []time.Duration{-time.Hour, 0, time.Hour, 2 * time.Hour} {
				e := newEvent("m"+string(rune('a'+i)), "Viewed")
				e.Timestamp = t0.Add(at)
				addEvent(t, db, e)
			}
			other := newEvent("x", "Clicked")
			addEvent(t, db, other)
			bob := newEvent("y", "Viewed")
			bob.ContactID = "bob"
			addEvent(t, db, bob)
			write(t, db, func(tx *store.Tx) error {
				equal(t, "bounds included", must(tx.CountEventsSince("ana", "Viewed", t0, t0.Add(time.Hour)))(t), 2)
				equal(t, "another name", must(tx.CountEventsSince("ana", "Clicked", t0, t0))(t), 1)
				equal(t, "nobody's", must(tx.CountEventsSince("cy", "Viewed", t0, t0))(t), 0)
				return nil
			})
		}},
		{"Tx.LastEventTime", func(t *testing.T, db *store.DB) {
			for i, at := range []time.Duration{0, time.Hour, 2 * time.Hour} {
				e := newEvent("m"+string(rune('a'+i)), "Viewed")
				e.Timestamp = t0.Add(at)
				addEvent(t, db, e)
			}
			write(t, db, func(tx *store.Tx) error {
				at, ok, err := tx.LastEventTime("ana", "Viewed", t0.Add(90*time.Minute))
				equal(t, "last up to until", at, t0.Add(time.Hour))
				equal(t, "found", ok, true)
				if err != nil {
					return err
				}
				at, ok, err = tx.LastEventTime("ana", "Clicked", t0.Add(time.Hour))
				equal(t, "none: time", at, time.Time{})
				equal(t, "none: found", ok, false)
				return err
			})
		}},
		{"DB.EventsByContact", func(t *testing.T, db *store.DB) {
			for i, at := range []time.Duration{time.Hour, 0, 0} {
				e := newEvent("m"+string(rune('a'+i)), "Viewed")
				e.Timestamp = t0.Add(at)
				addEvent(t, db, e)
			}
			bob := newEvent("x", "Viewed")
			bob.ContactID = "bob"
			addEvent(t, db, bob)
			var ids []string
			for _, e := range must(db.EventsByContact(bg, "ana", 10))(t) {
				ids = append(ids, e.MessageID)
			}
			equal(t, "oldest first, then in storing order", ids, []string{"mb", "mc", "ma"})
			equal(t, "limited", len(must(db.EventsByContact(bg, "ana", 2))(t)), 2)
		}},
		{"DB.CountEvents", func(t *testing.T, db *store.DB) {
			equal(t, "empty", must(db.CountEvents(bg))(t), int64(0))
			addEvent(t, db, newEvent("m1", "Viewed"))
			equal(t, "one", must(db.CountEvents(bg))(t), int64(1))
		}},
		{"DB.BulkInsertEvents", func(t *testing.T, db *store.DB) {
			equal(t, "none", db.BulkInsertEvents(bg, nil), error(nil))
			a, b := newEvent("m1", "Viewed"), newEvent("m2", "Viewed")
			if err := db.BulkInsertEvents(bg, []smsflow.Event{*a, *b}); err != nil {
				t.Fatal(err)
			}
			if err := db.BulkInsertEvents(bg, []smsflow.Event{*b, *newEvent("m3", "Viewed")}); err != nil {
				t.Fatal(err)
			}
			equal(t, "stored, duplicates skipped", must(db.CountEvents(bg))(t), int64(3))
		}},
	}
}
