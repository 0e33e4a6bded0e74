package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/smsflow/smsflow"
)

const consentColumns = `id, phone, contact_id, status, source, evidence, message_id, occurred_at, recorded_at`

func scanConsent(s scanner) (*smsflow.ConsentEntry, error) {
	var (
		e                  smsflow.ConsentEntry
		evidence           string
		occurred, recorded int64
	)
	if err := s.Scan(&e.ID, &e.Phone, &e.ContactID, &e.Status, &e.Source, &evidence, &e.MessageID, &occurred, &recorded); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(evidence), &e.Evidence); err != nil {
		return nil, fmt.Errorf("consent %d evidence: %w", e.ID, err)
	}
	e.OccurredAt, e.RecordedAt = fromMicros(occurred), fromMicros(recorded)
	return &e, nil
}

// LatestConsent returns the newest ledger entry of a number, or nil.
func (t *Tx) LatestConsent(phone string) (*smsflow.ConsentEntry, error) {
	e, err := scanConsent(t.queryRow(`SELECT `+consentColumns+` FROM consent_ledger WHERE phone = ? ORDER BY occurred_at DESC, id DESC LIMIT 1`, phone))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return e, err
}

// AppendConsent appends an entry to the ledger after checking the ledger's
// rule against the number's latest entry (smsflow.CheckConsentChange). A
// refused entry is recorded nowhere. The write transaction serializes appends
// to one number (SQLite has one writer; on PostgreSQL the caller holds the
// contact's lock).
func (t *Tx) AppendConsent(e *smsflow.ConsentEntry) error {
	if t.cache != nil {
		t.cache.contacts, t.cache.marketing = nil, nil // prefetched consent may be stale now
	}
	latest, err := t.LatestConsent(e.Phone)
	if err != nil {
		return err
	}
	if err := smsflow.CheckConsentChange(latest, *e); err != nil {
		return err
	}
	ev := e.Evidence
	if ev == nil {
		ev = map[string]any{}
	}
	err = t.queryRow(`INSERT INTO consent_ledger (phone, contact_id, status, source, evidence, message_id, occurred_at, recorded_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		e.Phone, e.ContactID, string(e.Status), string(e.Source), mustJSON(ev), e.MessageID, micros(e.OccurredAt), micros(e.RecordedAt)).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("append consent for %s: %w", e.ContactID, err)
	}
	if e.Status == smsflow.ConsentUnsubscribed {
		t.optedOut = append(t.optedOut, e.Phone)
	}
	return nil
}

// ConsentLedger returns a number's ledger, oldest first, and the status it
// implies.
func (db *DB) ConsentLedger(ctx context.Context, phone string) (smsflow.Consent, error) {
	out := smsflow.Consent{Status: smsflow.ConsentNone, Ledger: []smsflow.ConsentEntry{}}
	if phone == "" {
		return out, nil
	}
	rows, err := db.queryRead(ctx, `SELECT `+consentColumns+` FROM consent_ledger WHERE phone = ? ORDER BY occurred_at, id`, phone)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanConsent(rows)
		if err != nil {
			return out, err
		}
		out.Ledger = append(out.Ledger, *e)
	}
	out.Status = smsflow.DeriveConsent(out.Ledger)
	return out, rows.Err()
}

// ContactConsentEntries returns the ledger entries recorded against a contact
// (for its timeline), oldest first.
func (db *DB) ContactConsentEntries(ctx context.Context, contactID, phone string) ([]smsflow.ConsentEntry, error) {
	rows, err := db.queryRead(ctx, `SELECT `+consentColumns+` FROM consent_ledger WHERE contact_id = ? OR phone = ? ORDER BY occurred_at, id`, contactID, phone)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []smsflow.ConsentEntry
	for rows.Next() {
		e, err := scanConsent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
	}
	return out, rows.Err()
}
