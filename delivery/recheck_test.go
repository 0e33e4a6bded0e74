package delivery_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// stopRace is issue 16's scenario on a virtual clock: promo messages to
// subscribed numbers queued, a sender paced at 100/s, and STOPs committed
// while the numbers' messages are claimed and waiting for their slots.
type stopRace struct {
	t       *testing.T
	db      *store.DB // the sender's node
	stopDB  *store.DB // where STOPs are committed: db, or another node's handle
	clock   *virtualClock
	s       *delivery.Sender
	logs    syncBuffer
	opts    ingest.InboundOptions
	numbers []string

	mu    sync.Mutex
	stops []scheduledStop
	calls []raceCall
	// inCall, if set, runs inside the provider call of a message (a STOP
	// arriving while the call is on the wire).
	inCall func(m *smsflow.Message)
}

type scheduledStop struct {
	at    time.Time
	phone string
	done  bool
}

type raceCall struct {
	phone, step string
	id          int64
	at          time.Time
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (r *stopRace) Name() string { return "race" }

func (r *stopRace) Send(_ context.Context, m *smsflow.Message) (provider.Result, error) {
	r.mu.Lock()
	r.calls = append(r.calls, raceCall{phone: m.Phone, step: m.StepID, id: m.ID, at: r.clock.Now()})
	in := r.inCall
	r.mu.Unlock()
	if in != nil {
		in(m)
	}
	return provider.Result{ProviderID: fmt.Sprintf("r-%d", m.ID), Status: smsflow.MessageSent}, nil
}

// newStopRace queues messages promo messages round robin to numbers
// subscribed numbers.
func newStopRace(t *testing.T, db, stopDB *store.DB, numbers, messages int) *stopRace {
	r := &stopRace{t: t, db: db, stopDB: stopDB, clock: &virtualClock{t: time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC)},
		opts: ingest.InboundOptions{Region: "US", Provider: "console", Keywords: policy.DefaultKeywordConfig(), BrandName: "Glow", SendConfirmations: true}}
	now := r.clock.Now()
	for i := range numbers {
		p := fmt.Sprintf("+1415555%04d", 100+i)
		r.numbers = append(r.numbers, p)
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			return tx.InsertContact(&smsflow.Contact{ID: "c" + p, Phone: p, PhoneType: "mobile", Traits: map[string]any{}, CreatedAt: now, UpdatedAt: now})
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ingest.RecordConsent(ctx, db, r.clock, "c"+p, ingest.ConsentChange{Status: smsflow.ConsentSubscribed, Source: smsflow.SourceWebForm,
			Evidence: map[string]any{"url": "https://glow.example/join", "ip": "203.0.113.7"}}, ingest.OptInOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	r.clock.Add(time.Second)
	err := db.WriteTx(ctx, func(tx *store.Tx) error {
		for i := range messages {
			p := r.numbers[i%numbers]
			m := &smsflow.Message{Direction: "out", RunID: int64(5000 + i), StepID: "promo", FlowID: "flash", Category: "promo", ContactID: "c" + p, Phone: p,
				Body: "Flash sale: 20% off today only.", Encoding: "GSM-7", Characters: 31, Segments: 1, Status: smsflow.MessageQueued, CreatedAt: now, UpdatedAt: now}
			if _, err := tx.InsertMessage(m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r.s = delivery.NewSender(db, r, r.clock, slog.New(slog.NewTextHandler(&r.logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	r.s.Pacing = delivery.Pacing{Sender: "race:+15005550006", Segments: 100, Per: time.Second}
	r.s.Concurrency = 1
	r.s.WaitUntil = func(_ context.Context, at time.Time) error {
		// The world moves on while the round waits for a slot: every STOP
		// scheduled before the slot is committed at its own instant.
		r.mu.Lock()
		var due []*scheduledStop
		for i := range r.stops {
			if st := &r.stops[i]; !st.done && st.at.Before(at) {
				st.done = true
				due = append(due, st)
			}
		}
		r.mu.Unlock()
		for _, st := range due {
			r.clock.advanceTo(st.at)
			r.stop(st.phone)
		}
		r.clock.advanceTo(at)
		return nil
	}
	return r
}

// stop commits an inbound STOP from p on the STOP node, at the clock's
// instant.
func (r *stopRace) stop(p string) {
	if _, err := ingest.Inbound(ctx, r.stopDB, r.clock, p, "STOP", r.opts); err != nil {
		r.t.Errorf("STOP from %s: %v", p, err)
	}
}

// drain sends until the outbox is empty.
func (r *stopRace) drain() {
	for range 1000 {
		n, err := r.s.SendOnce(ctx, delivery.SendBatch)
		if err != nil {
			r.t.Fatal(err)
		}
		if n == 0 && r.s.PacedUntil().IsZero() {
			return
		}
		if until := r.s.PacedUntil(); n == 0 {
			r.clock.advanceTo(until)
		}
	}
	r.t.Fatal("the outbox did not drain")
}

// promoCallsAfter lists the promo calls to p that started strictly after at.
func (r *stopRace) promoCallsAfter(p string, at time.Time) []raceCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []raceCall
	for _, c := range r.calls {
		if c.phone == p && c.step == "promo" && c.at.After(at) {
			out = append(out, c)
		}
	}
	return out
}

// TestStopStopsPacedSendsAlreadyClaimed is issue 16 item 2: with rate
// 100/s, 149 promo sends to 40 numbers, STOPs committed on this node while
// the numbers' messages are claimed and waiting for their slots: no call to
// a number starts after its STOP committed, and each message not sent is
// canceled with the decision canceled:opt_out.
func TestStopStopsPacedSendsAlreadyClaimed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newStopRace(t, db, db, 40, 149)
		t0 := r.clock.Now()
		// Ten numbers say STOP 5 ms after a slot, one every 90 ms, from
		// 55 ms on: each has messages claimed (a round claims a second's
		// worth, 100 messages) and waiting.
		for k := range 10 {
			r.stops = append(r.stops, scheduledStop{at: t0.Add(55*time.Millisecond + time.Duration(k)*90*time.Millisecond), phone: r.numbers[k*4]})
		}
		r.drain()
		canceled := 0
		for _, st := range r.stops {
			if !st.done {
				t.Fatalf("the STOP of %s was never committed", st.phone)
			}
			if late := r.promoCallsAfter(st.phone, st.at); len(late) > 0 {
				t.Errorf("%s said STOP at +%s; %d promo calls started after it, the first at +%s", st.phone, st.at.Sub(t0), len(late), late[0].at.Sub(t0))
			}
		}
		rows, err := db.ReadQuery(ctx, `SELECT m.phone, m.status, m.error_code, d.reason FROM messages m LEFT JOIN decisions d ON d.run_id = m.run_id
WHERE m.step_id = 'promo' AND m.status = 'canceled'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		claimedCanceled := 0
		for rows.Next() {
			var p, status, code string
			var reason *string
			if err := rows.Scan(&p, &status, &code, &reason); err != nil {
				t.Fatal(err)
			}
			canceled++
			if code == "opt_out" {
				claimedCanceled++
				if reason == nil || *reason != smsflow.DecisionCanceledOptOut {
					t.Errorf("message to %s canceled by the sender without the decision %s (got %v)", p, smsflow.DecisionCanceledOptOut, reason)
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		// The STOPs catch some of their messages already claimed (the
		// sender cancels those) and the rest still queued (the STOP
		// itself cancels those).
		if claimedCanceled == 0 {
			t.Errorf("no claimed message was canceled at its slot (%d canceled in all): the race was not exercised", canceled)
		}
		r.mu.Lock()
		promo := 0
		for _, c := range r.calls {
			if c.step == "promo" {
				promo++
			}
		}
		r.mu.Unlock()
		if promo+canceled != 149 {
			t.Errorf("%d promo calls + %d canceled, want 149 in all", promo, canceled)
		}
		t.Logf("%d promo calls, %d canceled (%d by the sender at the slot)", promo, canceled, claimedCanceled)
	})
}

// TestStopOnAnotherNodeStopsCallsAfterRecheckWindow: a STOP committed on
// another node (its own database handle: the sender hears nothing of it)
// stops every call that starts RecheckWindow or more after the commit; a
// call that starts within that window is logged.
func TestStopOnAnotherNodeStopsCallsAfterRecheckWindow(t *testing.T) {
	for kind, dsn := range storetest.DSNs(t) {
		t.Run(kind, func(t *testing.T) {
			db, other := storetest.OpenMigrated(t, dsn), storetest.OpenMigrated(t, dsn)
			r := newStopRace(t, db, other, 10, 100)
			t0 := r.clock.Now()
			for k := range 5 {
				r.stops = append(r.stops, scheduledStop{at: t0.Add(15*time.Millisecond + time.Duration(k)*150*time.Millisecond), phone: r.numbers[k*2]})
			}
			r.drain()
			logs := r.logs.String()
			late := 0
			for _, st := range r.stops {
				for _, c := range r.promoCallsAfter(st.phone, st.at) {
					if c.at.Sub(st.at) >= delivery.RecheckWindow {
						t.Errorf("%s said STOP on another node at +%s; a promo call started at +%s, %s later (RecheckWindow %s)",
							st.phone, st.at.Sub(t0), c.at.Sub(t0), c.at.Sub(st.at), delivery.RecheckWindow)
						continue
					}
					late++
					if !strings.Contains(logs, fmt.Sprintf("message=%d ", c.id)) || !strings.Contains(logs, "before its call started") {
						t.Errorf("the call of message %d, started %s after its number's STOP on another node, is not logged:\n%s", c.id, c.at.Sub(st.at), logs)
					}
				}
			}
			if strings.Contains(logs, r.numbers[0]) {
				t.Errorf("a log line has a number unmasked:\n%s", logs)
			}
			t.Logf("%d calls started within RecheckWindow of a STOP on another node (logged)", late)
		})
	}
}

// TestCallInFlightAtAStopIsLogged: a STOP committed while a call to the
// number is on the wire cannot stop it; the sender says so (WARN, masked
// number, message id), and the number's next claimed message is canceled.
func TestCallInFlightAtAStopIsLogged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newStopRace(t, db, db, 4, 12)
		victim := r.numbers[1]
		var once sync.Once
		var inFlight int64
		r.inCall = func(m *smsflow.Message) {
			if m.Phone == victim && m.StepID == "promo" {
				once.Do(func() {
					inFlight = m.ID
					r.clock.Add(time.Millisecond) // the call takes a moment; the STOP lands in it
					r.stop(victim)
					r.clock.Add(time.Millisecond)
				})
			}
		}
		r.drain()
		if inFlight == 0 {
			t.Fatal("no call to the victim")
		}
		logs := r.logs.String()
		if !strings.Contains(logs, "while its call was in flight") || !strings.Contains(logs, fmt.Sprintf("message=%d ", inFlight)) ||
			!strings.Contains(logs, phone.Mask(victim)) || strings.Contains(logs, victim) {
			t.Errorf("the call in flight at the STOP (message %d to %s) is not logged with its masked number:\n%s", inFlight, phone.Mask(victim), logs)
		}
		r.mu.Lock()
		n := 0
		for _, c := range r.calls {
			if c.phone == victim && c.step == "promo" {
				n++
			}
		}
		r.mu.Unlock()
		if n != 1 {
			t.Errorf("%d promo calls to the number that said STOP during the first; want only that one", n)
		}
	})
}
