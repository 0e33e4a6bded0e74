package engine

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/smsflow/smsflow"
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
type Sender struct {
	db    *store.DB
	prov  provider.Provider
	clock smsflow.Clock
	log   *slog.Logger

	// OnEvents, if set, is called after outcomes that produced events (a
	// delivery receipt), to wake the engine.
	OnEvents func()

	wake      chan struct{}
	stop      chan struct{}
	done      chan struct{}
	startOnce sync.Once
	stopOnce  sync.Once
}

// NewSender returns a sender for one provider.
func NewSender(db *store.DB, prov provider.Provider, clock smsflow.Clock, log *slog.Logger) *Sender {
	return &Sender{db: db, prov: prov, clock: clock, log: log, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
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
	for {
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
		t := time.NewTimer(PollInterval)
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

// SendOnce sends one batch and returns how many messages it handled.
func (s *Sender) SendOnce(ctx context.Context, limit int) (int, error) {
	var claimed []*smsflow.Message
	err := s.db.WriteTx(ctx, func(tx *store.Tx) error {
		var err error
		if claimed, err = tx.ClaimOutbox(s.clock.Now(), limit); err != nil {
			return err
		}
		claimed, err = s.recheckConsent(tx, claimed)
		return err
	})
	if err != nil || len(claimed) == 0 {
		return 0, err
	}
	type outcome struct {
		m   *smsflow.Message
		res provider.Result
		err error
	}
	outs := make([]outcome, 0, len(claimed))
	for _, m := range claimed {
		if !m.SendBefore.IsZero() && s.clock.Now().After(m.SendBefore) {
			outs = append(outs, outcome{m: m, err: errExpired})
			continue
		}
		res, err := s.prov.Send(ctx, m)
		outs = append(outs, outcome{m: m, res: res, err: err})
	}
	events := false
	err = s.db.WriteTx(ctx, func(tx *store.Tx) error {
		now := s.clock.Now()
		events = false
		for _, o := range outs {
			status, code := o.res.Status, ""
			switch {
			case o.err == errExpired:
				status = smsflow.MessageCanceled
				code = "expired:send_before"
			case o.err != nil:
				status, code = smsflow.MessageFailed, o.err.Error()
				s.log.Warn("send failed", "to", o.m.Phone, "message", o.m.ID, "err", o.err)
			case status == "":
				status = smsflow.MessageSent
			}
			if err := tx.SetMessageStatus(o.m.ID, status, s.prov.Name(), o.res.ProviderID, code, now); err != nil {
				return err
			}
			var name string
			switch status {
			case smsflow.MessageDelivered:
				name = smsflow.EventMessageDelivered
			case smsflow.MessageFailed:
				name = smsflow.EventMessageFailed
			}
			if name != "" && o.m.RunID != 0 {
				ev := &smsflow.Event{MessageID: fmt.Sprintf("dlr-%d-%s", o.m.ID, status), Type: smsflow.EventTrack, Name: name, ContactID: o.m.ContactID,
					Properties: map[string]any{"message_id": o.m.ID, "flow": o.m.FlowID, "step": o.m.StepID, "run_id": o.m.RunID, "error_code": code},
					Timestamp:  now, ReceivedAt: now}
				inserted, err := tx.InsertEvent(ev)
				if err != nil {
					return err
				}
				if inserted {
					if err := tx.AddInbox(o.m.ContactID, ev.Seq); err != nil {
						return err
					}
					events = true
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if events && s.OnEvents != nil {
		s.OnEvents()
	}
	return len(outs), nil
}

var errExpired = fmt.Errorf("send_before passed")

// recheckConsent is the last look before the provider: a flow's message
// whose number was unsubscribed after it was queued (a STOP the engine has
// not applied yet) is canceled, never sent. Automatic replies (no run) pass:
// the STOP confirmation itself must go out.
func (s *Sender) recheckConsent(tx *store.Tx, claimed []*smsflow.Message) ([]*smsflow.Message, error) {
	var phones []string
	for _, m := range claimed {
		if m.RunID != 0 {
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
		if m.RunID == 0 || (st != smsflow.ConsentUnsubscribed && (!policy.Marketing(m.Category) || m.Category == "" || st == smsflow.ConsentSubscribed)) {
			kept = append(kept, m)
			continue
		}
		if err := tx.SetMessageStatus(m.ID, smsflow.MessageCanceled, "", "", "opt_out", now); err != nil {
			return nil, err
		}
		if err := tx.InsertDecision(&smsflow.Decision{RunID: m.RunID, StepID: m.StepID, FlowID: m.FlowID, ContactID: m.ContactID,
			Reason: smsflow.DecisionCanceledOptOut, Detail: "consent changed after the message was queued", At: now}); err != nil {
			return nil, err
		}
		s.log.Warn("queued message canceled: the number is no longer subscribed", "to", m.Phone, "message", m.ID)
	}
	return kept, nil
}
