package delivery

import (
	"cmp"
	"context"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/store"
)

// sendOnce is one round of one sender (see SendOnce). It returns how many
// messages the round handled, and more when its claim took as many as it
// asked for: more may be due at once.
func (l *lane) sendOnce(ctx context.Context, limit int) (n int, more bool, err error) {
	s := l.s
	now := s.clock.Now()
	if until := l.paused(); !until.IsZero() && now.Before(until) {
		return 0, false, nil
	}
	if until := l.paced(); !until.IsZero() && now.Before(until) {
		return 0, false, nil
	}
	paced := l.pacing.On()
	var (
		claimed []*smsflow.Message
		sched   *schedule // paced: the round's reserved slots
		plan    pacePlan
		hold    time.Time
		group   = &callGroup{}     // the claim's consent read, the first of the calls'
		claim   = rand.Int64() | 1 // this round's token on the rows it claims (never 0)
		// calledUpTo: the claim marked its rows up to this id called (0: none)
		calledUpTo int64
		cursor     cursorState // the claim's outcome, for the lane once committed
	)
	defer s.optOuts.done(group)
	took := false // the claim took rows (and recorded its range)
	full := false // the claim took as many as it asked for: more may be due
	claimTx := func(tx WriteTx) error {
		now := s.clock.Now()
		claimed, sched, hold, took, full, cursor = nil, nil, time.Time{}, false, false, cursorState{}
		// The pace the round's first groups are planned with (groupEnd:
		// the claim's marks, the first consent re-read): the lane's last
		// round's.
		group.conc, group.prior = s.concurrency(), l.expectedPerWindow()
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
		scope.Node, scope.Claim = s.Node, claim
		if !paced {
			// Unpaced, the first calls start as soon as the claim commits:
			// the claim's UPDATE marks them (markFirst).
			scope.Calling = groupEnd(CallMarkWindow, n, nil, group, 0, now, false)
		}
		if s.Waiting != nil {
			scope.Waiting = s.Waiting()
		}
		var err error
		if claimed, calledUpTo, cursor, err = l.claim(tx, now, n, scope); err != nil {
			return err
		}
		took, full = len(claimed) > 0, len(claimed) >= n
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
		if len(over) > 0 {
			cursor.backlog = false // requeued below the cursor: the front next
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
		_, segs := l.pacing.offsets(claimed)
		// The claim took a moment: a batch on an idle pacer starts now, not
		// when the round began (its first slots would be past: a burst).
		start, err := tx.ReservePacing(l.pacing.Sender, s.clock.Now(), l.pacing.offset(segs), plan.day, segs)
		if err != nil || !l.pacing.rated() {
			return err // a daily cap alone: no slots
		}
		sched = l.pacing.schedule(start, claimed)
		return nil
	}
	var marked markedCalls
	err = writeTx(ctx, s.db, func(tx WriteTx) error {
		marked = markedCalls{}
		err := claimTx(tx)
		if err == nil && took && len(claimed) == 0 {
			// Rechecked, capped or held: nothing of the claim is left.
			err = tx.ReleaseClaim(s.Node, claim)
		}
		if err == nil && len(claimed) > 0 {
			// The calls due as soon as the claim commits are marked by
			// its commit: a round's first group costs no commit of its own.
			err = s.markFirst(tx, &marked, claimed, sched, group, claim, calledUpTo)
		}
		return err
	})
	l.mu.Lock()
	l.pacedUntil = hold
	l.mu.Unlock()
	if err == nil {
		l.claimed(cursor)
	}
	if err != nil || len(claimed) == 0 {
		return 0, err == nil && full, err // rechecked, canceled or capped away: progress all the same
	}
	for _, m := range claimed {
		if m.Sender == "" {
			m.Sender = l.from // queued for the default sender
		}
	}
	group.from, group.to = 0, len(claimed) // what the claim kept, all read
	outs := s.call(ctx, claimed, sched, group, claim, &marked)
	if group.perWindow > 0 {
		l.mu.Lock()
		l.perWindow = group.perWindow
		l.mu.Unlock()
	}
	s.checkInFlight(ctx, outs)
	throttled := s.throttledBy(outs)
	var pause time.Time
	events := false
	outcomeTx := func(tx WriteTx) error {
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
		var history []*smsflow.Event
		for i := range outs {
			o := &outs[i]
			o.pending = o.res.ProviderID != "" && pending[o.res.ProviderID]
			emitted, until, err := s.record(tx, o, &history, now)
			if err != nil {
				return err
			}
			events = events || emitted
			if until.After(pause) {
				pause = until
			}
		}
		if err := tx.InsertHistoryEvents(history); err != nil {
			return err
		}
		if throttled != nil && pause.IsZero() {
			// The throttled message ran out of attempts: still back off.
			pause = now.Add(s.Retry.Delay(1, throttled.Retry))
		}
		// The rest of a throttled batch waits as long as the throttled
		// message; what a Stop cut short may go at once.
		unsent := 0
		for _, o := range outs {
			if o.taken {
				continue // another node's now
			}
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
	}
	// A database outage while recording is waited out (recordOutcomes):
	// the claims stay this live node's, no other node takes them back.
	err = s.recordOutcomes(ctx, func(tx WriteTx) error {
		if err := outcomeTx(tx); err != nil {
			return err
		}
		// Every claimed row has its outcome: recovery has nothing to take back.
		return tx.ReleaseClaim(s.Node, claim)
	})
	if err != nil {
		return 0, false, err
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
			if o.taken {
				continue
			}
			s.OnOutcome(*o.m)
		}
	}
	// Messages a paced round put back untried (a stall used up their
	// slots) are due again at once, even after a short claim.
	for _, o := range outs {
		full = full || o.release && throttled == nil
	}
	return len(outs), full, nil
}

// call makes a round's provider calls, at most Concurrency at once, each
// started no earlier than its slot (sched nil: at once) and, paced, only
// while it fits the round's reservation (see schedule); the first call is
// answered before the others start. A message is not
// started — and goes back untried — once a call was refused for now
// (Transient) or Stop ended the wait for its slot; one whose send_before has
// passed by its turn expires.
//
// Before a call starts, it and the calls expected to start within
// CallMarkWindow after it are marked called in one committed write
// (markCalls): a crash strands as "unknown" only those, the rest of the
// round goes back to the queue. A message whose claim another node took
// back (this node's heartbeat went stale) is not called at all.
func (s *Sender) call(ctx context.Context, claimed []*smsflow.Message, sched *schedule, group *callGroup, claim int64, marked *markedCalls) []outcome {
	outs := make([]outcome, len(claimed))
	var slots []time.Time
	if sched != nil {
		slots = sched.slots
	}
	conc := s.concurrency()
	waitCtx, cancel := s.stopContext(ctx)
	defer cancel()
	var (
		wg        sync.WaitGroup
		throttled atomic.Bool
		stopped   bool
		missed    bool // paced: a call no longer fit the reservation
	)
	sem := make(chan struct{}, conc)
	group.began, group.conc = s.clock.Now(), conc
	launched, lastLaunch := 0, time.Time{}
	for i, m := range claimed {
		o := &outs[i]
		o.m = m
		if stopped || throttled.Load() || missed {
			o.release, o.interrupted = !stopped, stopped
			continue
		}
		if sched != nil {
			due := sched.due()
			wait := max(0, due.Sub(s.clock.Now()))
			if !s.waitUntil(waitCtx, due) {
				stopped, o.interrupted = true, true
				continue
			}
			if s.OnPacingWait != nil {
				s.OnPacingWait(wait)
			}
		}
		sem <- struct{}{}
		switch {
		case sched != nil && !sched.fits(i, s.clock.Now()):
			// A stall (a slow call, the database, the process) used up
			// the reservation: the rest of the round goes back untried
			// and takes later slots, rather than catching up in a burst.
			<-sem
			missed, o.release = true, true
			continue
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
		if i >= marked.to {
			err := s.markCalls(marked, claimed, slots, group, i, true, func(ids []int64, now time.Time) ([]int64, error) {
				got, err := s.db.MarkCalling(waitCtx, ids, claim, now)
				group.stalled += s.clock.Now().Sub(now)
				return got, err
			})
			if err != nil {
				<-sem
				if waitCtx.Err() == nil {
					s.log.Error("mark the provider calls about to start; the round's calls not started go back to the outbox", "err", err)
				}
				stopped, o.interrupted = true, true
				continue
			}
		}
		if !marked.ids[m.ID] {
			<-sem
			o.taken = true
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
		if sched != nil {
			// Marking and the consent read may have taken a while: the
			// call starts now only if it still fits.
			now := s.clock.Now()
			if !sched.fits(i, now) {
				<-sem
				missed, o.release = true, true
				continue
			}
			sched.started(i, now)
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
		launched, lastLaunch = launched+1, s.clock.Now()
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
	// The pace the calls went at, their database waits left out: the next
	// round's claim marks as many calls as this pace starts in a window.
	if span := lastLaunch.Sub(group.began) - group.stalled; launched > 1 && span > 0 {
		group.perWindow = int(min(int64(len(claimed)), int64(launched)*int64(CallMarkWindow)/int64(span)))
	}
	return outs
}

// CallMarkWindow is how far ahead of a provider call the sender marks the
// calls expected to start as called (markCalls): at most one write per
// window per round loop, and the calls a crash can leave "unknown" are
// those in flight and those due within the window.
const CallMarkWindow = 20 * time.Millisecond

// markedCalls are the round's calls marked called so far: claimed[:to],
// of which ids are the messages still held by the round's claim.
type markedCalls struct {
	to  int
	ids map[int64]bool
}

// groupEnd plans a round's groups of calls — those marked called
// together (CallMarkWindow), at the claim and in the call loop alike, and
// those whose consent is read together (RecheckWindow, refuses): the end
// (exclusive) of the group from claimed[i] on (n claimed in all) expected
// to start within window of now. Paced (slots), those whose slots fall in
// the window; unpaced, as many as the round starts per window
// (callGroup.callsPer), at least its concurrency. starting: claimed[i]'s
// call is about to start, so the group holds at least it; at the claim no
// call starts before the commit, and a paced group whose first slot is
// further off is empty.
func groupEnd(window time.Duration, n int, slots []time.Time, g *callGroup, i int, now time.Time, starting bool) int {
	if slots == nil {
		k := g.callsPer(window, i, now)
		if starting {
			k = max(1, k)
		}
		return min(n, i+k)
	}
	to := i
	if starting {
		to++
	}
	for to < n && !slots[to].After(now.Add(window)) {
		to++
	}
	return to
}

// markCalls marks the group of calls from claimed[i] on that groupEnd plans
// as called, with mark — in the claim's transaction (the claim's commit
// makes them callable) or in a commit of its own (DB.MarkCalling, as the
// round reaches them) — and records in mc those still held by the round's
// claim: a claim another node took back is not marked, and its message not
// called.
func (s *Sender) markCalls(mc *markedCalls, claimed []*smsflow.Message, slots []time.Time, g *callGroup, i int, starting bool, mark func(ids []int64, now time.Time) ([]int64, error)) error {
	now := s.clock.Now()
	to := groupEnd(CallMarkWindow, len(claimed), slots, g, i, now, starting)
	if to == i {
		return nil
	}
	ids := make([]int64, 0, to-i)
	for _, m := range claimed[i:to] {
		ids = append(ids, m.ID)
	}
	got, err := mark(ids, now)
	if err != nil {
		return err
	}
	mc.add(got, to)
	if len(got) < len(ids) {
		s.log.Warn("claimed messages were taken back by another node (this node's heartbeat was stale); not sent by this one", "count", len(ids)-len(got))
	}
	return nil
}

// add records ids as marked and still held, the calls marked now reaching
// claimed[:to].
func (mc *markedCalls) add(ids []int64, to int) {
	if mc.ids == nil {
		mc.ids = make(map[int64]bool)
	}
	for _, id := range ids {
		mc.ids[id] = true
	}
	mc.to = to
}

// markFirst marks the round's first group of calls in the claim's
// transaction (groupEnd at the claim). Unpaced, the claim's own UPDATE
// marked it (OutboxScope.Calling, planned before the claim, up to the id
// calledUpTo); rechecks keep the order, so the marked rows kept lead and
// are recorded without a write. Paced, the calls whose slots fall in the
// window are marked here. The round marks the rest as it reaches them.
func (s *Sender) markFirst(tx WriteTx, mc *markedCalls, claimed []*smsflow.Message, sched *schedule, g *callGroup, claim int64, calledUpTo int64) error {
	if sched == nil {
		to := 0
		for to < len(claimed) && claimed[to].ID <= calledUpTo {
			to++
		}
		ids := make([]int64, to)
		for i, m := range claimed[:to] {
			ids[i] = m.ID
		}
		mc.add(ids, to)
		return nil
	}
	return s.markCalls(mc, claimed, sched.slots, g, 0, false, func(ids []int64, now time.Time) ([]int64, error) {
		return tx.MarkCalling(ids, claim, now)
	})
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

// OutcomeRetryMax is the longest pause between attempts to record a
// round's outcomes while the database is unreachable; OutcomeRetryFor is
// how long the attempts go on (a fault that is not an outage must not hold
// the sender forever).
const (
	OutcomeRetryMax = 2 * time.Second
	OutcomeRetryFor = 2 * time.Minute
)

// recordOutcomes writes a round's outcomes (fn), trying again while the
// database is unreachable (PostgreSQL restarting, a failover) until it
// succeeds, the sender stops, or OutcomeRetryFor has passed. The calls were made: a node that gave up
// would leave its claims "sending" while it lives (no other node takes the
// claims of a live node), and the messages neither done nor explained.
// On Stop the claims stay for the restart's recovery (called → unknown,
// reconciled with the provider).
func (s *Sender) recordOutcomes(ctx context.Context, fn func(WriteTx) error) error {
	err := writeTx(ctx, s.db, fn)
	if err == nil || ctx.Err() != nil {
		return err
	}
	waitCtx, cancel := s.stopContext(ctx)
	defer cancel()
	backoff, giveUp := 50*time.Millisecond, s.clock.Now().Add(OutcomeRetryFor)
	for attempt := 2; s.clock.Now().Before(giveUp); attempt++ {
		s.log.Warn("record the outcomes of a round's provider calls; trying again", "attempt", attempt, "in", backoff, "err", err)
		if !s.waitUntil(waitCtx, s.clock.Now().Add(backoff)) {
			return err
		}
		if err = writeTx(ctx, s.db, fn); err == nil || ctx.Err() != nil {
			return err
		}
		backoff = min(2*backoff, OutcomeRetryMax)
	}
	return err
}

// claim is the round's claim of up to n queued messages of scope, sorted
// by id: past the lane's cursor when it has one (claimAfter), and from the
// queue's front for the rest when that comes back short, so that a short
// claim still means nothing more is due. It returns the id up to which the
// claim marked its rows called (0: none counts) and the outcome for the
// lane's cursor, recorded once the transaction commits.
func (l *lane) claim(tx WriteTx, now time.Time, n int, scope store.OutboxScope) (claimed []*smsflow.Message, calledUpTo int64, c cursorState, err error) {
	scope.After = l.claimAfter()
	if claimed, err = tx.ClaimOutbox(now, n, scope); err != nil {
		return nil, 0, c, err
	}
	calledUpTo = markedUpTo(claimed, scope.Calling)
	// front: what a claim from the queue's front took, and how many it
	// asked for (none: it did not run).
	front, asked := claimed, n
	if scope.After > 0 {
		front, asked = nil, 0
		if len(claimed) < n {
			more := scope
			more.After = 0
			if len(claimed) > 0 {
				// The marks past the cursor would not lead the merged
				// rows: none counts, the first group is marked again
				// with the round's.
				more.Calling = 0
			}
			asked = n - len(claimed)
			if front, err = tx.ClaimOutbox(now, asked, more); err != nil {
				return nil, 0, c, err
			}
			calledUpTo = markedUpTo(front, more.Calling)
			// Sorted again: a row committed between the two statements
			// may be past the cursor.
			claimed = append(slices.Clip(front), claimed...)
			slices.SortFunc(claimed, func(a, b *smsflow.Message) int { return cmp.Compare(a.ID, b.ID) })
		}
	}
	c = cursorState{scanned: asked > 0, backlog: len(claimed) == n}
	switch {
	case len(front) > 0 && len(front) == asked:
		// The front's claim took all it asked for: more may be due there,
		// and the next claim goes on from its last.
		c.id = front[len(front)-1].ID
	case len(claimed) > 0:
		c.id = claimed[len(claimed)-1].ID
	}
	return claimed, calledUpTo, c, nil
}

// markedUpTo is the id up to which a claim that marked its first calling
// rows called (OutboxScope.Calling) marked them: the last of those it
// returned, sorted by id (0: none).
func markedUpTo(claimed []*smsflow.Message, calling int) int64 {
	if k := min(calling, len(claimed)); k > 0 {
		return claimed[k-1].ID
	}
	return 0
}
