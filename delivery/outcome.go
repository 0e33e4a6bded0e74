package delivery

import (
	"errors"
	"fmt"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/store"
)

// outcome is what became of one claimed message.
type outcome struct {
	m           *smsflow.Message
	res         provider.Result
	err         error
	release     bool // not tried: the provider was throttling
	interrupted bool // not tried: Stop ended the wait for its slot
	taken       bool // not tried: another node took the claim back (stale heartbeat)
	pending     bool // a receipt for its provider id arrived before the id was recorded
	// checked is when the consent that let the call start was read;
	// started and ended bound the provider call (zero when not made).
	checked, started, ended time.Time
}

// accepted reports whether the provider took the message (it was tried and
// not refused).
func (o *outcome) accepted() bool { return o.err == nil && !o.release && !o.interrupted && !o.taken }

// record writes one outcome: the message's status (sent, delivered, failed,
// unknown or back in the outbox), the decision for a failed send of a run,
// and what a refusal taught about the number. until is when a transiently
// refused message may be tried again (zero otherwise). The receipt events
// no flow reacts to are appended to history, which the round writes
// set-based after its outcomes.
func (s *Sender) record(tx WriteTx, o *outcome, history *[]*smsflow.Event, now time.Time) (emitted bool, until time.Time, err error) {
	m, name := o.m, s.prov.Name()
	switch {
	case o.release, o.interrupted, o.taken:
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
			if emitted, err = deliveryEvent(tx, m, now, now, history); err != nil {
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
	emitted, err = deliveryEvent(tx, m, now, now, history)
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

var errExpired = fmt.Errorf("send_before passed")

// cancelClaimed records that a claimed message will not go: canceled with
// code and, for a flow's message, the decision saying why (reason "" records
// none).
func cancelClaimed(tx WriteTx, m *smsflow.Message, code, reason, detail string, now time.Time) error {
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
