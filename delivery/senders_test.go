package delivery_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// senderCall is one provider call: the sender it went from and when.
type senderCall struct {
	from string
	at   time.Time
}

type senderRecorder struct {
	clock *virtualClock
	mu    sync.Mutex
	calls []senderCall
}

func (r *senderRecorder) Name() string { return "recording" }

func (r *senderRecorder) Send(_ context.Context, m *smsflow.Message) (provider.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, senderCall{from: m.Sender, at: r.clock.Now()})
	return provider.Result{ProviderID: fmt.Sprintf("r-%d", m.ID), Status: smsflow.MessageSent}, nil
}

// TestEachSenderKeepsItsOwnRate: two senders of one provider, 10/s and
// 2/s, each paced on its own row: the default's calls are 100 ms apart,
// the other's 500 ms (never the default's pace), and neither waits for
// the other's slots.
func TestEachSenderKeepsItsOwnRate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newSenderWorld(t, db)
		const fast, slow = "+15005550006", "55555"
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			now := w.clock.Now()
			for i := range 30 {
				m := &smsflow.Message{Direction: "out", RunID: int64(1000 + i), StepID: "s", FlowID: "f", Category: "service", ContactID: "c", Phone: fmt.Sprintf("+1415555%04d", i),
					Body: "hi", Encoding: "GSM-7", Characters: 2, Segments: 1, Status: smsflow.MessageQueued, CreatedAt: now, UpdatedAt: now}
				if i%3 == 2 {
					m.Sender = slow // a third of them
				}
				if _, err := tx.InsertMessage(m); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		rec := &senderRecorder{clock: w.clock}
		s := delivery.NewSender(db, rec, w.clock, slog.New(slog.DiscardHandler))
		s.Concurrency = 1
		s.Addresses = []delivery.Address{
			{From: fast, Pacing: delivery.Pacing{Sender: "recording:" + fast, Segments: 10, Per: time.Second}},
			{From: slow, Pacing: delivery.Pacing{Sender: "recording:" + slow, Segments: 2, Per: time.Second}},
		}
		s.WaitUntil = func(_ context.Context, at time.Time) error { w.clock.advanceTo(at); return nil }
		for range 100 {
			n, err := s.SendOnce(ctx, delivery.SendBatch)
			if err != nil {
				t.Fatal(err)
			}
			if until := s.PacedUntil(); n == 0 && !until.IsZero() {
				w.clock.advanceTo(until)
			} else if n == 0 {
				break
			}
		}
		byFrom := map[string][]time.Time{}
		for _, c := range rec.calls {
			byFrom[c.from] = append(byFrom[c.from], c.at)
		}
		if len(byFrom[fast]) != 20 || len(byFrom[slow]) != 10 || len(byFrom) != 2 {
			t.Fatalf("calls by sender: %d from %s, %d from %s, %d senders; want 20, 10, 2", len(byFrom[fast]), fast, len(byFrom[slow]), slow, len(byFrom))
		}
		for from, gap := range map[string]time.Duration{fast: 100 * time.Millisecond, slow: 500 * time.Millisecond} {
			ats, least := byFrom[from], time.Duration(-1)
			for i := 1; i < len(ats); i++ {
				if d := ats[i].Sub(ats[i-1]); least < 0 || d < least {
					least = d
				}
			}
			if least != gap {
				t.Errorf("%s: closest calls %s apart, want its own pace, %s", from, least, gap)
			}
		}
		// Each sender's row ends one slot after its last call.
		for key, want := range map[string]time.Time{"recording:" + fast: byFrom[fast][19].Add(100 * time.Millisecond), "recording:" + slow: byFrom[slow][9].Add(500 * time.Millisecond)} {
			st, err := db.Pacing(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if !st.NextFree.Equal(want) {
				t.Errorf("%s: next free %s, want %s", key, st.NextFree, want)
			}
		}
	})
}
