package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/store"
)

// SendBatch is how many queued messages one sender round claims.
const SendBatch = 100

// DefaultConcurrency is how many provider calls a round has in flight at
// once unless Sender.Concurrency says otherwise.
const DefaultConcurrency = 16

// Sender consumes the outbox: it claims queued messages (marking them
// "sending" in their own committed transaction), calls the provider, and
// records the outcome. A crash between the two leaves "sending" rows, which
// start-up turns into "unknown": surfaced, never resent blindly.
//
// What a refusal means is decided here, once for every provider, from the
// kind of provider.Error: Transient (429, 5xx, throttling, no connection)
// goes back to the outbox with exponential back-off and jitter and pauses
// this sender, up to Retry.Attempts, then fails; Permanent fails with the
// provider's code; Unsubscribed fails and records a carrier opt-out;
// InvalidNumber fails and marks the number invalid; Unknown (the provider
// may have taken it) becomes "unknown" and is never resent.
type Sender struct {
	db    *store.DB
	prov  provider.Provider
	clock smsflow.Clock
	log   *slog.Logger

	// Retry is the back-off for transient refusals; set before Start.
	Retry Retry
	// OnEvents, if set, is called after outcomes that produced events (a
	// delivery receipt, a failure, a carrier opt-out), to wake the engine.
	OnEvents func()
	// Defer, if set, holds the send loop's next round while it returns
	// true, for at most MaxDefer at a stretch: the engine is behind on due
	// timers (Engine.TimersBehind). On one writer (SQLite) or two shared
	// cores, claiming and recording sends slows the timers down; a timer
	// that fires late takes its decisions late (conditions, caps, quiet
	// hours), while the message it queues goes out at the pace the provider
	// allows anyway, with its send_before still checked. Set before Start.
	Defer func() bool
	// OnOutcome, if set, is called with each claimed message as recorded
	// (sent, delivered, failed, unknown, canceled, or queued again), after
	// the write committed. Set before Start.
	OnOutcome func(smsflow.Message)
	// Pacing is the sender's rate and daily cap, shared through the
	// database with every node sending as the same sender; the zero Pacing
	// sends as fast as the provider answers. It paces the one default
	// sender when Addresses is empty. Set before Start.
	Pacing Pacing
	// Addresses are the senders the provider sends as (config
	// <provider>.senders), each with its own pacing; the first is the
	// default, which sends the messages queued without a sender
	// (Message.Sender ""), the others their own. Empty: one default sender
	// paced by Pacing, sending from the provider's configured address. Set
	// before Start (or the first SendOnce).
	Addresses []Address
	// Concurrency bounds the provider calls of a round in flight at once
	// (DefaultConcurrency when 0). Set before Start.
	Concurrency int
	// OnPacingWait, if set, is called with how long each paced message
	// waited for its slot (metrics).
	OnPacingWait func(time.Duration)
	// Waiting, if set, names the flows whose queued messages wait in the
	// outbox (paused or held on this node, Catalog.Waiting): a round claims
	// none of them. Set before Start.
	Waiting func() []string
	// WaitUntil, if set, is how a paced round waits until the clock reads
	// t (a virtual clock in tests moves itself there); it returns an error
	// when ctx ends first. nil waits on real timers against the clock.
	WaitUntil func(ctx context.Context, t time.Time) error

	lanesOnce sync.Once
	built     atomic.Bool
	inFlight  sync.WaitGroup // the rounds' in-flight opt-out checks (checkInFlight)
	lanes     []*lane
	optOuts   *optOutWatch // opt-outs committed on this node (RecheckWindow)
	unwatch   func()

	stop      chan struct{}
	done      chan struct{}
	startOnce sync.Once
	stopOnce  sync.Once
}

// Address is one sender a provider sends as — a number, short code,
// alphanumeric sender id or Twilio Messaging Service — with its own pacing.
type Address struct {
	// From is the address as the provider takes it and messages record it
	// (Message.Sender); "" sends from the provider's configured address.
	From string
	// Pacing is this sender's rate and daily cap (its own pacing row).
	Pacing Pacing
}

// lane is one sender's share of the outbox: its messages, its pacing, and
// its own round loops, so a slow sender's waits never hold a fast one.
type lane struct {
	s      *Sender
	from   string
	pacing Pacing
	scope  store.OutboxScope
	wake   chan struct{}

	mu          sync.Mutex
	pausedUntil time.Time // the provider throttled: claim nothing before
	pacedUntil  time.Time // the pacer is booked (or the daily cap used up) until then
}

// Retry is the back-off for sends a provider refused for now. The wait
// before attempt n+1 is Base·2^(n-1), at most Max, of which a random half
// is jitter (so senders that were throttled together do not come back
// together); a longer wait the provider asked for (Retry-After) wins. After
// Attempts transient refusals the message fails.
type Retry struct {
	Base     time.Duration
	Max      time.Duration
	Attempts int
}

// DefaultRetry waits 2 s, 4 s, 8 s … up to 10 minutes, 8 attempts in all
// (about 4 minutes of trying before the longest waits).
var DefaultRetry = Retry{Base: 2 * time.Second, Max: 10 * time.Minute, Attempts: 8}

// PollInterval bounds how long an idle send loop waits before it looks at
// the outbox again when nothing wakes it (Notify): a message queued by
// another node, or whose back-off ended, waits at most this long.
const PollInterval = 250 * time.Millisecond

// MaxRetryAfter bounds how long a provider's Retry-After may hold a send.
const MaxRetryAfter = time.Hour

func (r Retry) attempts() int {
	if r.Attempts <= 0 {
		return DefaultRetry.Attempts
	}
	return r.Attempts
}

// Delay is the wait after the n-th transient refusal (n ≥ 1); hint is the
// provider's Retry-After (0 when none).
func (r Retry) Delay(n int, hint time.Duration) time.Duration {
	base, max := r.Base, r.Max
	if base <= 0 {
		base = DefaultRetry.Base
	}
	if max <= 0 {
		max = DefaultRetry.Max
	}
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	d = d/2 + rand.N(d/2+1)
	if hint > d {
		d = min(hint, MaxRetryAfter)
	}
	return d
}

// NewSender returns a sender for one provider. From then on it hears of the
// opt-outs db commits (store DB.OnOptOut) until Stop.
func NewSender(db *store.DB, prov provider.Provider, clock smsflow.Clock, log *slog.Logger) *Sender {
	s := &Sender{db: db, prov: prov, clock: clock, log: log, Retry: DefaultRetry, optOuts: newOptOutWatch(), stop: make(chan struct{}), done: make(chan struct{})}
	s.unwatch = db.OnOptOut(s.optOuts.hear)
	return s
}

// lanesOf returns the sender's lanes, one per address, built on first use
// from Addresses (or Pacing).
func (s *Sender) lanesOf() []*lane {
	s.lanesOnce.Do(func() {
		addrs := s.Addresses
		if len(addrs) == 0 {
			addrs = []Address{{Pacing: s.Pacing}}
		}
		for i, a := range addrs {
			l := &lane{s: s, from: a.From, pacing: a.Pacing, wake: make(chan struct{}, 1)}
			if i > 0 {
				l.scope.Sender = a.From
			}
			s.lanes = append(s.lanes, l)
		}
		s.built.Store(true)
	})
	return s.lanes
}

// Notify wakes the sender (messages were queued).
func (s *Sender) Notify() {
	if !s.built.Load() {
		return // no loop runs yet
	}
	for _, l := range s.lanes {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

// Start recovers interrupted sends, then runs the send loops until Stop.
func (s *Sender) Start(ctx context.Context) error {
	n, err := s.db.MarkInterrupted(ctx, s.clock.Now())
	if err != nil {
		return fmt.Errorf("recover interrupted sends: %w", err)
	}
	if n > 0 {
		s.log.Warn("messages whose provider call was interrupted are marked unknown (not resent)", "count", n)
	}
	s.lanesOf()
	s.startOnce.Do(func() { go s.loop() })
	return nil
}

// Stop ends the loop after the round in progress; a paced round stops
// waiting for its slots, and the messages it had not started go back to the
// outbox untried. Safe to call twice.
func (s *Sender) Stop() {
	s.stopOnce.Do(func() {
		close(s.stop)
		s.startOnce.Do(func() { close(s.done) })
		<-s.done
		s.inFlight.Wait()
		s.unwatch()
	})
}

func (s *Sender) loop() {
	defer close(s.done)
	// Two rounds run at once per sender: while one waits for the provider's
	// answers (or, paced, for its slots), the other claims or records its
	// batch in the database — the sender's time was half database, half
	// calls, one after the other. Paced, the rate has no gap between rounds.
	// (Calls already run 16 at a time, so two rounds change no ordering
	// promise.) Each sender's loops are its own: a slow sender waiting for
	// its slots holds no other.
	var wg sync.WaitGroup
	for i, l := range s.lanesOf() {
		for _, sweep := range []bool{i == 0, false} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l.rounds(sweep)
			}()
		}
	}
	wg.Wait()
}

// MaxDefer is the longest a send loop holds its rounds for a timer backlog
// (Sender.Defer): even then, each loop sends a round per MaxDefer.
const MaxDefer = time.Second

// deferFor is how long a loop whose last round started at last holds its
// next one (0: go now).
func (s *Sender) deferFor(last time.Time) time.Duration {
	if s.Defer == nil || !s.Defer() {
		return 0
	}
	return max(MaxDefer-s.clock.Now().Sub(last), 0)
}

// rounds sends round after round until Stop; sweep also applies pending
// receipts from time to time (one loop of the sender does).
func (l *lane) rounds(sweep bool) {
	s := l.s
	var swept, last time.Time
	for {
		if now := s.clock.Now(); sweep && now.Sub(swept) >= PendingSweepInterval {
			swept = now
			s.sweepReceipts()
		}
		if d := s.deferFor(last); d > 0 {
			// Woken when the engine catches up (or queues more); the loop's
			// top looks again.
			if !l.sleep(d) {
				return
			}
			continue
		}
		last = s.clock.Now()
		n, err := l.sendOnce(context.Background(), SendBatch)
		if err != nil {
			s.log.Error("send round failed", "from", phone.MaskSender(l.from), "err", err)
		}
		if n > 0 && err == nil {
			select {
			case <-s.stop:
				return
			default:
				continue
			}
		}
		wait, hold := PollInterval, time.Duration(0)
		for _, until := range []time.Time{l.paused(), l.paced()} {
			if d := until.Sub(s.clock.Now()); !until.IsZero() && d > hold {
				hold = d
			}
		}
		if hold > 0 {
			wait = hold
		}
		if !l.sleep(wait) {
			return
		}
	}
}

// sleep waits d, or until Notify wakes the sender; false when Stop was
// called.
func (l *lane) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-l.s.stop:
		return false
	case <-l.wake:
	case <-t.C:
	}
	return true
}

// sweepReceipts applies receipts kept for messages whose provider id has
// been recorded since (see SweepPendingReceipts).
func (s *Sender) sweepReceipts() {
	n, emitted, err := SweepPendingReceipts(context.Background(), s.db, s.clock.Now())
	if err != nil {
		s.log.Error("apply pending receipts", "err", err)
		return
	}
	if n > 0 {
		s.log.Debug("pending receipts applied", "count", n)
	}
	if emitted && s.OnEvents != nil {
		s.OnEvents()
	}
}

// SendOnce sends one batch of each sender (one round per address, in
// order) and returns how many messages they handled. While the provider is
// throttling a sender (a transient failure in an earlier round) that sender
// claims nothing until the back-off has passed; while its pacer is booked
// more than PacingHorizon ahead, or its daily cap is used up, it claims
// nothing either (PacedUntil says until when).
//
// A paced round reserves its batch's segments in the transaction that
// claims it; the provider calls then run, at most Concurrency at once, each
// started no earlier than its slot, with send_before and the number's
// consent checked right before it (RecheckWindow). After a transient refusal
// the messages not yet started go back untried. The outcomes are recorded in
// one transaction.
func (s *Sender) SendOnce(ctx context.Context, limit int) (int, error) {
	defer s.inFlight.Wait() // its logs are written when it returns
	total := 0
	for _, l := range s.lanesOf() {
		n, err := l.sendOnce(ctx, limit)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// sendOnce is one round of one sender (see SendOnce).
func (l *lane) sendOnce(ctx context.Context, limit int) (int, error) {
	s := l.s
	now := s.clock.Now()
	if until := l.paused(); !until.IsZero() && now.Before(until) {
		return 0, nil
	}
	if until := l.paced(); !until.IsZero() && now.Before(until) {
		return 0, nil
	}
	paced := l.pacing.On()
	var (
		claimed []*smsflow.Message
		slots   []time.Time
		plan    pacePlan
		hold    time.Time
		group   = &callGroup{} // the claim's consent read, the first of the calls'
	)
	defer s.optOuts.done(group)
	err := s.db.WriteTx(ctx, func(tx *store.Tx) error {
		now := s.clock.Now()
		claimed, slots, hold = nil, nil, time.Time{}
		n := limit
		if paced {
			st, err := tx.LockPacing(l.pacing.Sender)
			if err != nil {
				return err
			}
			now = s.clock.Now() // the lock may have waited for another node's round
			if plan, hold, n = l.pacing.plan(st, now, limit); !hold.IsZero() {
				return nil
			}
		}
		scope := l.scope
		if s.Waiting != nil {
			scope.Waiting = s.Waiting()
		}
		var err error
		if claimed, err = tx.ClaimOutbox(now, n, scope); err != nil {
			return err
		}
		if claimed, err = s.recheck(tx, claimed, group); err != nil || !paced || len(claimed) == 0 {
			return err
		}
		var over, never []*smsflow.Message
		claimed, over, never = plan.fit(claimed, l.pacing.DailyCap)
		for _, m := range never {
			s.log.Warn("queued message canceled: it has more segments than the daily cap allows in a day", "to", phone.Mask(m.Phone), "message", m.ID, "segments", m.Segments, "daily_cap", l.pacing.DailyCap)
			if err := cancelClaimed(tx, m, "exceeds_daily_cap", "", "", now); err != nil {
				return err
			}
		}
		for _, m := range over {
			// Past the daily cap: queued until the next UTC day.
			if err := tx.RequeueMessage(m.ID, dayStart(plan.day+1), "", now); err != nil {
				return err
			}
		}
		if len(claimed) == 0 {
			if len(over) > 0 {
				hold = dayStart(plan.day + 1)
			}
			return nil
		}
		offsets, segs := l.pacing.offsets(claimed)
		// The claim took a moment: a batch on an idle pacer starts now, not
		// when the round began (its first slots would be past: a burst).
		start, err := tx.ReservePacing(l.pacing.Sender, s.clock.Now(), l.pacing.offset(segs), plan.day, segs)
		if err != nil || !l.pacing.rated() {
			return err // a daily cap alone: no slots
		}
		slots = make([]time.Time, len(claimed))
		for i, d := range offsets {
			slots[i] = start.Add(d)
		}
		return nil
	})
	l.mu.Lock()
	l.pacedUntil = hold
	l.mu.Unlock()
	if err != nil || len(claimed) == 0 {
		return 0, err
	}
	for _, m := range claimed {
		if m.Sender == "" {
			m.Sender = l.from // queued for the default sender
		}
	}
	group.from, group.to = 0, len(claimed) // what the claim kept, all read
	outs := s.call(ctx, claimed, slots, group)
	s.checkInFlight(ctx, outs)
	throttled := s.throttledBy(outs)
	var pause time.Time
	events := false
	err = s.db.WriteTx(ctx, func(tx *store.Tx) error {
		now := s.clock.Now()
		events, pause = false, time.Time{}
		// Outcomes that change a number (carrier opt-out, invalid number)
		// take the contact's lock, before any message row is touched and in
		// one order, as the engine does.
		var lock []string
		for _, o := range outs {
			if k := providerError(o.err).Kind; o.err != nil && (k == provider.Unsubscribed || k == provider.InvalidNumber) {
				lock = append(lock, o.m.ContactID)
			}
		}
		sort.Strings(lock)
		for i, id := range lock {
			if i == 0 || lock[i-1] != id {
				if err := tx.LockContact(id); err != nil {
					return err
				}
			}
		}
		// The accepted messages are recorded sent in one statement, and the
		// receipts that beat their provider ids found with one query.
		var sentIDs []int64
		var sentPIDs, sentStatus, withPID []string
		for _, o := range outs {
			if o.accepted() {
				sentIDs, sentPIDs = append(sentIDs, o.m.ID), append(sentPIDs, o.res.ProviderID)
				sentStatus = append(sentStatus, Immediate(o.res.Status))
				if o.res.ProviderID != "" {
					withPID = append(withPID, o.res.ProviderID)
				}
			}
		}
		if err := tx.MarkSent(s.prov.Name(), l.from, sentIDs, sentPIDs, sentStatus, now); err != nil {
			return err
		}
		pending, err := tx.PendingReceiptIDs(s.prov.Name(), withPID)
		if err != nil {
			return err
		}
		for i := range outs {
			o := &outs[i]
			o.pending = o.res.ProviderID != "" && pending[o.res.ProviderID]
			emitted, until, err := s.record(tx, o, now)
			if err != nil {
				return err
			}
			events = events || emitted
			if until.After(pause) {
				pause = until
			}
		}
		if throttled != nil && pause.IsZero() {
			// The throttled message ran out of attempts: still back off.
			pause = now.Add(s.Retry.Delay(1, throttled.Retry))
		}
		// The rest of a throttled batch waits as long as the throttled
		// message; what a Stop cut short may go at once.
		unsent := 0
		for _, o := range outs {
			if o.release || o.interrupted {
				until := pause
				if o.interrupted {
					until = time.Time{}
				}
				if err := tx.RequeueMessage(o.m.ID, until, "", now); err != nil {
					return err
				}
				o.m.Status = smsflow.MessageQueued
			}
			if o.release || o.interrupted || o.err == errExpired || o.err == errOptedOut || (o.err != nil && providerError(o.err).Kind == provider.Transient) {
				unsent += segmentsOf(o.m)
			}
		}
		if paced && l.pacing.DailyCap > 0 && unsent > 0 {
			// The cap counts what went out: give back what certainly did not.
			return tx.RefundPacing(l.pacing.Sender, plan.day, unsent)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if throttled != nil {
		l.mu.Lock()
		if pause.After(l.pausedUntil) {
			l.pausedUntil = pause
		}
		l.mu.Unlock()
		s.log.Warn("provider refused a send for now; sending paused", "provider", s.prov.Name(), "from", phone.MaskSender(l.from), "until", pause, "code", throttled.Code, "err", throttled.Message)
	}
	if events && s.OnEvents != nil {
		s.OnEvents()
	}
	if s.OnOutcome != nil {
		for _, o := range outs {
			s.OnOutcome(*o.m)
		}
	}
	return len(outs), nil
}

// call makes a round's provider calls, at most Concurrency at once, each
// started no earlier than its slot (slots nil: at once); the first call is
// answered before the others start. A message is not
// started — and goes back untried — once a call was refused for now
// (Transient) or Stop ended the wait for its slot; one whose send_before has
// passed by its turn expires.
func (s *Sender) call(ctx context.Context, claimed []*smsflow.Message, slots []time.Time, group *callGroup) []outcome {
	outs := make([]outcome, len(claimed))
	conc := s.Concurrency
	if conc <= 0 {
		conc = DefaultConcurrency
	}
	waitCtx, cancel := s.stopContext(ctx)
	defer cancel()
	var (
		wg        sync.WaitGroup
		throttled atomic.Bool
		stopped   bool
	)
	sem := make(chan struct{}, conc)
	group.began, group.conc = s.clock.Now(), conc
	for i, m := range claimed {
		o := &outs[i]
		o.m = m
		if stopped || throttled.Load() {
			o.release, o.interrupted = !stopped, stopped
			continue
		}
		if slots != nil {
			wait := max(0, slots[i].Sub(s.clock.Now()))
			if !s.waitUntil(waitCtx, slots[i]) {
				stopped, o.interrupted = true, true
				continue
			}
			if s.OnPacingWait != nil {
				s.OnPacingWait(wait)
			}
		}
		sem <- struct{}{}
		switch {
		case throttled.Load():
			// The provider is refusing for now: the rest of the batch goes
			// back untried (no attempt counted) and waits with the pause.
			<-sem
			o.release = true
			continue
		case !m.SendBefore.IsZero() && !s.clock.Now().Before(m.SendBefore): // send_before is the window's end, itself quiet (half-open window)
			<-sem
			o.err = errExpired
			continue
		}
		// The number's consent, as late as the call allows: read for the
		// group of calls due within RecheckWindow, and any opt-out this
		// node committed since.
		refused, err := s.refuses(waitCtx, group, claimed, slots, i)
		switch {
		case err != nil && waitCtx.Err() != nil:
			<-sem
			stopped, o.interrupted = true, true
			continue
		case err != nil:
			// Unknown consent: this call and the rest of the round go
			// back untried, as after a Stop.
			<-sem
			s.log.Error("read consent before the provider calls; the round's calls not started go back to the outbox", "err", err)
			stopped, o.interrupted = true, true
			continue
		case refused:
			<-sem
			o.err = errOptedOut
			continue
		}
		o.checked = group.readAt
		mark, watched := group.mark, restricted(m)
		wg.Add(1)
		send := func() {
			defer wg.Done()
			defer func() { <-sem }()
			if watched && s.optOuts.heardSince(o.m.Phone, mark) {
				// This node committed the number's opt-out after the
				// read: the call must not start.
				o.err = errOptedOut
				return
			}
			o.started = s.clock.Now()
			o.res, o.err = s.prov.Send(ctx, o.m)
			o.ended = s.clock.Now()
			if o.err != nil && providerError(o.err).Kind == provider.Transient {
				throttled.Store(true)
			}
		}
		if i == 0 || conc == 1 {
			// The first call goes alone: a provider that is throttling says
			// so before the rest of the batch is in flight. (One call at a
			// time: each in turn, the next slot waited for after it.)
			send()
			continue
		}
		go send()
	}
	wg.Wait()
	return outs
}

// throttledBy is the first transient refusal of a round, in outbox order
// (nil when none).
func (s *Sender) throttledBy(outs []outcome) *provider.Error {
	for _, o := range outs {
		if o.err != nil && o.err != errExpired && o.err != errOptedOut {
			if pe := providerError(o.err); pe.Kind == provider.Transient {
				return pe
			}
		}
	}
	return nil
}

// PacedUntil is when the pacer next has room for a sender held by it: its
// next free slot is booked more than PacingHorizon ahead, or its daily cap
// is used up (then the next UTC day) — the earliest such instant among the
// addresses. Zero when none is held.
func (s *Sender) PacedUntil() time.Time {
	return earliest(s.lanesOf(), (*lane).paced)
}

func (l *lane) paced() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pacedUntil
}

func (l *lane) paused() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pausedUntil
}

// earliest is the earliest non-zero instant of the lanes' (zero if none).
func earliest(lanes []*lane, of func(*lane) time.Time) time.Time {
	var t time.Time
	for _, l := range lanes {
		if u := of(l); !u.IsZero() && (t.IsZero() || u.Before(t)) {
			t = u
		}
	}
	return t
}

// outcome is what became of one claimed message.
type outcome struct {
	m           *smsflow.Message
	res         provider.Result
	err         error
	release     bool // not tried: the provider was throttling
	interrupted bool // not tried: Stop ended the wait for its slot
	pending     bool // a receipt for its provider id arrived before the id was recorded
	// checked is when the consent that let the call start was read;
	// started and ended bound the provider call (zero when not made).
	checked, started, ended time.Time
}

// accepted reports whether the provider took the message (it was tried and
// not refused).
func (o *outcome) accepted() bool { return o.err == nil && !o.release && !o.interrupted }

// record writes one outcome: the message's status (sent, delivered, failed,
// unknown or back in the outbox), the decision for a failed send of a run,
// and what a refusal taught about the number. until is when a transiently
// refused message may be tried again (zero otherwise).
func (s *Sender) record(tx *store.Tx, o *outcome, now time.Time) (emitted bool, until time.Time, err error) {
	m, name := o.m, s.prov.Name()
	switch {
	case o.release, o.interrupted:
		return false, time.Time{}, nil
	case o.err == errOptedOut:
		s.log.Warn("queued message canceled: the number is no longer subscribed", "to", phone.Mask(m.Phone), "message", m.ID)
		return false, time.Time{}, cancelClaimed(tx, m, "opt_out", smsflow.DecisionCanceledOptOut, "consent changed after the message was queued", now)
	case o.err == errExpired:
		// The timeline says why the text never went: its window closed
		// (quiet hours began) before the provider call.
		return false, time.Time{}, cancelClaimed(tx, m, "expired:send_before", smsflow.DecisionExpired,
			"send_before "+m.SendBefore.UTC().Format(time.RFC3339)+" passed before the provider call", now)
	case o.err == nil:
		// The row was recorded sent with the whole round (Tx.MarkSent).
		m.Provider, m.ProviderID, m.Status, m.ErrorCode, m.UpdatedAt = name, o.res.ProviderID, smsflow.MessageSent, "", now
		if st := Immediate(o.res.Status); st != "" {
			// A provider that knows the outcome at once (console): recorded
			// with the round too; its event is a receipt's.
			m.Status = st
			if emitted, err = DeliveryEvent(tx, m, now, now); err != nil {
				return false, time.Time{}, err
			}
		}
		if !o.pending {
			return emitted, time.Time{}, nil
		}
		more, err := ApplyPendingReceipts(tx, m, now)
		return emitted || more, time.Time{}, err
	}
	pe := providerError(o.err)
	code := pe.Code
	if code == "" {
		code = pe.Kind.String()
	}
	switch pe.Kind {
	case provider.Transient:
		n, err := tx.CountAttempt(m.ID)
		if err != nil {
			return false, time.Time{}, err
		}
		if n < s.Retry.attempts() {
			until = now.Add(s.Retry.Delay(n, pe.Retry))
			m.Status, m.ErrorCode = smsflow.MessageQueued, code
			s.log.Info("send refused for now; will retry", "to", phone.Mask(m.Phone), "message", m.ID, "attempt", n, "at", until, "code", code)
			return false, until, tx.RequeueMessage(m.ID, until, code, now)
		}
		pe = &provider.Error{Kind: pe.Kind, Code: pe.Code, Message: fmt.Sprintf("gave up after %d attempts; last: %s", n, pe.Message)}
	case provider.Unknown:
		// The provider may have taken it: surfaced, never resent by itself.
		m.Status, m.ErrorCode = smsflow.MessageUnknown, code
		s.log.Warn("send outcome unknown; not resent", "to", phone.Mask(m.Phone), "message", m.ID, "err", pe.Message)
		return false, time.Time{}, tx.SetMessageStatus(m.ID, m.Status, name, "", code, now)
	case provider.Unsubscribed:
		if err := CarrierOptOut(tx, m, name, code, now); err != nil {
			return false, time.Time{}, err
		}
		s.log.Warn("the provider says the number opted out; recorded as a carrier opt-out", "to", phone.Mask(m.Phone), "message", m.ID, "code", code)
	case provider.InvalidNumber:
		if err := tx.MarkPhoneType(m.Phone, store.PhoneTypeInvalid, now); err != nil {
			return false, time.Time{}, err
		}
		s.log.Warn("the provider says the number cannot receive SMS; marked invalid", "to", phone.Mask(m.Phone), "message", m.ID, "code", code)
	}
	m.Provider, m.Status, m.ErrorCode = name, smsflow.MessageFailed, code
	if pe.Kind != provider.Unsubscribed && pe.Kind != provider.InvalidNumber {
		s.log.Warn("send failed", "to", phone.Mask(m.Phone), "message", m.ID, "kind", pe.Kind, "code", code, "err", pe.Message)
	}
	if err := tx.SetMessageStatus(m.ID, m.Status, name, "", code, now); err != nil {
		return false, time.Time{}, err
	}
	if m.RunID != 0 {
		if err := tx.InsertDecision(&smsflow.Decision{RunID: m.RunID, StepID: m.StepID, FlowID: m.FlowID, ContactID: m.ContactID,
			Reason: smsflow.DecisionProviderPrefix + "(code=" + code + ")", Detail: pe.Message, At: now}); err != nil {
			return false, time.Time{}, err
		}
	}
	emitted, err = DeliveryEvent(tx, m, now, now)
	return emitted, time.Time{}, err
}

// providerError is err as a classified provider error; an error of another
// kind is Unknown (the message may have gone out). nil gives a zero Error.
func providerError(err error) *provider.Error {
	if err == nil || err == errExpired || err == errOptedOut {
		return &provider.Error{}
	}
	var pe *provider.Error
	if errors.As(err, &pe) {
		return pe
	}
	return &provider.Error{Kind: provider.Unknown, Message: err.Error()}
}

// PausedUntil is when sending resumes after the provider throttled (zero
// when not paused): the earliest such instant among the addresses.
func (s *Sender) PausedUntil() time.Time {
	return earliest(s.lanesOf(), (*lane).paused)
}

var errExpired = fmt.Errorf("send_before passed")

// recheck is the claim's look at what changed since the messages were
// queued: the numbers' consent (recheckConsent; read again right before the
// calls, refuses), then the numbers — one a provider has since called
// invalid is not tried again (decision skipped:invalid_number).
func (s *Sender) recheck(tx *store.Tx, claimed []*smsflow.Message, g *callGroup) ([]*smsflow.Message, error) {
	claimed, err := s.recheckConsent(tx, claimed, g)
	if err != nil || len(claimed) == 0 {
		return claimed, err
	}
	phones := make([]string, len(claimed))
	for i, m := range claimed {
		phones[i] = m.Phone
	}
	bad, err := tx.UnreachablePhones(phones)
	if err != nil || len(bad) == 0 {
		return claimed, err
	}
	now := s.clock.Now()
	kept := claimed[:0]
	for _, m := range claimed {
		typ, ok := bad[m.Phone]
		if !ok {
			kept = append(kept, m)
			continue
		}
		if err := cancelClaimed(tx, m, "invalid_number", smsflow.DecisionInvalidNumber,
			"the number is marked "+typ+" (a provider refused it) and cannot receive SMS", now); err != nil {
			return nil, err
		}
		s.log.Warn("queued message canceled: the number cannot receive SMS", "to", phone.Mask(m.Phone), "message", m.ID, "phone_type", typ)
	}
	return kept, nil
}

// recheckConsent cancels the claimed messages whose numbers may no longer
// receive them (consentAllows; a STOP the engine has not applied yet), in
// the claim's transaction — so they take no slot and no daily cap — and
// keeps the read in g: the consent of every claimed message as of the
// claim, which the first calls of the round start on (refuses reads again
// once it is older than RecheckWindow).
func (s *Sender) recheckConsent(tx *store.Tx, claimed []*smsflow.Message, g *callGroup) ([]*smsflow.Message, error) {
	var phones []string
	for _, m := range claimed {
		if restricted(m) {
			phones = append(phones, m.Phone)
		}
	}
	g.mark = s.optOuts.mark(g)
	g.readAt = s.clock.Now()
	if len(phones) == 0 {
		return claimed, nil
	}
	consent, err := tx.LatestConsents(phones)
	if err != nil {
		return nil, err
	}
	g.status = consent
	now := s.clock.Now()
	kept := claimed[:0]
	for _, m := range claimed {
		if !restricted(m) || consentAllows(m, consent[m.Phone]) {
			kept = append(kept, m)
			continue
		}
		if err := cancelClaimed(tx, m, "opt_out", smsflow.DecisionCanceledOptOut, "consent changed after the message was queued", now); err != nil {
			return nil, err
		}
		s.log.Warn("queued message canceled: the number is no longer subscribed", "to", phone.Mask(m.Phone), "message", m.ID)
	}
	return kept, nil
}

// cancelClaimed records that a claimed message will not go: canceled with
// code and, for a flow's message, the decision saying why (reason "" records
// none).
func cancelClaimed(tx *store.Tx, m *smsflow.Message, code, reason, detail string, now time.Time) error {
	m.Status, m.ErrorCode = smsflow.MessageCanceled, code
	if err := tx.SetMessageStatus(m.ID, m.Status, "", "", code, now); err != nil {
		return err
	}
	if m.RunID == 0 || reason == "" {
		return nil
	}
	return tx.InsertDecision(&smsflow.Decision{RunID: m.RunID, StepID: m.StepID, FlowID: m.FlowID, ContactID: m.ContactID,
		Reason: reason, Detail: detail, At: now})
}

// optInReply reports whether a message is the automatic confirmation of an
// opt-in keyword (START/UNSTOP, JOIN, YES) or a double opt-in confirmation
// request, which must not reach a number that said STOP after it was queued.
func optInReply(m *smsflow.Message) bool {
	if m.RunID != 0 {
		return false
	}
	switch m.StepID {
	case policy.AutoReplyStep(policy.KeywordStart), policy.AutoReplyStep(policy.KeywordJoin), policy.AutoReplyStep(policy.KeywordConfirm),
		policy.DoubleOptInRequestStep:
		return true
	}
	return false
}
