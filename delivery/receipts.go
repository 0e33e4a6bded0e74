package delivery

import (
	"context"
	"fmt"
	"time"

	"github.com/smsflow/smsflow"
)

// PendingReceiptTTL is how long a receipt whose message has not recorded
// the provider's id yet is kept. The sender records ids within seconds; a
// receipt still waiting after this names a message a crash left unknown, or
// one that is not ours.
const PendingReceiptTTL = time.Hour

// deliveryRank orders the statuses a receipt may set: a receipt moves a
// message forward only (a late "sent" never undoes "delivered"; a failure
// never undoes a delivery), and a repeated receipt changes nothing.
func deliveryRank(status string) int {
	switch status {
	case smsflow.MessageSent:
		return 1
	case smsflow.MessageUndelivered, smsflow.MessageFailed:
		return 2
	case smsflow.MessageDelivered:
		return 3
	}
	return 0 // queued, sending, unknown: nothing reported yet
}

// Immediate is the status a provider's answer to a send already reports
// beyond "sent" (the console's delivered), "" when it reports nothing more:
// the sender records it with the round's sent messages (Tx.MarkSent) and
// emits its event with DeliveryEvent.
func Immediate(status string) string {
	if deliveryRank(status) > deliveryRank(smsflow.MessageSent) {
		return status
	}
	return ""
}

// RecordDelivery applies a delivery status to an outbound message — from a
// provider's receipt, or at once when the provider knows delivery when it
// answers (console) — and, for a message of a run, emits Message Delivered
// or Message Failed (undelivered and failed both) through DeliveryEvent so
// flows can wait on them. It is the one path every receipt takes. A status
// that would move the message backwards is ignored. emitted says an event
// was queued for the engine.
func RecordDelivery(tx WriteTx, m *smsflow.Message, status, errorCode string, at, now time.Time) (emitted bool, err error) {
	if m.Status == smsflow.MessageCanceled || m.Direction == "in" {
		return false, nil
	}
	if deliveryRank(status) <= deliveryRank(m.Status) {
		return false, nil
	}
	if err := tx.SetDeliveryStatus(m.ID, status, errorCode, now); err != nil {
		return false, fmt.Errorf("record delivery of message %d: %w", m.ID, err)
	}
	m.Status, m.UpdatedAt = status, now
	if errorCode != "" {
		m.ErrorCode = errorCode
	}
	return DeliveryEvent(tx, m, at, now)
}

// DeliveryEvent stores the event for the status m now has — Message
// Delivered, or Message Failed for undelivered and failed — once per message
// and status, when m belongs to a run, and queues it for the engine when a
// flow reacts to it (Tx.Queues). emitted says an event was queued.
func DeliveryEvent(tx WriteTx, m *smsflow.Message, at, now time.Time) (emitted bool, err error) {
	return deliveryEvent(tx, m, at, now, nil)
}

// deliveryEvent is DeliveryEvent; with history non-nil, an event no flow
// reacts to is appended there for the caller to write with the rest of its
// batch (Tx.InsertHistoryEvents) instead of at once.
func deliveryEvent(tx WriteTx, m *smsflow.Message, at, now time.Time, history *[]*smsflow.Event) (emitted bool, err error) {
	status := m.Status
	var name string
	switch status {
	case smsflow.MessageDelivered:
		name = smsflow.EventMessageDelivered
	case smsflow.MessageFailed, smsflow.MessageUndelivered:
		name = smsflow.EventMessageFailed
	}
	if name == "" || m.RunID == 0 {
		return false, nil
	}
	if at.IsZero() {
		at = now
	}
	ev := &smsflow.Event{MessageID: fmt.Sprintf("dlr-%d-%s", m.ID, status), Type: smsflow.EventTrack, Name: name, ContactID: m.ContactID,
		Properties: map[string]any{"message_id": m.ID, "flow": m.FlowID, "step": m.StepID, "run_id": m.RunID, "error_code": m.ErrorCode,
			"status": status, "provider": m.Provider},
		Timestamp: at, ReceivedAt: now}
	if !tx.Queues(name) {
		// No flow reacts to it: history only.
		if history != nil {
			*history = append(*history, ev)
			return false, nil
		}
		return false, tx.InsertHistoryEvent(ev)
	}
	inserted, err := tx.InsertEvent(ev)
	if err != nil || !inserted {
		return false, err
	}
	if err := tx.AddInbox(m.ContactID, ev.Seq); err != nil {
		return false, err
	}
	return true, nil
}

// ApplyPendingReceipts applies the receipts that arrived for m before its
// provider id was recorded. The sender calls it in the transaction that
// records the id.
func ApplyPendingReceipts(tx WriteTx, m *smsflow.Message, now time.Time) (emitted bool, err error) {
	pending, err := tx.TakePendingReceipts(m.Provider, m.ProviderID)
	if err != nil {
		return false, err
	}
	for _, r := range pending {
		e, err := RecordDelivery(tx, m, r.Status, r.ErrorCode, r.At, now)
		if err != nil {
			return false, err
		}
		emitted = emitted || e
	}
	return emitted, nil
}

// SweepPendingReceipts applies kept receipts whose message has recorded
// the provider id after all — the receipt and the sender's write ran at the
// same moment on PostgreSQL and neither saw the other, or another node sent
// the message — and drops those kept longer than PendingReceiptTTL. The
// sender runs it every PendingSweepInterval. emitted says events were
// queued for the engine.
func SweepPendingReceipts(ctx context.Context, db Store, now time.Time) (applied int, emitted bool, err error) {
	err = writeTx(ctx, db, func(tx WriteTx) error {
		applied, emitted = 0, false
		if _, err := tx.PrunePendingReceipts(now.Add(-PendingReceiptTTL)); err != nil {
			return err
		}
		matched, err := tx.MatchedPendingReceipts(100)
		if err != nil {
			return err
		}
		for _, r := range matched {
			m, err := tx.MessageByProviderID(r.Provider, r.ProviderID)
			if err != nil {
				return err
			}
			if m != nil {
				e, err := RecordDelivery(tx, m, r.Status, r.ErrorCode, r.At, now)
				if err != nil {
					return err
				}
				emitted = emitted || e
				applied++
			}
			if err := tx.DeletePendingReceipt(r.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return applied, emitted, err
}

// PendingSweepInterval is how often the sender looks for kept receipts
// whose message has recorded its id (SweepPendingReceipts).
const PendingSweepInterval = time.Second
