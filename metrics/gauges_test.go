package metrics

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

var ctx = context.Background()

// history writes runs, messages, timers and inbox rows with the store's own
// functions.
type history struct {
	tx  *store.Tx
	now time.Time
	n   int
	err error
}

func (h *history) run(status string, wake time.Time) {
	if h.err != nil {
		return
	}
	h.n++
	r := &smsflow.Run{FlowID: "cart", FlowVersion: 1, ContactID: "c" + string(rune('a'+h.n)), Status: status, Step: "reminder",
		WakeAt: wake, EnteredAt: h.now.Add(-time.Hour), UpdatedAt: h.now.Add(-time.Hour)}
	h.err = h.tx.InsertRun(r)
}

func (h *history) message(direction, provider, status string, count int) {
	for range count {
		if h.err != nil {
			return
		}
		h.n++
		m := &smsflow.Message{Direction: direction, FlowID: "cart", StepID: "s" + string(rune('a'+h.n)), ContactID: "ana", Phone: "+14155550100",
			Body: "hi", Status: status, Provider: provider, CreatedAt: h.now, UpdatedAt: h.now}
		_, h.err = h.tx.InsertMessage(m)
	}
}

func TestGaugesFromTheDatabase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
		now := clock.Now()
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			h := &history{tx: tx, now: now}
			h.run(smsflow.RunActive, time.Time{})
			h.run(smsflow.RunWaiting, now.Add(-90*time.Second)) // the oldest due timer: 90 s behind
			h.run(smsflow.RunWaiting, now.Add(-30*time.Second))
			h.run(smsflow.RunWaiting, now.Add(time.Hour)) // not due
			h.run(smsflow.RunCompleted, time.Time{})
			h.run(smsflow.RunCompleted, time.Time{})
			h.run(smsflow.RunExited, time.Time{})
			h.message("out", "console", smsflow.MessageQueued, 2)
			h.message("out", "console", smsflow.MessageSending, 1)
			h.message("out", "console", smsflow.MessageDelivered, 3)
			h.message("out", "twilio", smsflow.MessageQueued, 1)
			h.message("out", "twilio", smsflow.MessageFailed, 1)
			h.message("in", "twilio", smsflow.MessageReceived, 1)
			if h.err != nil {
				return h.err
			}
			if err := tx.SetInactivityTimer("winback", "ana", now.Add(-45*time.Second), 1); err != nil {
				return err
			}
			for seq := range int64(2) {
				if err := tx.AddInbox("ana", seq+1); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		receipts := []store.QueuedReceipt{{Provider: "twilio", ProviderID: "SM1", Status: smsflow.MessageSent, At: now, ReceivedAt: now},
			{Provider: "twilio", ProviderID: "SM1", Status: smsflow.MessageDelivered, At: now, ReceivedAt: now}}
		if err := db.EnqueueReceipts(ctx, receipts); err != nil {
			t.Fatal(err)
		}

		m := New(db, clock, nil)
		fams := scrape(t, m.Handler())
		wantRuns := map[string]float64{"state=active": 1, "state=waiting": 3, "state=completed": 2, "state=exited": 1}
		if got := series(fams, Runs); !reflect.DeepEqual(got, wantRuns) {
			t.Errorf("%s = %v, want %v", Runs, got, wantRuns)
		}
		wantMessages := map[string]float64{
			"direction=out,provider=console,status=queued":    2,
			"direction=out,provider=console,status=sending":   1,
			"direction=out,provider=console,status=delivered": 3,
			"direction=out,provider=twilio,status=queued":     1,
			"direction=out,provider=twilio,status=failed":     1,
			"direction=in,provider=twilio,status=received":    1,
		}
		if got := series(fams, Messages); !reflect.DeepEqual(got, wantMessages) {
			t.Errorf("%s = %v, want %v", Messages, got, wantMessages)
		}
		if got := value(t, fams, OutboxMessages, ""); got != 3 {
			t.Errorf("%s = %v, want 3", OutboxMessages, got)
		}
		if got := value(t, fams, InboxEvents, ""); got != 2 {
			t.Errorf("%s = %v, want 2", InboxEvents, got)
		}
		if got := value(t, fams, ReceiptQueueDepth, ""); got != 2 {
			t.Errorf("%s = %v, want 2", ReceiptQueueDepth, got)
		}
		if got := value(t, fams, TimerLag, ""); got != 90 {
			t.Errorf("%s = %v, want 90", TimerLag, got)
		}
		if got := value(t, fams, GaugesQueryDuration, ""); got <= 0 {
			t.Errorf("%s = %v, want > 0", GaugesQueryDuration, got)
		}

		// More work arrives: the next scrape within SnapshotTTL is served
		// from the cached snapshot, the one after it reads anew.
		err = db.WriteTx(ctx, func(tx *store.Tx) error {
			h := &history{tx: tx, now: now, n: 100}
			h.run(smsflow.RunWaiting, now.Add(-120*time.Second))
			h.message("out", "console", smsflow.MessageQueued, 1)
			return h.err
		})
		if err != nil {
			t.Fatal(err)
		}
		clock.Add(SnapshotTTL - time.Millisecond)
		fams = scrape(t, m.Handler())
		if got, lag := value(t, fams, OutboxMessages, ""), value(t, fams, TimerLag, ""); got != 3 || lag != 90 {
			t.Errorf("within the TTL: outbox %v, lag %v; want the cached 3 and 90", got, lag)
		}
		clock.Add(time.Millisecond)
		fams = scrape(t, m.Handler())
		if got := value(t, fams, OutboxMessages, ""); got != 4 {
			t.Errorf("after the TTL: outbox %v, want 4", got)
		}
		if got, want := value(t, fams, TimerLag, ""), (120*time.Second + SnapshotTTL).Seconds(); got != want {
			t.Errorf("after the TTL: lag %v, want %v", got, want)
		}
		if got := value(t, fams, Runs, "state=waiting"); got != 4 {
			t.Errorf("after the TTL: waiting runs %v, want 4", got)
		}
	})
}

func TestGaugesOfAnEmptyDatabase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			// A timer in the future is no lag.
			return tx.SetInactivityTimer("winback", "ana", clock.Now().Add(time.Minute), 1)
		})
		if err != nil {
			t.Fatal(err)
		}
		fams := scrape(t, New(db, clock, nil).Handler())
		wantRuns := map[string]float64{"state=active": 0, "state=waiting": 0, "state=completed": 0, "state=exited": 0}
		if got := series(fams, Runs); !reflect.DeepEqual(got, wantRuns) {
			t.Errorf("%s = %v, want %v", Runs, got, wantRuns)
		}
		if got := series(fams, Messages); len(got) != 0 {
			t.Errorf("%s = %v, want none", Messages, got)
		}
		for _, name := range []string{OutboxMessages, InboxEvents, ReceiptQueueDepth, TimerLag} {
			if got := value(t, fams, name, ""); got != 0 {
				t.Errorf("%s = %v, want 0", name, got)
			}
		}
	})
}

func TestGaugesWhenTheDatabaseFails(t *testing.T) {
	db := storetest.OpenSQLite(t)
	m := New(db, testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)), nil)
	m.ObservePacingWait(0) // any counter, to see that the rest is still served
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	fams := scrape(t, m.Handler())
	if _, ok := fams[Runs]; ok {
		t.Errorf("%s served from a closed database", Runs)
	}
	if h := histogram(t, fams, PacingWait, ""); h.GetSampleCount() != 1 {
		t.Errorf("%s count = %d, want 1", PacingWait, h.GetSampleCount())
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("the Go collector's metrics are missing")
	}
}
