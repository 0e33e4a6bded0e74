package store

import (
	"fmt"

	"github.com/smsflow/smsflow"
)

// ConsentEvent records the built-in Subscribed / Unsubscribed event when a
// ledger entry changes a number's status, so flows can trigger on it
// (`consent: subscribed`, `event: Unsubscribed`). trigger=false stores it as
// history only. Every writer of the ledger calls it after AppendConsent:
// ingestion (API, imports, Shopify, keywords) and the sender (a carrier
// opt-out), which is why it lives here and not with either. It takes
// ConsentEventTx rather than *Tx so that those callers can hand it the narrow
// transaction interface they declare (D85).
func ConsentEvent(tx ConsentEventTx, e *smsflow.ConsentEntry, before smsflow.ConsentStatus, trigger bool) error {
	after, err := tx.ContactConsent(e.Phone)
	if err != nil || after == before {
		return err
	}
	var name string
	switch after {
	case smsflow.ConsentSubscribed:
		name = smsflow.EventSubscribed
	case smsflow.ConsentUnsubscribed:
		name = smsflow.EventUnsubscribed
	default:
		return nil
	}
	props := map[string]any{"source": string(e.Source), "previous": string(before)}
	if optIn, ok := e.Evidence["opt_in"].(map[string]any); ok && e.Source == smsflow.SourceDoubleOptIn {
		// A flow that tells web-form subscribers from checkout ones still
		// can once they confirm: the source of the opt-in Y confirmed.
		props["opt_in_source"] = optIn["source"]
	}
	ev := &smsflow.Event{MessageID: fmt.Sprintf("consent-%d", e.ID), Type: smsflow.EventConsent, Name: name, ContactID: e.ContactID,
		Properties: props, Timestamp: e.OccurredAt, ReceivedAt: e.RecordedAt}
	inserted, err := tx.InsertEvent(ev)
	if err != nil || !inserted || !trigger {
		return err
	}
	return tx.AddInbox(e.ContactID, ev.Seq)
}

// ConsentEventTx is what ConsentEvent does in a transaction: read the
// number's status after the entry, store the event, queue it for the engine.
// *Tx implements it.
type ConsentEventTx interface {
	ContactConsent(phone string) (smsflow.ConsentStatus, error)
	InsertEvent(e *smsflow.Event) (bool, error)
	AddInbox(contactID string, eventSeq int64) error
}

var _ ConsentEventTx = (*Tx)(nil)
