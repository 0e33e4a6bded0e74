package ingest

import (
	"context"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// Events of a group (read ahead on PostgreSQL, inserted at once on SQLite)
// are new or duplicates exactly as a plain insert says: by message id and
// by dedupe key, against stored events and the group's own; their seqs
// follow the call order, also around an event whose keys were not read
// ahead; all are stored when the batch is written, with their inbox items
// in order.
func TestEventBatchInsertsAsThePlainInsert(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
		ev := func(id, dedupe string) *smsflow.Event {
			return &smsflow.Event{MessageID: id, DedupeKey: dedupe, Type: smsflow.EventTrack, Name: "Order Completed", ContactID: "ana", Timestamp: now, ReceivedAt: now}
		}
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			for _, e := range []*smsflow.Event{ev("old-1", ""), ev("old-2", "order:7")} {
				if _, err := tx.InsertEvent(e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		type step struct {
			e     *smsflow.Event
			fresh bool
		}
		steps := []step{
			{ev("old-1", ""), false},          // stored message id
			{ev("fresh-1", "order:7"), false}, // stored dedupe key
			{ev("fresh-2", "order:8"), true},
			{ev("fresh-2", ""), false},        // the group's own message id
			{ev("fresh-3", "order:8"), false}, // the group's own dedupe key
			{ev("fresh-4", ""), true},
			{ev("unasked", ""), true}, // not read ahead: inserted at once
			{ev("fresh-5", ""), true},
		}
		var inserted []*smsflow.Event
		err = db.WriteTx(ctx, func(tx *store.Tx) error {
			var ahead []*smsflow.Event
			for _, s := range steps {
				if s.e.MessageID != "unasked" {
					ahead = append(ahead, s.e)
				}
			}
			b, err := loadEventBatch(tx, []string{"ana"}, ahead, db.Dialect().RoundTrips())
			if err != nil {
				return err
			}
			for i, s := range steps {
				fresh, err := b.insertEvent(tx, s.e)
				if err != nil {
					return err
				}
				if fresh != s.fresh {
					t.Errorf("step %d (%s): inserted %v, want %v", i, s.e.MessageID, fresh, s.fresh)
				}
				if fresh {
					inserted = append(inserted, s.e)
					if err := b.addInbox(tx, "ana", s.e); err != nil {
						return err
					}
				}
			}
			return b.write(tx)
		})
		if err != nil {
			t.Fatal(err)
		}
		// Pending events are numbered when written.
		var seqs []int64
		for _, e := range inserted {
			seqs = append(seqs, e.Seq)
		}
		for i := 1; i < len(seqs); i++ {
			if seqs[i] <= seqs[i-1] {
				t.Errorf("seqs %v do not follow the call order", seqs)
			}
		}
		stored, err := db.EventsByContact(ctx, "ana", 100)
		if err != nil {
			t.Fatal(err)
		}
		bySeq := map[int64]string{}
		for _, e := range stored {
			bySeq[e.Seq] = e.MessageID
		}
		if len(stored) != 2+len(seqs) {
			t.Fatalf("%d events stored, want %d", len(stored), 2+len(seqs))
		}
		for i, want := range []string{"fresh-2", "fresh-4", "unasked", "fresh-5"} {
			if bySeq[seqs[i]] != want {
				t.Errorf("seq %d holds %q, want %q", seqs[i], bySeq[seqs[i]], want)
			}
		}
		err = db.WriteTx(ctx, func(tx *store.Tx) error {
			items, err := tx.ClaimInbox(10)
			if err != nil {
				return err
			}
			var got []int64
			for _, it := range items {
				got = append(got, it.EventSeq)
			}
			if len(got) != len(seqs) {
				t.Fatalf("inbox holds %v, want %v", got, seqs)
			}
			for i := range got {
				if got[i] != seqs[i] {
					t.Errorf("inbox holds %v, want %v in order", got, seqs)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
