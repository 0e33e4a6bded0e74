package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// ConsentChange is a request to append to a number's consent ledger.
type ConsentChange struct {
	Status    smsflow.ConsentStatus `json:"status"`
	Source    smsflow.ConsentSource `json:"source"`
	Evidence  map[string]any        `json:"evidence"`
	Timestamp time.Time             `json:"timestamp"`
	MessageID string                `json:"message_id"`
}

// Validate checks a change's fields, naming the one that is wrong, and
// cleans the strings of its evidence (smsflow.CleanJSON).
func (c ConsentChange) Validate() error {
	if err := smsflow.CheckID("message_id", c.MessageID, smsflow.MaxIDLength); err != nil {
		return err
	}
	smsflow.CleanJSON(c.Evidence)
	switch c.Status {
	case smsflow.ConsentSubscribed, smsflow.ConsentUnsubscribed, smsflow.ConsentPending:
	case "":
		return smsflow.FieldErrorf(smsflow.EINVALID, "status", `status is required: "subscribed" or "unsubscribed"`)
	default:
		return smsflow.FieldErrorf(smsflow.EINVALID, "status", `status %q is not one of "subscribed", "unsubscribed", "pending"`, c.Status)
	}
	if c.Source == "" {
		return smsflow.FieldErrorf(smsflow.EINVALID, "source", "source is required: one of %v", smsflow.ConsentSources)
	}
	if !smsflow.ValidConsentSource(c.Source) {
		return smsflow.FieldErrorf(smsflow.EINVALID, "source", "source %q is not one of %v", c.Source, smsflow.ConsentSources)
	}
	return nil
}

// RecordConsent appends a consent change for a contact's number. The ledger
// is keyed by the number, so the contact must have one. A change the ledger's
// rule refuses (resubscribing a number that said STOP, without fresh
// evidence) returns an ECONFLICT error and records nothing.
func RecordConsent(ctx context.Context, db *store.DB, clock smsflow.Clock, contactID string, ch ConsentChange) (*smsflow.ConsentEntry, error) {
	if err := ch.Validate(); err != nil {
		return nil, err
	}
	now := clock.Now()
	if ch.Timestamp.IsZero() {
		ch.Timestamp = now
	}
	if ch.Timestamp.After(now.Add(5 * time.Minute)) {
		return nil, smsflow.FieldErrorf(smsflow.EINVALID, "timestamp", "timestamp %s is in the future", ch.Timestamp.Format(time.RFC3339))
	}
	var entry *smsflow.ConsentEntry
	err := db.WriteTx(ctx, func(tx *store.Tx) error {
		c, err := tx.ContactByID(contactID)
		if err != nil {
			return err
		}
		if c == nil {
			if to, err := tx.AliasContact(contactID); err != nil {
				return err
			} else if to != "" {
				if c, err = tx.ContactByID(to); err != nil {
					return err
				}
			}
		}
		if c == nil {
			return smsflow.Errorf(smsflow.ENOTFOUND, "no contact with id %q", contactID)
		}
		if c.Phone == "" {
			return smsflow.Errorf(smsflow.ECONFLICT, "contact %q has no phone number; consent belongs to a number — identify the contact with traits.phone first", contactID)
		}
		entry = &smsflow.ConsentEntry{
			Phone: c.Phone, ContactID: c.ID, Status: ch.Status, Source: ch.Source,
			Evidence: ch.Evidence, MessageID: ch.MessageID, OccurredAt: ch.Timestamp.UTC(), RecordedAt: now,
		}
		before, err := tx.ContactConsent(c.Phone)
		if err != nil {
			return err
		}
		if err := tx.AppendConsent(entry); err != nil {
			return err
		}
		return ConsentEvent(tx, entry, before, true)
	})
	if err != nil {
		return nil, err
	}
	return entry, nil
}

// ConsentEvent records the built-in Subscribed / Unsubscribed event when a
// ledger entry changes a number's status, so flows can trigger on it
// (`consent: subscribed`, `event: Unsubscribed`). trigger=false stores it as
// history only.
func ConsentEvent(tx *store.Tx, e *smsflow.ConsentEntry, before smsflow.ConsentStatus, trigger bool) error {
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
	ev := &smsflow.Event{MessageID: fmt.Sprintf("consent-%d", e.ID), Type: smsflow.EventConsent, Name: name, ContactID: e.ContactID,
		Properties: map[string]any{"source": string(e.Source), "previous": string(before)}, Timestamp: e.OccurredAt, ReceivedAt: e.RecordedAt}
	inserted, err := tx.InsertEvent(ev)
	if err != nil || !inserted || !trigger {
		return err
	}
	return tx.AddInbox(e.ContactID, ev.Seq)
}
