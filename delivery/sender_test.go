package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// scriptedProvider answers each send from a per-number script of errors
// (nil: accepted), then accepts.
type scriptedProvider struct {
	mu     sync.Mutex
	script map[string][]error
	calls  map[string]int
}

func (p *scriptedProvider) Name() string { return "scripted" }

func (p *scriptedProvider) Send(_ context.Context, m *smsflow.Message) (provider.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls[m.Phone]++
	if s := p.script[m.Phone]; len(s) > 0 {
		p.script[m.Phone] = s[1:]
		if s[0] != nil {
			return provider.Result{}, s[0]
		}
	}
	return provider.Result{ProviderID: "p-" + m.Phone, Status: smsflow.MessageSent}, nil
}

// senderWorld is a sender over queued messages written straight to the
// outbox, on a clock the test moves.
type senderWorld struct {
	t     *testing.T
	db    *store.DB
	clock *virtualClock
	prov  *scriptedProvider
	s     *delivery.Sender
}

func newSenderWorld(t *testing.T, db *store.DB) *senderWorld {
	w := &senderWorld{t: t, db: db, clock: &virtualClock{t: time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC)},
		prov: &scriptedProvider{script: map[string][]error{}, calls: map[string]int{}}}
	w.s = delivery.NewSender(db, w.prov, w.clock, slog.New(slog.DiscardHandler))
	w.s.Retry = delivery.Retry{Base: time.Minute, Max: time.Hour, Attempts: 3}
	return w
}

// queue writes a contact and a queued service message of run id to phone.
func (w *senderWorld) queue(run int64, phone string) int64 {
	w.t.Helper()
	now := w.clock.Now()
	id := "c" + phone
	m := &smsflow.Message{Direction: "out", RunID: run, StepID: "s", FlowID: "f", Category: "service", ContactID: id, Phone: phone,
		Body: "hi", Encoding: "GSM-7", Characters: 2, Segments: 1, Status: smsflow.MessageQueued, CreatedAt: now, UpdatedAt: now}
	err := w.db.WriteTx(ctx, func(tx *store.Tx) error {
		if c, err := tx.ContactByPhone(phone); err != nil || c == nil {
			if err != nil {
				return err
			}
			if err := tx.InsertContact(&smsflow.Contact{ID: id, Phone: phone, PhoneType: "mobile", Traits: map[string]any{}, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		_, err := tx.InsertMessage(m)
		return err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return m.ID
}

func (w *senderWorld) round() {
	w.t.Helper()
	if _, err := w.s.SendOnce(ctx, 100); err != nil {
		w.t.Fatal(err)
	}
}

func (w *senderWorld) message(id int64) *smsflow.Message {
	w.t.Helper()
	msgs, err := w.db.Messages(ctx, store.MessageFilter{Limit: 1000})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, m := range msgs {
		if m.ID == id {
			return m
		}
	}
	w.t.Fatalf("no message %d", id)
	return nil
}

func TestSenderRetriesTransientWithBackoffThenFails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newSenderWorld(t, db)
		const a, b = "+14155550100", "+14155550101"
		throttled := &provider.Error{Kind: provider.Transient, Code: "429", Message: "slow down"}
		w.prov.script[a] = []error{throttled, throttled, throttled}
		ida := w.queue(1, a)
		idb := w.queue(2, b)

		w.round()
		m := w.message(ida)
		if m.Status != smsflow.MessageQueued || m.ErrorCode != "429" {
			t.Fatalf("after a 429: %s %q, want queued 429", m.Status, m.ErrorCode)
		}
		// The rest of the batch was not tried while the provider throttles.
		if w.prov.calls[b] != 0 || w.message(idb).Status != smsflow.MessageQueued {
			t.Errorf("b was tried (%d) or not put back (%s) during the throttle", w.prov.calls[b], w.message(idb).Status)
		}
		pause := w.s.PausedUntil()
		if d := pause.Sub(w.clock.Now()); d < 30*time.Second || d > time.Minute {
			t.Errorf("paused for %s, want the first back-off (30s–1m with jitter)", d)
		}
		// Nothing happens before the back-off has passed.
		w.clock.Add(20 * time.Second)
		w.round()
		if w.prov.calls[a] != 1 {
			t.Errorf("tried again during the pause: %d calls", w.prov.calls[a])
		}
		w.clock.Set(pause)
		w.round() // second 429
		w.clock.Add(3 * time.Minute)
		w.round() // third: gives up
		if m := w.message(ida); m.Status != smsflow.MessageFailed || m.ErrorCode != "429" {
			t.Errorf("after 3 refusals: %s %q, want failed 429", m.Status, m.ErrorCode)
		}
		if w.prov.calls[a] != 3 {
			t.Errorf("%d calls for a, want 3", w.prov.calls[a])
		}
		w.clock.Add(3 * time.Minute)
		w.round()
		if m := w.message(idb); m.Status != smsflow.MessageSent || w.prov.calls[b] != 1 {
			t.Errorf("b after the throttle: %s, %d calls", m.Status, w.prov.calls[b])
		}
		ds, err := db.Decisions(ctx, "c"+a, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 1 || ds[0].Reason != "failed:provider(code=429)" {
			t.Errorf("decisions %+v", ds)
		}
	})
}

func TestSenderNeverResendsAnUnknownOutcome(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newSenderWorld(t, db)
		const a, b = "+14155550100", "+14155550101"
		w.prov.script[a] = []error{&provider.Error{Kind: provider.Unknown, Message: "timeout after the request was written"}}
		w.prov.script[b] = []error{errors.New("an adapter's unclassified error")}
		ida, idb := w.queue(1, a), w.queue(2, b)
		for range 3 {
			w.round()
			w.clock.Add(time.Hour)
		}
		for _, id := range []int64{ida, idb} {
			if m := w.message(id); m.Status != smsflow.MessageUnknown {
				t.Errorf("message %d: %s, want unknown", id, m.Status)
			}
		}
		if w.prov.calls[a] != 1 || w.prov.calls[b] != 1 {
			t.Errorf("calls %v, want one each", w.prov.calls)
		}
	})
}

func TestSenderStopsSendingToAnInvalidNumber(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newSenderWorld(t, db)
		const a = "+14155550100"
		w.prov.script[a] = []error{&provider.Error{Kind: provider.InvalidNumber, Code: "21614", Message: "not a mobile number"}}
		first := w.queue(1, a)
		w.round()
		if m := w.message(first); m.Status != smsflow.MessageFailed || m.ErrorCode != "21614" {
			t.Fatalf("first: %s %q", m.Status, m.ErrorCode)
		}
		second := w.queue(2, a)
		w.round()
		if m := w.message(second); m.Status != smsflow.MessageCanceled || m.ErrorCode != "invalid_number" {
			t.Errorf("second: %s %q, want canceled invalid_number", m.Status, m.ErrorCode)
		}
		if w.prov.calls[a] != 1 {
			t.Errorf("%d calls, want 1", w.prov.calls[a])
		}
		ds, err := db.Decisions(ctx, "c"+a, 10)
		if err != nil {
			t.Fatal(err)
		}
		var reasons []string
		for _, d := range ds {
			reasons = append(reasons, d.Reason)
		}
		if len(reasons) != 2 || reasons[0] != "failed:provider(code=21614)" || reasons[1] != smsflow.DecisionInvalidNumber {
			t.Errorf("decisions %v", reasons)
		}
	})
}

func TestRetryDelay(t *testing.T) {
	r := delivery.Retry{Base: time.Second, Max: 10 * time.Second, Attempts: 5}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 60: 10 * time.Second} {
		for range 50 {
			if d := r.Delay(n, 0); d < want/2 || d > want {
				t.Fatalf("Delay(%d) = %s, want in [%s, %s]", n, d, want/2, want)
			}
		}
	}
	if d := r.Delay(1, 30*time.Second); d != 30*time.Second {
		t.Errorf("Retry-After 30s: %s", d)
	}
	if d := r.Delay(1, 24*time.Hour); d != delivery.MaxRetryAfter {
		t.Errorf("Retry-After 24h: %s, want capped at %s", d, delivery.MaxRetryAfter)
	}
}

// A round that sends fewer than its limit leaves nothing due in the queue,
// whatever lies below the lane's cursor (D102): here the message of a flow
// that was paused while later ones were claimed past it.
func TestAShortRoundLeavesNothingDue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newSenderWorld(t, db)
		var paused atomic.Bool
		paused.Store(true)
		w.s.Waiting = func() []string {
			if paused.Load() {
				return []string{"f-held"}
			}
			return nil
		}
		now := w.clock.Now()
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			_, err := tx.InsertMessage(&smsflow.Message{Direction: "out", RunID: 1, StepID: "s", FlowID: "f-held", Category: "service", ContactID: "c-held",
				Phone: "+14155550100", Body: "hi", Encoding: "GSM-7", Characters: 2, Segments: 1, Status: smsflow.MessageQueued, CreatedAt: now, UpdatedAt: now})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			w.queue(int64(2+i), fmt.Sprintf("+1415555011%d", i))
		}
		const limit = 2
		if n, err := w.s.SendOnce(ctx, limit); err != nil || n != limit {
			t.Fatalf("first round: %d sent, %v", n, err)
		}
		paused.Store(false)
		for round := 2; ; round++ {
			n, err := w.s.SendOnce(ctx, limit)
			if err != nil {
				t.Fatal(err)
			}
			if n < limit {
				break
			}
			if round > 10 {
				t.Fatal("the rounds never came back short")
			}
		}
		msgs, err := db.Messages(ctx, store.MessageFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.Status != smsflow.MessageSent {
				t.Errorf("message %d (%s) is %s after a short round, want sent", m.ID, m.FlowID, m.Status)
			}
		}
	})
}

// A round's loop goes on at once only when its claim took as many messages
// as it asked for: a round that took all that was due sleeps until new
// messages wake it (at 500 events/s half the rounds that went on found
// nothing).
func TestARoundGoesOnOnlyAfterAFullClaim(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newSenderWorld(t, db)
		for i, p := range []string{"+14155550100", "+14155550101", "+14155550102"} {
			w.queue(int64(i+1), p)
		}
		for _, step := range []struct {
			n    int
			more bool
		}{{2, true}, {1, false}, {0, false}} {
			n, more, err := w.s.Round(ctx, 2)
			if err != nil {
				t.Fatal(err)
			}
			if n != step.n || more != step.more {
				t.Errorf("round: %d sent, more %v; want %d, more %v", n, more, step.n, step.more)
			}
		}
	})
}
