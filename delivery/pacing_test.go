package delivery_test

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// pacedCall is one provider call of a paced sender: the slot the sender
// waited for and the message's segments.
type pacedCall struct {
	slot     time.Time
	calledAt time.Time
	id       int64
	segments int
}

// pacedSender is a sender on the world's clock whose waits move the clock
// (never back) and are recorded, with a provider that records each call.
type pacedSender struct {
	s     *delivery.Sender
	clock *virtualClock
	// stall, if set, is how long the provider call of a message takes on
	// the sender's clock (a slow call, a pause of the process).
	stall func(id int64) time.Duration

	mu    sync.Mutex
	slots []time.Time
	calls []pacedCall
}

func (w *senderWorld) pacedSender(p delivery.Pacing, concurrency int) *pacedSender {
	return w.pacedSenderOn(w.clock, p, concurrency)
}

// pacedSenderOn is a paced sender on its own clock: a node whose time
// moves only with its own waits and calls, sharing nothing with another
// node but the database.
func (w *senderWorld) pacedSenderOn(clock *virtualClock, p delivery.Pacing, concurrency int) *pacedSender {
	ps := &pacedSender{clock: clock}
	prov := &recordingProvider{clock: clock, onSend: func(m *smsflow.Message, at time.Time) {
		ps.mu.Lock()
		ps.calls = append(ps.calls, pacedCall{calledAt: at, id: m.ID, segments: m.Segments})
		stall := ps.stall
		ps.mu.Unlock()
		if stall != nil {
			clock.Add(stall(m.ID))
		}
	}}
	ps.s = delivery.NewSender(w.db, prov, clock, slog.New(slog.DiscardHandler))
	ps.s.Pacing, ps.s.Concurrency = p, concurrency
	ps.s.WaitUntil = func(_ context.Context, t time.Time) error {
		ps.mu.Lock()
		ps.slots = append(ps.slots, t)
		ps.mu.Unlock()
		clock.advanceTo(t)
		return nil
	}
	return ps
}

// drain runs rounds until total messages were sent by all senders, moving
// the clock to when the pacer has room again whenever a round is held.
func (ps *pacedSender) drain(t *testing.T, w *senderWorld, done func() bool) {
	t.Helper()
	for !done() {
		n, err := ps.s.SendOnce(ctx, delivery.SendBatch)
		if err != nil {
			t.Error(err)
			return
		}
		if until := ps.s.PacedUntil(); n == 0 && !until.IsZero() {
			ps.clock.advanceTo(until)
		}
	}
}

// callsOf is what a sender sent, in call order.
func (ps *pacedSender) callsOf() []pacedCall {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return append([]pacedCall(nil), ps.calls...)
}

// maxInAnySecond is the most segments whose calls started within one
// sliding second (a window [t, t+1s) starting at any call).
func maxInAnySecond(calls []pacedCall) (most int, at time.Time) {
	sorted := append([]pacedCall(nil), calls...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].calledAt.Before(sorted[j].calledAt) })
	j, sum := 0, 0
	for i := range sorted {
		for ; j < len(sorted) && sorted[j].calledAt.Before(sorted[i].calledAt.Add(time.Second)); j++ {
			sum += max(1, sorted[j].segments)
		}
		if sum > most {
			most, at = sum, sorted[i].calledAt
		}
		sum -= max(1, sorted[i].segments)
	}
	return most, at
}

// paired zips a sender's recorded slots with its calls (in order: the
// sender waits for each slot, then calls; with Concurrency 1 the calls keep
// that order).
func (ps *pacedSender) paired(t *testing.T) []pacedCall {
	t.Helper()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if len(ps.slots) != len(ps.calls) {
		t.Fatalf("%d slots waited for, %d calls", len(ps.slots), len(ps.calls))
	}
	out := append([]pacedCall(nil), ps.calls...)
	for i := range out {
		out[i].slot = ps.slots[i]
	}
	return out
}

// recordingProvider accepts every message and reports it with the clock's
// time.
type recordingProvider struct {
	clock  smsflow.Clock
	onSend func(*smsflow.Message, time.Time)
}

func (p *recordingProvider) Name() string { return "recording" }

func (p *recordingProvider) Send(_ context.Context, m *smsflow.Message) (provider.Result, error) {
	p.onSend(m, p.clock.Now())
	return provider.Result{ProviderID: fmt.Sprintf("r-%d", m.ID), Status: smsflow.MessageSent}, nil
}

// queueSegments queues a service message of n segments to a new number.
func (w *senderWorld) queueSegments(i, segments int) int64 {
	w.t.Helper()
	now := w.clock.Now()
	phone := fmt.Sprintf("+1415555%04d", i)
	m := &smsflow.Message{Direction: "out", RunID: int64(1000 + i), StepID: "s", FlowID: "f", Category: "service", ContactID: "c" + phone, Phone: phone,
		Body: "hi", Encoding: "GSM-7", Characters: 2, Segments: segments, Status: smsflow.MessageQueued, CreatedAt: now, UpdatedAt: now}
	err := w.db.WriteTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertContact(&smsflow.Contact{ID: m.ContactID, Phone: phone, PhoneType: "mobile", Traits: map[string]any{}, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		_, err := tx.InsertMessage(m)
		return err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return m.ID
}

func TestPacerReservationsAreExact(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newSenderWorld(t, db)
		t0 := w.clock.Now()
		// 25 one-segment messages at 10/s: slots 0, 0.1 s, … 2.4 s, over
		// three rounds of at most a second each.
		for i := range 25 {
			w.queueSegments(i, 1)
		}
		ps := w.pacedSender(delivery.Pacing{Sender: "recording:+15005550006", Segments: 10, Per: time.Second}, 1)
		ps.drain(t, w, func() bool { ps.mu.Lock(); defer ps.mu.Unlock(); return len(ps.calls) == 25 })
		calls := ps.paired(t)
		for i, c := range calls {
			if want := t0.Add(time.Duration(i) * 100 * time.Millisecond); !c.slot.Equal(want) {
				t.Errorf("message %d: slot %s, want %s", i, c.slot.Sub(t0), want.Sub(t0))
			}
			if c.calledAt.Before(c.slot) {
				t.Errorf("message %d called at %s, before its slot %s", i, c.calledAt.Sub(t0), c.slot.Sub(t0))
			}
		}
		st, err := db.Pacing(ctx, "recording:+15005550006")
		if err != nil {
			t.Fatal(err)
		}
		if want := t0.Add(2500 * time.Millisecond); !st.NextFree.Equal(want) {
			t.Errorf("next free %s, want %s", st.NextFree.Sub(t0), want.Sub(t0))
		}

		// Multi-segment messages take their segments' worth: at 10/s,
		// 1, 3, 2, 1 segments start 0, 0.1, 0.4, 0.6 s after the next free
		// instant.
		t1 := w.clock.Now()
		if t1.Before(st.NextFree) {
			t1 = st.NextFree
		}
		for i, n := range []int{1, 3, 2, 1} {
			w.queueSegments(100+i, n)
		}
		ps.drain(t, w, func() bool { ps.mu.Lock(); defer ps.mu.Unlock(); return len(ps.calls) == 29 })
		calls = ps.paired(t)[25:]
		for i, want := range []time.Duration{0, 100 * time.Millisecond, 400 * time.Millisecond, 600 * time.Millisecond} {
			if got := calls[i].slot.Sub(t1); got != want {
				t.Errorf("multi-segment message %d (%d segments): slot +%s, want +%s", i, calls[i].segments, got, want)
			}
		}
	})
}

func TestTwoSendersShareOneRate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newSenderWorld(t, db)
		const total = 120
		for i := range total {
			w.queueSegments(i, 1+i%3)
		}
		// Two senders with nothing in common in memory — not even a clock
		// (each moves with its own waits) — only the database.
		p := delivery.Pacing{Sender: "recording:+15005550006", Segments: 20, Per: time.Second}
		a := w.pacedSenderOn(&virtualClock{t: w.clock.Now()}, p, 1)
		b := w.pacedSenderOn(&virtualClock{t: w.clock.Now()}, p, 1)
		sent := func() bool {
			a.mu.Lock()
			b.mu.Lock()
			defer a.mu.Unlock()
			defer b.mu.Unlock()
			return len(a.calls)+len(b.calls) >= total
		}
		var wg sync.WaitGroup
		for _, ps := range []*pacedSender{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ps.drain(t, w, sent)
			}()
		}
		wg.Wait()
		ca, cb := a.paired(t), b.paired(t)
		t.Logf("sender a sent %d messages, b %d", len(ca), len(cb))
		all := append(ca, cb...)
		if len(all) != total {
			t.Fatalf("%d calls, want %d", len(all), total)
		}
		seen := map[int64]bool{}
		for _, c := range all {
			if seen[c.id] {
				t.Fatalf("message %d sent twice", c.id)
			}
			seen[c.id] = true
		}
		// One rate: sorted by slot, each message's segments end no later
		// than the next slot (20/s: 50 ms a segment) — the slots of the two
		// senders never overlap.
		sort.Slice(all, func(i, j int) bool { return all[i].slot.Before(all[j].slot) })
		for i := 1; i < len(all); i++ {
			if gap, need := all[i].slot.Sub(all[i-1].slot), time.Duration(all[i-1].segments)*50*time.Millisecond; gap < need {
				t.Fatalf("slots %d and %d are %s apart, want at least %s (%d segments at 20/s)", i-1, i, gap, need, all[i-1].segments)
			}
		}
		segs := 0
		for _, c := range all[:len(all)-1] {
			segs += c.segments
		}
		if span, want := all[len(all)-1].slot.Sub(all[0].slot), time.Duration(segs)*50*time.Millisecond; span != want {
			t.Errorf("first to last slot %s, want exactly %s (no gaps in a backlog)", span, want)
		}
	})
}

func TestDailyCapHoldsUntilTheNextUTCDay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newSenderWorld(t, db) // 2026-03-02 18:00 UTC
		ids := []int64{}
		for i, n := range []int{1, 1, 3, 1, 1} {
			ids = append(ids, w.queueSegments(i, n))
		}
		huge := w.queueSegments(9, 6) // more than the whole cap
		ps := w.pacedSender(delivery.Pacing{Sender: "recording:+15005550006", Segments: 100, Per: time.Second, DailyCap: 5}, 4)
		for range 3 {
			if _, err := ps.s.SendOnce(ctx, delivery.SendBatch); err != nil {
				t.Fatal(err)
			}
		}
		for i, id := range ids {
			want := smsflow.MessageSent
			if i >= 3 { // 1+1+3 = 5 segments: the cap
				want = smsflow.MessageQueued
			}
			if m := w.message(id); m.Status != want {
				t.Errorf("day 1, message %d: %s, want %s", i, m.Status, want)
			}
		}
		nextDay := time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
		if got := ps.s.PacedUntil(); !got.Equal(nextDay) {
			t.Errorf("held until %s, want the next UTC day %s", got, nextDay)
		}
		// A minute before midnight nothing moves; at midnight the rest goes.
		w.clock.Set(nextDay.Add(-time.Minute))
		if n, err := ps.s.SendOnce(ctx, delivery.SendBatch); err != nil || n != 0 {
			t.Fatalf("before midnight: %d sent, %v", n, err)
		}
		w.clock.Set(nextDay)
		if _, err := ps.s.SendOnce(ctx, delivery.SendBatch); err != nil {
			t.Fatal(err)
		}
		for i, id := range ids {
			if m := w.message(id); m.Status != smsflow.MessageSent {
				t.Errorf("day 2, message %d: %s, want sent", i, m.Status)
			}
		}
		// (a round claims no more messages than the cap has segments left: the
		// 6-segment one is claimed on day 2, and canceled, not held forever)
		if m := w.message(huge); m.Status != smsflow.MessageCanceled || m.ErrorCode != "exceeds_daily_cap" {
			t.Errorf("6-segment message under a cap of 5: %s %q, want canceled exceeds_daily_cap", m.Status, m.ErrorCode)
		}
		st, err := db.Pacing(ctx, "recording:+15005550006")
		if err != nil {
			t.Fatal(err)
		}
		if st.DayUsed != 2 || st.Day != nextDay.Unix()/86400 {
			t.Errorf("day %d used %d, want day %d used 2", st.Day, st.DayUsed, nextDay.Unix()/86400)
		}
	})
}

func TestDailyCapRefundsWhatWasNotSent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newSenderWorld(t, db)
		const a, b = "+14155550100", "+14155550101"
		w.prov.script[a] = []error{&provider.Error{Kind: provider.Transient, Code: "429", Message: "slow down"}}
		w.queue(1, a)
		w.queue(2, b)
		w.s.Pacing = delivery.Pacing{Sender: "scripted", DailyCap: 10}
		w.round()
		// Neither went out (a refused for now, b released untried): the
		// day's count is back to zero.
		st, err := db.Pacing(ctx, "scripted")
		if err != nil {
			t.Fatal(err)
		}
		if st.DayUsed != 0 {
			t.Errorf("day used %d after a throttled round, want 0", st.DayUsed)
		}
	})
}

func TestSenderCallsTheProviderConcurrently(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newSenderWorld(t, db)
		const n = 4
		for i := range 1 + n {
			w.queueSegments(i, 1)
		}
		// The first call goes alone; the next n must all be in flight
		// together before any of them answers.
		bp := &barrierProvider{n: n, first: true, release: make(chan struct{})}
		s := delivery.NewSender(db, bp, w.clock, slog.New(slog.DiscardHandler))
		s.Concurrency = n
		done := make(chan error, 1)
		go func() {
			_, err := s.SendOnce(ctx, delivery.SendBatch)
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second): // a guard against a hang, not a wait
			t.Fatal("the provider calls did not overlap: the barrier was never reached")
		}
		if bp.max != n {
			t.Errorf("at most %d calls in flight, want %d", bp.max, n)
		}
	})
}

// barrierProvider answers its first call at once, then holds each call until
// n are in flight together.
type barrierProvider struct {
	mu       sync.Mutex
	n        int
	first    bool
	inflight int
	max      int
	release  chan struct{}
}

func (p *barrierProvider) Name() string { return "barrier" }

func (p *barrierProvider) Send(_ context.Context, m *smsflow.Message) (provider.Result, error) {
	p.mu.Lock()
	if p.first {
		p.first = false
		p.mu.Unlock()
		return provider.Result{ProviderID: "b-first", Status: smsflow.MessageSent}, nil
	}
	p.inflight++
	p.max = max(p.max, p.inflight)
	if p.inflight == p.n {
		close(p.release)
	}
	p.mu.Unlock()
	<-p.release
	p.mu.Lock()
	p.inflight--
	p.mu.Unlock()
	return provider.Result{ProviderID: fmt.Sprintf("b-%d", m.ID), Status: smsflow.MessageSent}, nil
}

func TestStopInterruptsAPacingWait(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newSenderWorld(t, db) // the clock does not move: the second slot never comes
		first, second := w.queueSegments(0, 1), w.queueSegments(1, 1)
		called := make(chan int64, 2)
		prov := &recordingProvider{clock: w.clock, onSend: func(m *smsflow.Message, _ time.Time) { called <- m.ID }}
		s := delivery.NewSender(db, prov, w.clock, slog.New(slog.DiscardHandler))
		s.Pacing = delivery.Pacing{Sender: "recording", Segments: 2, Per: time.Second}
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if id := <-called; id != first {
			t.Fatalf("first call for message %d, want %d", id, first)
		}
		s.Stop() // while waiting for the second slot, 0.5 s later on a clock that never gets there
		if m := w.message(first); m.Status != smsflow.MessageSent {
			t.Errorf("first: %s, want sent", m.Status)
		}
		if m := w.message(second); m.Status != smsflow.MessageQueued {
			t.Errorf("second: %s, want queued again (never tried)", m.Status)
		}
		if len(called) != 0 {
			t.Errorf("the second message was sent")
		}
	})
}

// stallAfter makes the provider call of the n-th message a sender calls
// take d on its clock (once).
func (ps *pacedSender) stallAfter(n int, d time.Duration) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	calls := 0
	ps.stall = func(int64) time.Duration {
		if calls++; calls == n {
			return d
		}
		return 0
	}
}

func TestStallDropsMissedSlotsAcrossTwoSenders(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newSenderWorld(t, db)
		const total, rate = 60, 10
		for i := range total {
			w.queueSegments(i, 1)
		}
		p := delivery.Pacing{Sender: "recording:+15005550006", Segments: rate, Per: time.Second}
		a := w.pacedSenderOn(&virtualClock{t: w.clock.Now()}, p, 1)
		b := w.pacedSenderOn(&virtualClock{t: w.clock.Now()}, p, 1)
		// Each sender's third call takes 0.7 s: its round's later slots
		// pass meanwhile, while the other sender's next reservation
		// already follows this round's.
		a.stallAfter(3, 700*time.Millisecond)
		b.stallAfter(3, 700*time.Millisecond)
		sent := func() bool { return len(a.callsOf())+len(b.callsOf()) >= total }
		var wg sync.WaitGroup
		for _, ps := range []*pacedSender{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ps.drain(t, w, sent)
			}()
		}
		wg.Wait()
		all := append(a.callsOf(), b.callsOf()...)
		if len(all) != total {
			t.Fatalf("%d calls, want %d", len(all), total)
		}
		seen := map[int64]bool{}
		for _, c := range all {
			if seen[c.id] {
				t.Fatalf("message %d sent twice", c.id)
			}
			seen[c.id] = true
		}
		// The missed slots are dropped: never more than rate + 1 calls
		// start in a second, across both senders.
		if most, at := maxInAnySecond(all); most > rate+1 {
			t.Errorf("%d segments started in the second from %s, want at most %d (rate + 1)", most, at.Sub(w.clock.Now()), rate+1)
		}
		for id := range seen {
			if m := w.message(id); m.Status != smsflow.MessageSent {
				t.Errorf("message %d: %s, want sent", id, m.Status)
			}
		}
	})
}

func TestBacklogAfterIdleStartsNow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newSenderWorld(t, db)
		const rate = 10
		p := delivery.Pacing{Sender: "recording:+15005550006", Segments: rate, Per: time.Second}
		ps := w.pacedSender(p, 1) // one call at a time: each records the clock at its start
		w.queueSegments(0, 1)
		ps.drain(t, w, func() bool { return len(ps.callsOf()) == 1 })
		// An hour of silence (the node was down, the database was
		// restarting): the stored next free instant lies far in the past.
		w.clock.Add(time.Hour)
		resumed := w.clock.Now()
		for i := range 35 {
			w.queueSegments(1+i, 1)
		}
		ps.drain(t, w, func() bool { return len(ps.callsOf()) == 36 })
		calls := ps.paired(t)[1:]
		if !calls[0].slot.Equal(resumed) {
			t.Errorf("first slot after the silence %s after resuming, want at once (not before: no catch-up)", calls[0].slot.Sub(resumed))
		}
		for i, c := range calls {
			if want := resumed.Add(time.Duration(i) * time.Second / rate); !c.slot.Equal(want) {
				t.Errorf("message %d: slot +%s, want +%s", i, c.slot.Sub(resumed), want.Sub(resumed))
			}
		}
		if most, at := maxInAnySecond(calls); most > rate+1 {
			t.Errorf("%d started in the second from +%s, want at most %d", most, at.Sub(resumed), rate+1)
		}
	})
}

// outageStore is a database whose write transactions fail while down is
// above zero (each failure counts it down): PostgreSQL restarting.
type outageStore struct {
	*store.DB
	mu     sync.Mutex
	writes int // write transactions begun
	downAt int // the write that finds the database down (1-based)
	down   int // how many writes fail from there
}

func (o *outageStore) WriteTx(ctx context.Context, fn func(*store.Tx) error) error {
	o.mu.Lock()
	o.writes++
	fail := o.writes >= o.downAt && o.down > 0
	if fail {
		o.down--
	}
	o.mu.Unlock()
	if fail {
		return fmt.Errorf("write: dial tcp 127.0.0.1:5432: connect: connection refused")
	}
	return o.DB.WriteTx(ctx, fn)
}

func TestOutcomesAreRecordedAfterAnOutage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newSenderWorld(t, db)
		a, b := w.queue(1, "+14155550100"), w.queue(2, "+14155550101")
		// The claim commits; the database is then down for the outcome
		// write and two more attempts.
		o := &outageStore{DB: db, downAt: 2, down: 3}
		s := delivery.NewSender(o, w.prov, w.clock, slog.New(slog.DiscardHandler))
		var waited []time.Duration
		s.WaitUntil = func(_ context.Context, at time.Time) error {
			waited = append(waited, at.Sub(w.clock.Now()))
			w.clock.advanceTo(at)
			return nil
		}
		if n, err := s.SendOnce(ctx, delivery.SendBatch); err != nil || n != 2 {
			t.Fatalf("round: %d handled, %v; want 2 and the outcomes recorded once the database is back", n, err)
		}
		for _, id := range []int64{a, b} {
			if m := w.message(id); m.Status != smsflow.MessageSent {
				t.Errorf("message %d: %s, want sent (called once; the outcome written after the outage)", id, m.Status)
			}
		}
		if got := w.prov.calls["+14155550100"] + w.prov.calls["+14155550101"]; got != 2 {
			t.Errorf("%d provider calls, want 2", got)
		}
		if len(waited) != 3 || waited[1] <= waited[0] {
			t.Errorf("waited %v between attempts, want three growing pauses", waited)
		}
	})
}
