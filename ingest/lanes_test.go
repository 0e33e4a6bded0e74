package ingest_test

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// Several writers in parallel (lanes, D89) keep what one writer promised:
// each producer's events of a contact are stored in the order it sent
// them, within a batch and across the batches it sent one after another;
// a messageId or an order id sent by several producers at once is stored
// once and reported new to exactly one of them, also when the producers
// name different contacts (two lanes collide on the unique index); and
// items that reach other contacts (identify with an anonymousId: a merge)
// are written alone between the lanes' groups.
func TestLanesKeepContactOrderAndExactDedupe(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := ingest.NewWriter(db, testkit.NewClock(now), slog.New(slog.NewTextHandler(io.Discard, nil)))
		w.Lanes = 4
		w.Start()
		defer w.Stop()

		const producers, batches, contacts = 6, 12, 10
		type sent struct {
			id, user string
			res      ingest.Result
		}
		got := make([][]sent, producers)
		var wg sync.WaitGroup
		for p := range producers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := range batches {
					var items []*ingest.Item
					for i := range 8 {
						user := fmt.Sprintf("user-%d", (p+i+b)%contacts)
						it := testkit.Track(user, "", "Product Viewed", nil)
						it.MessageID = fmt.Sprintf("p%d-b%d-i%d", p, b, i)
						items = append(items, it)
					}
					// The same messageId from every producer, each for
					// its own contact (so in different lanes).
					shared := testkit.Track(fmt.Sprintf("user-%d", p%contacts), "", "Product Viewed", nil)
					shared.MessageID = fmt.Sprintf("shared-%d", b)
					// The same order from every producer, with its own
					// messageId: deduplicated by its order id.
					order := testkit.Track(fmt.Sprintf("user-%d", (p+3)%contacts), "", "Order Completed", map[string]any{"order_id": fmt.Sprintf("o-%d", b)})
					order.MessageID = fmt.Sprintf("p%d-order-%d", p, b)
					items = append(items, shared, order)
					if b%4 == 3 {
						// A merge: the whole call is written alone.
						merge := testkit.Identify(fmt.Sprintf("user-%d", (p+b)%contacts), fmt.Sprintf("anon-%d-%d", p, b), nil, map[string]any{"plan": "pro"})
						merge.MessageID = fmt.Sprintf("p%d-b%d-merge", p, b)
						items = append(items, merge)
					}
					res, err := w.Submit(ctx, items)
					if err != nil {
						t.Error(err)
						return
					}
					for i, it := range items {
						if res[i].Err != nil {
							t.Errorf("%s: %v", it.MessageID, res[i].Err)
						}
						got[p] = append(got[p], sent{it.MessageID, it.UserID, res[i]})
					}
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}

		// Exactly one producer was told each shared event was new.
		news := map[string]int{}
		for _, s := range got {
			for _, e := range s {
				if !e.res.Duplicate {
					news[e.id]++
				}
			}
		}
		for b := range batches {
			if n := news[fmt.Sprintf("shared-%d", b)]; n != 1 {
				t.Errorf("shared-%d reported new %d times, want once", b, n)
			}
			orders := 0
			for p := range producers {
				orders += news[fmt.Sprintf("p%d-order-%d", p, b)]
			}
			if orders != 1 {
				t.Errorf("order o-%d reported new %d times, want once", b, orders)
			}
		}

		// What is stored: each new event once, none of the duplicates, and
		// each producer's events of a contact in the order it sent them.
		stored := map[string]int64{} // messageId → seq
		for c := range contacts {
			evs, err := db.EventsByContact(ctx, fmt.Sprintf("user-%d", c), 10000)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				if _, twice := stored[e.MessageID]; twice {
					t.Errorf("%s stored twice", e.MessageID)
				}
				stored[e.MessageID] = e.Seq
			}
		}
		if want := len(news); len(stored) != want {
			t.Errorf("%d events stored, want %d (one per event reported new)", len(stored), want)
		}
		for p, s := range got {
			last := map[string]int64{} // contact → seq of the producer's last event
			for _, e := range s {
				seq, ok := stored[e.id]
				if e.res.Duplicate {
					continue
				}
				if !ok {
					t.Errorf("producer %d: %s reported new but not stored", p, e.id)
					continue
				}
				if seq <= last[e.user] {
					t.Errorf("producer %d: %s of %s has seq %d, after an earlier event with seq %d", p, e.id, e.user, seq, last[e.user])
				}
				last[e.user] = seq
			}
		}
		// The calls written alone were applied: each anonymous id now
		// names its contact.
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			for p := range producers {
				for b := 3; b < batches; b += 4 {
					to, err := tx.AliasContact(fmt.Sprintf("anon-%d-%d", p, b))
					if err != nil {
						return err
					}
					if want := fmt.Sprintf("user-%d", (p+b)%contacts); to != want {
						t.Errorf("anon-%d-%d names %q, want %q", p, b, to, want)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// The engine is woken (OnCommit) by a commit that queued it work, not by
// one of events no flow reacts to (stored as history), nor by duplicates.
func TestOnCommitWakesOnlyForEngineWork(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		db.SetRelevant(func(name string) bool { return name == "Order Completed" })
		w := ingest.NewWriter(db, testkit.NewClock(now), slog.New(slog.NewTextHandler(io.Discard, nil)))
		var woken atomic.Int64
		w.OnCommit = func([]ingest.Result) { woken.Add(1) }
		w.Start()
		defer w.Stop()
		order := testkit.Track("ana", "", "Order Completed", map[string]any{"order_id": "1"})
		for _, step := range []struct {
			items []*ingest.Item
			want  int64
		}{
			{[]*ingest.Item{testkit.Track("ana", "", "Page Viewed", nil), testkit.Identify("ana", "", nil, map[string]any{"plan": "pro"})}, 0},
			{[]*ingest.Item{order}, 1},
			{[]*ingest.Item{order}, 1}, // a duplicate queues nothing
			{[]*ingest.Item{testkit.Track("bob", "", "Page Viewed", nil), testkit.Track("bob", "", "Order Completed", map[string]any{"order_id": "2"})}, 2},
		} {
			testkit.Submit(t, w, step.items...)
			if got := woken.Load(); got != step.want {
				t.Fatalf("after %s: woken %d times, want %d", step.items[0].Name, got, step.want)
			}
		}
	})
}
