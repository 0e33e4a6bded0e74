package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/store"
)

// SendBatch is how many queued messages one sender round claims.
const SendBatch = 100

// DefaultConcurrency is how many provider calls a round has in flight at
// once unless Sender.Concurrency says otherwise.
const DefaultConcurrency = 16

// Sender consumes the outbox: it claims queued messages (marking them
// "sending", claimed by this node, in their own committed transaction),
// marks each group of calls about to start as called (another committed
// write, store DB.MarkCalling), calls the provider, and records the
// outcome. A crash leaves "sending" rows: at start-up (or once this node's
// heartbeat is stale, on another node) those never called go back to the
// queue, and only those marked called become "unknown": surfaced, never
// resent blindly.
//
// What a refusal means is decided here, once for every provider, from the
// kind of provider.Error: Transient (429, 5xx, throttling, no connection)
// goes back to the outbox with exponential back-off and jitter and pauses
// this sender, up to Retry.Attempts, then fails; Permanent fails with the
// provider's code; Unsubscribed fails and records a carrier opt-out;
// InvalidNumber fails and marks the number invalid; Unknown (the provider
// may have taken it) becomes "unknown" and is never resent.
type Sender struct {
	db    Store
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
	// Node is this node's id among the nodes sharing the database (its
	// heartbeat's), recorded on the messages it claims; "" for a lone
	// sender. Set before Start.
	Node string
	// Reconciler, if set, is asked about the messages a crash left
	// "unknown" (ReconcileUnknown): the provider itself when it can be
	// asked (Twilio). Set before Start.
	Reconciler provider.Reconciler
	// ReconcileAfter is how long an interrupted message the Reconciler has
	// no record of waits before it is queued again (DefaultReconcileAfter
	// when 0). Set before Start.
	ReconcileAfter time.Duration
	// ResendInterrupted queues the messages a crash left "unknown" again
	// when there is no Reconciler: the provider dedupes (http.idempotent)
	// or the operator chose so (smpp.on_unknown: resend). Set before Start.
	ResendInterrupted bool
	// Lease is how long after another node's last heartbeat its claims are
	// taken back by this one (config node_ttl, default engine.NodeTTL); 0
	// never takes them. Set before Start.
	Lease time.Duration

	lanesOnce   sync.Once
	built       atomic.Bool
	inFlight    sync.WaitGroup // the rounds' in-flight opt-out checks (checkInFlight) and the reconciliation in progress
	reconciling atomic.Bool    // a ReconcileUnknown pass runs
	lanes       []*lane
	optOuts     *optOutWatch // opt-outs committed on this node (RecheckWindow)
	unwatch     func()

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
	perWindow   int       // calls the last round started per CallMarkWindow (0: not measured)
	cursor      int64     // the highest id a claim of the lane took (see claimAfter)
	backlog     bool      // the last claim took as many as it asked for
	scannedAt   time.Time // when a claim last started from the queue's start
}

// FullClaimEvery is how often a lane's claim starts from the front of the
// queue rather than past its cursor: the longest a due message below the
// cursor (a retry, a claim taken back, an id whose insert committed late)
// waits while later ones are claimed.
const FullClaimEvery = time.Second

// claimAfter is the id the lane's next claim starts after: its cursor while
// the queue has a backlog (the last claim took as many as it asked for),
// else 0, the queue's front, and the front at least every FullClaimEvery.
// A claim past the cursor skips the index entries of every message sent
// since PostgreSQL's last VACUUM (store.OutboxScope.After); a lane that
// keeps up with its queue claims in id order as before, and a claim past
// the cursor that comes back short takes the rest from the front (the
// round). Wall time, not the sender's clock: it bounds work, not what is
// due.
func (l *lane) claimAfter() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.backlog || l.cursor == 0 || time.Since(l.scannedAt) >= FullClaimEvery {
		return 0
	}
	return l.cursor
}

// cursorState is what a round's committed claim tells claimAfter.
type cursorState struct {
	id      int64 // where the next claim past the cursor starts (0: unchanged)
	backlog bool  // the claim took as many as it asked for
	scanned bool  // a claim from the queue's front ran
}

// claimed records a committed claim's outcome.
func (l *lane) claimed(c cursorState) {
	l.mu.Lock()
	if c.id > 0 {
		l.cursor = c.id
	}
	l.backlog = c.backlog
	if c.scanned {
		l.scannedAt = time.Now()
	}
	l.mu.Unlock()
}

// expectedPerWindow is how many calls a round of the lane is expected to
// start per CallMarkWindow: the pace of its last round (0: not measured).
func (l *lane) expectedPerWindow() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.perWindow
}

// concurrency is how many provider calls a round has in flight at most.
func (s *Sender) concurrency() int {
	if s.Concurrency <= 0 {
		return DefaultConcurrency
	}
	return s.Concurrency
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
func NewSender(db Store, prov provider.Provider, clock smsflow.Clock, log *slog.Logger) *Sender {
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
	r, err := s.db.RecoverClaims(ctx, s.Node, time.Time{}, s.clock.Now())
	if err != nil {
		return fmt.Errorf("recover interrupted sends: %w", err)
	}
	s.logRecovered(r, "")
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
	var swept, leased, reconciled, last time.Time
	for {
		if now := s.clock.Now(); sweep && now.Sub(swept) >= PendingSweepInterval {
			swept = now
			s.sweepReceipts()
		}
		if now := s.clock.Now(); sweep && now.Sub(leased) >= s.leaseCheck() {
			leased = now
			s.recoverStale()
		}
		if now := s.clock.Now(); sweep && now.Sub(reconciled) >= ReconcileInterval && s.reconciling.CompareAndSwap(false, true) {
			// Off the round loop: asking the provider about many messages
			// must not hold the sends. Stop cancels it and waits for it.
			reconciled = now
			s.inFlight.Add(1)
			go func() {
				defer s.inFlight.Done()
				defer s.reconciling.Store(false)
				ctx, cancel := s.stopContext(context.Background())
				defer cancel()
				s.ReconcileUnknown(ctx)
			}()
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
		_, more, err := l.sendOnce(context.Background(), SendBatch)
		if err != nil {
			s.log.Error("send round failed", "from", phone.MaskSender(l.from), "err", err)
		}
		// A round whose claim took all that was due sleeps: messages
		// queued since wake the lane (Notify), retries are polled for.
		// Going on at once found the queue empty in about half the rounds
		// at 500 events/s: three round trips each.
		if more && err == nil {
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

// logRecovered says what a recovery of claims did; node names the dead node
// whose claims were taken back ("" for this node's own, at start-up).
func (s *Sender) logRecovered(r store.Recovered, node string) {
	if r.Requeued > 0 {
		s.log.Warn("claimed messages never handed to the provider are queued again", "count", r.Requeued, "of_stale_nodes", node != "")
	}
	if r.Unknown > 0 {
		s.log.Warn("messages whose provider call was interrupted are marked unknown (not resent)", "count", r.Unknown, "of_stale_nodes", node != "")
	}
}

// LeaseCheckInterval is how often a sender with a Lease looks for the
// claims of nodes whose heartbeat is stale.
const LeaseCheckInterval = 15 * time.Second

// leaseCheck is how often the claims of stale nodes are looked for: every
// LeaseCheckInterval, or a quarter of a shorter Lease (config node_ttl), so
// a short lease is acted on soon after it ends.
func (s *Sender) leaseCheck() time.Duration {
	if q := s.Lease / 4; q > 0 && q < LeaseCheckInterval {
		return q
	}
	return LeaseCheckInterval
}

// recoverStale takes back the claims of the nodes whose heartbeat is older
// than Lease (none when Lease is 0).
func (s *Sender) recoverStale() {
	if s.Lease <= 0 {
		return
	}
	now := s.clock.Now()
	r, err := s.db.RecoverClaims(context.Background(), s.Node, now.Add(-s.Lease), now)
	if err != nil {
		s.log.Error("take back the claims of stale nodes", "err", err)
		return
	}
	s.logRecovered(r, "stale")
	if r.Requeued > 0 {
		s.Notify()
	}
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
		n, _, err := l.sendOnce(ctx, limit)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
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

// PausedUntil is when sending resumes after the provider throttled (zero
// when not paused): the earliest such instant among the addresses.
func (s *Sender) PausedUntil() time.Time {
	return earliest(s.lanesOf(), (*lane).paused)
}
