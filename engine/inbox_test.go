package engine_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// browseFlow waits for a tracked event only it cares about.
const browseFlow = `id: browse
name: Browse nudge
category: service
trigger:
  event: Checkout Started
steps:
  - wait:
      event: Page Viewed
      timeout: 1h
  - id: nudge
    send: "Still browsing?"
`

// queueEvent stores a tracked event and puts it in the engine's inbox, as a
// receipt does (the ingest writer keeps irrelevant events out by itself).
func queueEvent(t *testing.T, w *world, contact, name string) {
	t.Helper()
	w.seq++
	err := w.db.WriteTx(ctx, func(tx *store.Tx) error {
		ev := &smsflow.Event{MessageID: fmt.Sprintf("q-%d", w.seq), Type: smsflow.EventTrack, Name: name, ContactID: contact,
			Timestamp: w.clock.Now(), ReceivedAt: w.clock.Now()}
		if _, err := tx.InsertEvent(ev); err != nil {
			return err
		}
		return tx.AddInbox(contact, ev.Seq)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestInboxSkipsEventsNoFlowReactsTo checks that the inbox is emptied of
// tracked events no flow reacts to, and that an event a flow does react to,
// in the same batch, still moves its run.
func TestInboxSkipsEventsNoFlowReactsTo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, browseFlow)
		w.identify("ana", "+1 415 555 0100")
		w.track("ana", "Checkout Started", nil)
		for i := 0; i < 3; i++ {
			queueEvent(t, w, "ana", "Message Delivered") // no flow reacts to it
		}
		queueEvent(t, w, "ana", "Page Viewed") // ends browse's wait
		queueEvent(t, w, "nobody", "Message Delivered")
		n, err := w.eng.ProcessInbox(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if n != 5 {
			t.Errorf("handled %d inbox items, want 5", n)
		}
		if depth, err := db.InboxDepth(ctx); err != nil || depth != 0 {
			t.Errorf("inbox depth %d (%v), want 0", depth, err)
		}
		w.settle()
		if got := w.cons.Sent(); got != 1 {
			t.Errorf("sent %d, want 1: Page Viewed must end the wait at once", got)
		}
		w.advance(2 * time.Hour)
		if got := w.cons.Sent(); got != 1 {
			t.Errorf("sent %d after the timeout, want still 1", got)
		}
	})
}

// TestReceiptsNoFlowReactsToStayOutOfTheInbox checks the rule serve wires
// (DB.SetRelevant): a delivery receipt is stored as an event but queued for
// the engine only while some flow reacts to Message Delivered.
func TestReceiptsNoFlowReactsToStayOutOfTheInbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, browseFlow)
		db.SetRelevant(func(name string) bool { return name == "Page Viewed" || name == "Checkout Started" })
		w.identify("ana", "+1 415 555 0100")
		w.track("ana", "Checkout Started", nil)
		queued := func() int64 {
			t.Helper()
			var n int64
			if err := db.QueryRowForTest(ctx, `SELECT COUNT(*) FROM inbox`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		deliver := func() {
			t.Helper()
			err := db.WriteTx(ctx, func(tx *store.Tx) error {
				w.seq++
				m := &smsflow.Message{ID: int64(1000 + w.seq), RunID: 1, StepID: "nudge", FlowID: "browse", ContactID: "ana",
					Status: smsflow.MessageDelivered, Provider: "console"}
				_, err := delivery.DeliveryEvent(tx, m, w.clock.Now(), w.clock.Now())
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		deliver()
		if n := queued(); n != 0 {
			t.Errorf("%d inbox items after a receipt no flow reacts to, want 0", n)
		}
		db.SetRelevant(func(name string) bool { return name == smsflow.EventMessageDelivered })
		deliver()
		if n := queued(); n != 1 {
			t.Errorf("%d inbox items after a receipt a flow reacts to, want 1", n)
		}
		var events int64
		if err := db.QueryRowForTest(ctx, `SELECT COUNT(*) FROM events WHERE name = 'Message Delivered'`).Scan(&events); err != nil {
			t.Fatal(err)
		}
		if events != 2 {
			t.Errorf("%d Message Delivered events stored, want 2 (history either way)", events)
		}
	})
}

// The engine's loop goes on at once after an inbox pass only when the pass
// took a full batch: one that took all there was sleeps until the next
// commit wakes it (Notify), instead of running an empty pass.
func TestAnInboxPassGoesOnOnlyAfterAFullBatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, browseFlow)
		for i := range 3 {
			queueEvent(t, w, fmt.Sprintf("c%d", i), "Message Delivered")
		}
		for _, step := range []struct {
			n    int
			more bool
		}{{2, true}, {1, false}, {0, false}} {
			n, more, held, err := w.eng.ProcessInboxMore(ctx, 2)
			if err != nil {
				t.Fatal(err)
			}
			if n != step.n || more != step.more || held {
				t.Errorf("pass: %d handled, more %v, held %v; want %d, more %v, not held", n, more, held, step.n, step.more)
			}
		}
	})
}

// A pass that can only hold events — another transaction holds an older
// event of their contact — neither goes on at once (it would spin for that
// whole transaction) nor sleeps out its poll (that commit wakes no loop):
// it is held, and the loop looks again after HeldRetry. PostgreSQL only:
// SQLite's writer lock keeps a second write transaction from starting.
func TestAPassThatOnlyHoldsEventsIsHeld(t *testing.T) {
	db := storetest.OpenPostgres(t)
	w := newWorld(t, db, browseFlow)
	w.identify("ana", "+1 415 555 0100")
	queueEvent(t, w, "ana", "Checkout Started")
	queueEvent(t, w, "ana", "Checkout Started")
	claimed, release, done := make(chan error, 1), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- db.WriteTx(ctx, func(tx *store.Tx) error {
			items, err := tx.ClaimInbox(1) // the older event, locked until this ends
			if err == nil && len(items) != 1 {
				err = fmt.Errorf("claimed %d inbox items, want 1", len(items))
			}
			claimed <- err
			<-release
			return errRollback
		})
	}()
	if err := <-claimed; err != nil {
		close(release)
		t.Fatal(err)
	}
	n, more, held, err := w.eng.ProcessInboxMore(ctx, 10)
	close(release)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 || more || !held {
		t.Errorf("pass behind another transaction's older event: %d handled, more %v, held %v; want 0, false, true", n, more, held)
	}
	if err := <-done; err != errRollback {
		t.Fatalf("holding transaction: %v", err)
	}
	n, more, held, err = w.eng.ProcessInboxMore(ctx, 10)
	if err != nil || n != 2 || more || held {
		t.Errorf("pass once the older event is free: %d handled, more %v, held %v (%v); want 2, false, false", n, more, held, err)
	}
}

var errRollback = errors.New("rolled back")
