package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/store"
)

// SendBatch is how many queued messages one sender round claims.
const SendBatch = 100

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
	// OnOutcome, if set, is called with each claimed message as recorded
	// (sent, delivered, failed, unknown, canceled, or queued again), after
	// the write committed. Set before Start.
	OnOutcome func(smsflow.Message)

	mu          sync.Mutex
	pausedUntil time.Time // the provider throttled: claim nothing before

	wake      chan struct{}
	stop      chan struct{}
	done      chan struct{}
	startOnce sync.Once
	stopOnce  sync.Once
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

// NewSender returns a sender for one provider.
func NewSender(db *store.DB, prov provider.Provider, clock smsflow.Clock, log *slog.Logger) *Sender {
	return &Sender{db: db, prov: prov, clock: clock, log: log, Retry: DefaultRetry, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// Notify wakes the sender (messages were queued).
func (s *Sender) Notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Start recovers interrupted sends, then runs the send loop until Stop.
func (s *Sender) Start(ctx context.Context) error {
	n, err := s.db.MarkInterrupted(ctx, s.clock.Now())
	if err != nil {
		return fmt.Errorf("recover interrupted sends: %w", err)
	}
	if n > 0 {
		s.log.Warn("messages whose provider call was interrupted are marked unknown (not resent)", "count", n)
	}
	s.startOnce.Do(func() { go s.loop() })
	return nil
}

// Stop ends the loop after the round in progress. Safe to call twice.
func (s *Sender) Stop() {
	s.stopOnce.Do(func() {
		close(s.stop)
		s.startOnce.Do(func() { close(s.done) })
		<-s.done
	})
}

func (s *Sender) loop() {
	defer close(s.done)
	var swept time.Time
	for {
		if now := s.clock.Now(); now.Sub(swept) >= ingest.PendingSweepInterval {
			swept = now
			s.sweepReceipts()
		}
		n, err := s.SendOnce(context.Background(), SendBatch)
		if err != nil {
			s.log.Error("send round failed", "err", err)
		}
		if n > 0 && err == nil {
			select {
			case <-s.stop:
				return
			default:
				continue
			}
		}
		wait := PollInterval
		if until := s.PausedUntil(); !until.IsZero() {
			if d := until.Sub(s.clock.Now()); d > 0 {
				wait = d
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-s.stop:
			t.Stop()
			return
		case <-s.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// sweepReceipts applies receipts kept for messages whose provider id has
// been recorded since (see ingest.SweepPendingReceipts).
func (s *Sender) sweepReceipts() {
	n, emitted, err := ingest.SweepPendingReceipts(context.Background(), s.db, s.clock.Now())
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

// SendOnce sends one batch and returns how many messages it handled. While
// the provider is throttling (a transient failure in an earlier round) it
// claims nothing until the back-off has passed.
func (s *Sender) SendOnce(ctx context.Context, limit int) (int, error) {
	if until := s.PausedUntil(); !until.IsZero() && s.clock.Now().Before(until) {
		return 0, nil
	}
	var claimed []*smsflow.Message
	err := s.db.WriteTx(ctx, func(tx *store.Tx) error {
		var err error
		if claimed, err = tx.ClaimOutbox(s.clock.Now(), limit); err != nil {
			return err
		}
		claimed, err = s.recheck(tx, claimed)
		return err
	})
	if err != nil || len(claimed) == 0 {
		return 0, err
	}
	outs := make([]outcome, 0, len(claimed))
	var throttled *provider.Error
	for _, m := range claimed {
		switch {
		case throttled != nil:
			// The provider is refusing for now: the rest of the batch goes
			// back untried (no attempt counted) and waits with the pause.
			outs = append(outs, outcome{m: m, release: true})
			continue
		case !m.SendBefore.IsZero() && !s.clock.Now().Before(m.SendBefore): // send_before is the window's end, itself quiet (half-open window)
			outs = append(outs, outcome{m: m, err: errExpired})
			continue
		}
		res, err := s.prov.Send(ctx, m)
		o := outcome{m: m, res: res, err: err}
		if pe := providerError(err); pe.Kind == provider.Transient {
			throttled = pe
		}
		outs = append(outs, o)
	}
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
		for i := range outs {
			o := &outs[i]
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
		// The rest of a throttled batch waits as long as the throttled message.
		for _, o := range outs {
			if o.release {
				if err := tx.RequeueMessage(o.m.ID, pause, "", now); err != nil {
					return err
				}
				o.m.Status = smsflow.MessageQueued
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if throttled != nil {
		s.mu.Lock()
		s.pausedUntil = pause
		s.mu.Unlock()
		s.log.Warn("provider refused a send for now; sending paused", "provider", s.prov.Name(), "until", pause, "code", throttled.Code, "err", throttled.Message)
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

// outcome is what became of one claimed message.
type outcome struct {
	m       *smsflow.Message
	res     provider.Result
	err     error
	release bool // not tried: the provider was throttling
}

// record writes one outcome: the message's status (sent, delivered, failed,
// unknown or back in the outbox), the decision for a failed send of a run,
// and what a refusal taught about the number. until is when a transiently
// refused message may be tried again (zero otherwise).
func (s *Sender) record(tx *store.Tx, o *outcome, now time.Time) (emitted bool, until time.Time, err error) {
	m, name := o.m, s.prov.Name()
	switch {
	case o.release:
		return false, time.Time{}, nil
	case o.err == errExpired:
		m.Status, m.ErrorCode = smsflow.MessageCanceled, "expired:send_before"
		return false, time.Time{}, tx.SetMessageStatus(m.ID, m.Status, "", "", m.ErrorCode, now)
	case o.err == nil:
		m.Provider, m.ProviderID, m.Status, m.ErrorCode = name, o.res.ProviderID, smsflow.MessageSent, ""
		if err := tx.SetMessageStatus(m.ID, m.Status, name, o.res.ProviderID, "", now); err != nil {
			return false, time.Time{}, err
		}
		if st := o.res.Status; st != "" && st != smsflow.MessageSent {
			// A provider that knows the outcome at once (console): the same
			// path as a receipt.
			if emitted, err = ingest.RecordDelivery(tx, m, st, "", now, now); err != nil {
				return false, time.Time{}, err
			}
		}
		more, err := ingest.ApplyPendingReceipts(tx, m, now)
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
		if err := ingest.CarrierOptOut(tx, m, name, code, now); err != nil {
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
	emitted, err = ingest.DeliveryEvent(tx, m, now, now)
	return emitted, time.Time{}, err
}

// providerError is err as a classified provider error; an error of another
// kind is Unknown (the message may have gone out). nil gives a zero Error.
func providerError(err error) *provider.Error {
	if err == nil || err == errExpired {
		return &provider.Error{}
	}
	var pe *provider.Error
	if errors.As(err, &pe) {
		return pe
	}
	return &provider.Error{Kind: provider.Unknown, Message: err.Error()}
}

// PausedUntil is when sending resumes after the provider throttled (zero
// when not paused).
func (s *Sender) PausedUntil() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pausedUntil
}

var errExpired = fmt.Errorf("send_before passed")

// recheck is the last look before the provider: consent (recheckConsent),
// then the number — one a provider has since called invalid is not tried
// again (decision skipped:invalid_number).
func (s *Sender) recheck(tx *store.Tx, claimed []*smsflow.Message) ([]*smsflow.Message, error) {
	claimed, err := s.recheckConsent(tx, claimed)
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
		if err := tx.SetMessageStatus(m.ID, smsflow.MessageCanceled, "", "", "invalid_number", now); err != nil {
			return nil, err
		}
		if m.RunID != 0 {
			if err := tx.InsertDecision(&smsflow.Decision{RunID: m.RunID, StepID: m.StepID, FlowID: m.FlowID, ContactID: m.ContactID,
				Reason: smsflow.DecisionInvalidNumber, Detail: "the number is marked " + typ + " (a provider refused it) and cannot receive SMS", At: now}); err != nil {
				return nil, err
			}
		}
		s.log.Warn("queued message canceled: the number cannot receive SMS", "to", phone.Mask(m.Phone), "message", m.ID, "phone_type", typ)
	}
	return kept, nil
}

// recheckConsent is the last look before the provider: a flow's message
// whose number was unsubscribed after it was queued (a STOP the engine has
// not applied yet) is canceled, never sent. Automatic replies (no run) pass:
// the STOP confirmation itself must go out — except an opt-in confirmation
// (START/JOIN/YES) to a number that has since said STOP.
func (s *Sender) recheckConsent(tx *store.Tx, claimed []*smsflow.Message) ([]*smsflow.Message, error) {
	var phones []string
	for _, m := range claimed {
		if m.RunID != 0 || optInReply(m) {
			phones = append(phones, m.Phone)
		}
	}
	if len(phones) == 0 {
		return claimed, nil
	}
	consent, err := tx.LatestConsents(phones)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	kept := claimed[:0]
	for _, m := range claimed {
		st := consent[m.Phone]
		if (m.RunID == 0 && !(optInReply(m) && st == smsflow.ConsentUnsubscribed)) ||
			(m.RunID != 0 && st != smsflow.ConsentUnsubscribed && (!policy.Marketing(m.Category) || m.Category == "" || st == smsflow.ConsentSubscribed)) {
			kept = append(kept, m)
			continue
		}
		if err := tx.SetMessageStatus(m.ID, smsflow.MessageCanceled, "", "", "opt_out", now); err != nil {
			return nil, err
		}
		if m.RunID != 0 {
			if err := tx.InsertDecision(&smsflow.Decision{RunID: m.RunID, StepID: m.StepID, FlowID: m.FlowID, ContactID: m.ContactID,
				Reason: smsflow.DecisionCanceledOptOut, Detail: "consent changed after the message was queued", At: now}); err != nil {
				return nil, err
			}
		}
		s.log.Warn("queued message canceled: the number is no longer subscribed", "to", phone.Mask(m.Phone), "message", m.ID)
	}
	return kept, nil
}

// optInReply reports whether a message is the automatic confirmation of an
// opt-in keyword (START/UNSTOP, JOIN, YES), which must not reach a number
// that said STOP after it was queued.
func optInReply(m *smsflow.Message) bool {
	if m.RunID != 0 {
		return false
	}
	switch m.StepID {
	case policy.AutoReplyStep(policy.KeywordStart), policy.AutoReplyStep(policy.KeywordJoin), policy.AutoReplyStep(policy.KeywordConfirm):
		return true
	}
	return false
}
