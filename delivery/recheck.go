package delivery

import (
	"context"
	"sync"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/policy"
)

// RecheckWindow bounds how old the consent read behind a provider call may
// be when the call starts. A paced round claims up to a second of messages
// and starts each at its slot. The claim reads the consent of all of them
// (in its transaction); once that read is older than RecheckWindow, right
// before a call starts the sender reads the current consent of the numbers
// whose calls are due within RecheckWindow (one query for the group, on the
// reader pool), and again when that read is older. An opt-out committed on
// this node reaches the sender at its commit (store DB.OnOptOut) and stops
// every call that has not started; one committed on another node stops
// every call that starts RecheckWindow or more after the commit. So at most
// one read per RecheckWindow per round loop besides the claim's, whatever
// the rate: a round of a fast provider, over within the window, reads once.
const RecheckWindow = 20 * time.Millisecond

// errOptedOut marks a claimed message whose number may no longer receive it
// by the time its call was due: canceled (canceled:opt_out), never started.
var errOptedOut = &recheckError{"the number opted out after the message was claimed"}

type recheckError struct{ msg string }

func (e *recheckError) Error() string { return e.msg }

// restricted reports whether consent can refuse a message at the last
// moment: a flow's message, the confirmation of an opt-in keyword, or a
// person's conversation reply. Other automatic replies (the STOP
// confirmation itself, HELP) always go.
func restricted(m *smsflow.Message) bool {
	return m.RunID != 0 || optInReply(m) || m.Category == smsflow.CategoryConversation
}

// consentAllows is the last-moment consent rule for a restricted message
// given its number's current ledger status: a flow's message needs a number
// that is not unsubscribed, and a marketing one a subscribed number; an
// opt-in confirmation must not reach a number that said STOP after it was
// queued.
func consentAllows(m *smsflow.Message, st smsflow.ConsentStatus) bool {
	if m.RunID == 0 {
		return !((optInReply(m) || m.Category == smsflow.CategoryConversation) && st == smsflow.ConsentUnsubscribed)
	}
	return st != smsflow.ConsentUnsubscribed && (!policy.Marketing(m.Category) || m.Category == "" || st == smsflow.ConsentSubscribed)
}

// optOutWatch is what a sender heard of the opt-outs committed on this node
// (store DB.OnOptOut), each numbered in the order heard. A group of calls
// remembers the number heard last before its consent read (mark): an
// opt-out heard after the mark may have committed after the read, so it
// refuses the group's calls to that number whatever the read said.
type optOutWatch struct {
	mu    sync.Mutex
	seq   uint64
	heard map[string]uint64     // number → when its latest opt-out was heard
	marks map[*callGroup]uint64 // the marks of the groups in use
}

func newOptOutWatch() *optOutWatch {
	return &optOutWatch{heard: map[string]uint64{}, marks: map[*callGroup]uint64{}}
}

// hear records opt-outs committed on this node.
func (w *optOutWatch) hear(phones []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range phones {
		w.seq++
		w.heard[p] = w.seq
	}
}

// mark is taken right before g reads consent; numbers heard of up to it are
// in the database g reads (their transactions had committed). Entries no
// group in use can need any more are dropped.
func (w *optOutWatch) mark(g *callGroup) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.marks[g] = w.seq
	if len(w.heard) > 256 {
		oldest := w.seq
		for _, m := range w.marks {
			oldest = min(oldest, m)
		}
		for p, at := range w.heard {
			if at <= oldest {
				delete(w.heard, p)
			}
		}
	}
	return w.seq
}

// heardSince reports whether an opt-out of p was heard after mark.
func (w *optOutWatch) heardSince(p string, mark uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.heard[p] > mark
}

// done forgets a group's mark.
func (w *optOutWatch) done(g *callGroup) {
	w.mu.Lock()
	delete(w.marks, g)
	w.mu.Unlock()
}

// callGroup is a round's current consent read: the messages [from, to) it
// covers, when it was read (readAt, on the sender's clock), the opt-outs
// heard up to it (mark), and the statuses it found; began and conc are the
// round's start and its calls in flight at most.
type callGroup struct {
	from, to int
	readAt   time.Time
	mark     uint64
	status   map[string]smsflow.ConsentStatus
	began    time.Time
	conc     int
	// stalled is how long the round's calls waited on the database (marks
	// and consent reads): no call starts meanwhile, so the pace of the
	// calls leaves it out. perWindow is that pace at the round's end, in
	// calls per CallMarkWindow (0: not measured).
	stalled   time.Duration
	perWindow int
	// prior is the pace of the sender's last round (lane.perWindow), the
	// estimate before this round has started a call.
	prior int
}

// callsPer is how many calls the round is expected to start within window
// from the i-th: as many as it started per window so far, its database
// waits left out (before its first call: as the last round did), and at
// least its concurrency.
func (g *callGroup) callsPer(window time.Duration, i int, now time.Time) int {
	n := g.conc
	if i == 0 && g.prior > 0 {
		n = max(n, int(int64(g.prior)*int64(window)/int64(CallMarkWindow)))
	}
	if took := now.Sub(g.began) - g.stalled; i > 0 && took > 0 {
		n = max(n, int(int64(i)*int64(window)/int64(took)))
	}
	return n
}

// refuses reports whether claimed[i] must not be started now because the
// database says its number may no longer receive it, reading consent for a
// new group first when claimed[i] is not covered by a read younger than
// RecheckWindow. A group is the calls expected to start within
// RecheckWindow of its read: paced, those whose slots fall in it; unpaced
// (slots nil), as many as the round has started per RecheckWindow so far,
// at least conc — so a slow provider's round reads a few numbers at a time,
// not the whole rest of the round again and again. The opt-outs heard since
// the read are checked at the call's very start (optOutWatch.heardSince).
func (s *Sender) refuses(ctx context.Context, g *callGroup, claimed []*smsflow.Message, slots []time.Time, i int) (bool, error) {
	m := claimed[i]
	if !restricted(m) {
		return false, nil
	}
	now := s.clock.Now()
	if i < g.from || i >= g.to || now.Sub(g.readAt) > RecheckWindow {
		to := groupEnd(RecheckWindow, len(claimed), slots, g, i, now, true)
		var phones []string
		seen := map[string]bool{}
		for _, c := range claimed[i:to] {
			if restricted(c) && !seen[c.Phone] {
				seen[c.Phone] = true
				phones = append(phones, c.Phone)
			}
		}
		mark := s.optOuts.mark(g)
		st, err := s.db.LatestConsents(ctx, phones)
		g.stalled += s.clock.Now().Sub(now)
		if err != nil {
			return false, err
		}
		g.from, g.to, g.readAt, g.mark, g.status = i, to, now, mark, st
	}
	return !consentAllows(m, g.status[m.Phone]), nil
}

// inFlightCall is what checkInFlight keeps of a call to a restricted
// message.
type inFlightCall struct {
	id                      int64
	phone                   string
	checked, started, ended time.Time
}

// checkInFlight warns about calls that may have reached a number after it
// opted out: its opt-out was recorded while the call was in flight (a call
// on the wire cannot be recalled), or, committed on another node, after the
// consent read that let the call start. One query for the round, after its
// calls, off the round's path (the round goes on to record its outcomes).
func (s *Sender) checkInFlight(ctx context.Context, outs []outcome) {
	var calls []inFlightCall
	for _, o := range outs {
		if !o.started.IsZero() && restricted(o.m) {
			calls = append(calls, inFlightCall{id: o.m.ID, phone: o.m.Phone, checked: o.checked, started: o.started, ended: o.ended})
		}
	}
	if len(calls) == 0 {
		return
	}
	s.inFlight.Add(1)
	go func() {
		defer s.inFlight.Done()
		s.logInFlightOptOuts(context.WithoutCancel(ctx), calls)
	}()
}

func (s *Sender) logInFlightOptOuts(ctx context.Context, calls []inFlightCall) {
	var phones []string
	since := calls[0].checked
	seen := map[string]bool{}
	for _, c := range calls {
		if c.checked.Before(since) {
			since = c.checked
		}
		if !seen[c.phone] {
			seen[c.phone] = true
			phones = append(phones, c.phone)
		}
	}
	optOuts, err := s.db.OptOutsSince(ctx, phones, since)
	if err != nil {
		s.log.Error("look for opt-outs during the round's calls", "err", err)
		return
	}
	for _, c := range calls {
		for _, at := range optOuts[c.phone] {
			if at.Before(c.checked) || at.After(c.ended) {
				continue
			}
			args := []any{"to", phone.Mask(c.phone), "message", c.id, "opted_out_at", at, "call_started", c.started, "call_ended", c.ended}
			if !at.Before(c.started) {
				s.log.Warn("the number opted out while its call was in flight; the text may reach it", args...)
			} else {
				s.log.Warn("the number opted out after its consent was read and before its call started (an opt-out on another node, within the re-check window); the text may reach it", append(args, "consent_read", c.checked)...)
			}
			break
		}
	}
}

// recheck is the claim's look at what changed since the messages were
// queued: the numbers' consent (recheckConsent; read again right before the
// calls, refuses), then the numbers — one a provider has since called
// invalid is not tried again (decision skipped:invalid_number).
func (s *Sender) recheck(tx WriteTx, claimed []*smsflow.Message, g *callGroup) ([]*smsflow.Message, error) {
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
func (s *Sender) recheckConsent(tx WriteTx, claimed []*smsflow.Message, g *callGroup) ([]*smsflow.Message, error) {
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
