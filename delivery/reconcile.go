package delivery

import (
	"context"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/store"
)

// DefaultReconcileAfter is how long an interrupted message the provider
// has no record of waits (for the provider's list to catch up, or for a
// status callback) before it is queued again (config twilio.reconcile_after).
const DefaultReconcileAfter = 10 * time.Minute

// ReconcileInterval is how often a sender looks at the messages a crash
// left "unknown" (ReconcileUnknown).
const ReconcileInterval = 5 * time.Second

// ReconcileLookBack is how far before an interrupted call the provider's
// records are read: the provider's creation time and ours differ by the
// clocks' skew and the call's own time.
const ReconcileLookBack = 5 * time.Minute

// reconcileBatch bounds the interrupted messages one pass handles, and
// reconcilePasses the passes one ReconcileUnknown call runs while each
// pass was full and settled some: a crash that left hundreds unknown is
// worked off at once, not reconcileBatch per ReconcileInterval.
const (
	reconcileBatch  = 50
	reconcilePasses = 20
)

// Unknown-message error codes that reconciliation writes.
const (
	codeUnreconciled = store.Unreconciled        // the provider's records cannot tell: left for an operator
	codeNotReceived  = "reconciled:not_received" // queued again: the provider never received it
	codeResent       = "interrupted:resent"      // queued again: the provider dedupes or the operator chose to resend
)

// ReconcileUnknown settles the messages a crash left "unknown": with a
// Reconciler, a message the provider holds exactly once is recorded with
// its id; one it has no record of after ReconcileAfter is queued again
// while its send_before allows (canceled when it no longer does); two
// candidates or an unclear record leave it unknown (unreconciled). Without
// one, ResendInterrupted queues every interrupted message again; otherwise
// they stay unknown for an operator (POST /v1/messages/resend, give-up).
// Passes of at most reconcileBatch messages, oldest first, until one is
// not full or settles none (at most reconcilePasses); the send loop runs it
// every ReconcileInterval.
func (s *Sender) ReconcileUnknown(ctx context.Context) {
	if s.Reconciler == nil && !s.ResendInterrupted {
		return
	}
	for range reconcilePasses {
		listed, settled := s.reconcilePass(ctx)
		if listed < reconcileBatch || settled == 0 {
			return
		}
	}
}

// reconcilePass is one pass of ReconcileUnknown: it returns how many
// messages it listed and how many of them it settled (found, left for an
// operator, queued again or canceled).
func (s *Sender) reconcilePass(ctx context.Context) (listed, settled int) {
	list, err := s.db.InterruptedMessages(ctx, s.prov.Name(), reconcileBatch)
	if err != nil {
		s.log.Error("list the messages a crash left unknown", "err", err)
		return 0, 0
	}
	requeued := false
	defer func() {
		if requeued {
			s.Notify()
		}
	}()
	for _, it := range list {
		m := it.Message
		called := it.CalledAt
		if called.IsZero() {
			called = m.UpdatedAt
		}
		var found []provider.Result
		unclear := false
		if s.Reconciler != nil {
			res, err := s.Reconciler.Reconcile(ctx, m, called.Add(-ReconcileLookBack))
			if err != nil {
				s.log.Warn("ask the provider about a message whose call was interrupted; asking again later", "message", m.ID, "err", err)
				return len(list), 0 // the provider cannot be asked now: no more passes
			}
			found, unclear = res.Candidates, res.Unclear
		}
		now := s.clock.Now()
		err := writeTx(ctx, s.db, func(tx WriteTx) error {
			// One to one: a provider message recorded for another of ours
			// is not this one.
			var mine []provider.Result
			for _, c := range found {
				other, err := tx.MessageByProviderID(s.prov.Name(), c.ProviderID)
				if err != nil {
					return err
				}
				if other == nil || other.ID == m.ID {
					mine = append(mine, c)
				}
			}
			switch {
			case len(mine) == 1 && !unclear:
				settled++
				return s.settleFound(tx, m, mine[0], now)
			case len(mine) > 1 || unclear:
				settled++
				s.log.Warn("the provider's records cannot tell whether an interrupted message was received; left unknown", "message", m.ID, "to", phone.Mask(m.Phone), "candidates", len(mine), "unclear", unclear)
				return tx.SetMessageStatus(m.ID, smsflow.MessageUnknown, "", "", codeUnreconciled, now)
			case s.Reconciler != nil && now.Sub(called) < s.reconcileAfter():
				return nil // not (yet) in the provider's records: asked again later
			}
			settled++
			code := codeNotReceived
			if s.Reconciler == nil {
				code = codeResent
			}
			ok, err := tx.RequeueUnknown(m.ID, code, now)
			if err != nil || !ok {
				return err
			}
			if !m.SendBefore.IsZero() && !now.Before(m.SendBefore) {
				return cancelClaimed(tx, m, "expired:send_before", smsflow.DecisionExpired,
					"send_before "+m.SendBefore.UTC().Format(time.RFC3339)+" passed before the interrupted message could be sent again", now)
			}
			requeued = true
			s.log.Warn("an interrupted message is queued again: the provider never received it", "message", m.ID, "to", phone.Mask(m.Phone), "code", code)
			return nil
		})
		if err != nil {
			s.log.Error("record the reconciliation of an interrupted message", "message", m.ID, "err", err)
			return len(list), 0
		}
	}
	return len(list), settled
}

// settleFound records an interrupted message the provider holds as sent
// with its provider id, then what the provider's status and the receipts
// kept for that id say.
func (s *Sender) settleFound(tx WriteTx, m *smsflow.Message, c provider.Result, now time.Time) error {
	ok, err := tx.SettleUnknown(m.ID, s.prov.Name(), c.ProviderID, smsflow.MessageSent, now)
	if err != nil || !ok {
		return err
	}
	m.Provider, m.ProviderID, m.Status, m.ErrorCode = s.prov.Name(), c.ProviderID, smsflow.MessageSent, ""
	s.log.Warn("an interrupted message was found at the provider; recorded as sent", "message", m.ID, "to", phone.Mask(m.Phone), "provider_id", c.ProviderID)
	if c.Status != "" && c.Status != smsflow.MessageSent {
		if _, err := RecordDelivery(tx, m, c.Status, "", now, now); err != nil {
			return err
		}
	}
	_, err = ApplyPendingReceipts(tx, m, now)
	return err
}

func (s *Sender) reconcileAfter() time.Duration {
	if s.ReconcileAfter > 0 {
		return s.ReconcileAfter
	}
	return DefaultReconcileAfter
}
