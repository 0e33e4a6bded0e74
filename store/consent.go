package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

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

// The ledger's order is the order entries were recorded: their id, which
// both databases hand out increasing in insertion order (SQLite's rowid of
// an append-only table; PostgreSQL's identity sequence) and which appends
// to one number take in turn (AppendConsent locks the number). Not
// recorded_at: nodes' clocks differ, and a node whose clock runs ahead would
// outrank a later opt-out recorded by another. Claimed times (occurred_at)
// are evidence and display only. Every query that derives a status orders
// by id: LatestConsent, ConsentLedger, LatestConsents, contactsForUpdate.

// LatestConsent returns the number's ledger entry recorded last, or nil.
func (t *Tx) LatestConsent(phone string) (*smsflow.ConsentEntry, error) {
	e, err := scanConsent(t.queryRow(`SELECT `+consentColumns+` FROM consent_ledger WHERE phone = ? ORDER BY id DESC LIMIT 1`, phone))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return e, err
}

// AppendConsent appends an entry to the ledger: the one door every writer
// (API, import, Shopify, keywords, carrier opt-outs) goes through. It clamps
// a claimed time later than e.RecordedAt to it (ClampClaimedTime, saying so
// in the evidence), then checks the ledger's rule against the number's
// latest entry (smsflow.CheckConsentChange); a refused entry is recorded
// nowhere. Appends to one number are serialized: SQLite has one writer, and
// on PostgreSQL the number's contact row is locked until commit, so the
// latest entry read here is the one the new entry follows in id order.
func (t *Tx) AppendConsent(e *smsflow.ConsentEntry) error {
	if e.RecordedAt.IsZero() {
		return fmt.Errorf("append consent for %s: no recording time", e.ContactID)
	}
	if err := t.lockNumber(e.Phone); err != nil {
		return err
	}
	e.ClampClaimedTime()
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

// ConsentLedger returns a number's ledger in the order it was recorded and
// the status it implies.
func (db *DB) ConsentLedger(ctx context.Context, phone string) (smsflow.Consent, error) {
	out := smsflow.Consent{Status: smsflow.ConsentNone, Ledger: []smsflow.ConsentEntry{}}
	if phone == "" {
		return out, nil
	}
	rows, err := db.queryRead(ctx, `SELECT `+consentColumns+` FROM consent_ledger WHERE phone = ? ORDER BY id`, phone)
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
// (for its timeline), in the order they were recorded.
func (db *DB) ContactConsentEntries(ctx context.Context, contactID, phone string) ([]smsflow.ConsentEntry, error) {
	rows, err := db.queryRead(ctx, `SELECT `+consentColumns+` FROM consent_ledger WHERE contact_id = ? OR phone = ? ORDER BY id`, contactID, phone)
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

// ConsentRecordedAfter returns up to limit ledger entries with an id above
// afterID, in id order — the order they were appended. Simulate follows the
// ledger with it to print each consent change once. Ids are assigned at
// insert, so on PostgreSQL a transaction that commits late can leave a
// smaller id behind one already returned: only a reader whose writes are
// serialized (simulate's single process) sees every entry this way.
func (db *DB) ConsentRecordedAfter(ctx context.Context, afterID int64, limit int) ([]smsflow.ConsentEntry, error) {
	rows, err := db.queryRead(ctx, `SELECT `+consentColumns+` FROM consent_ledger WHERE id > ? ORDER BY id LIMIT ?`, afterID, limit)
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

// ContactConsent returns a number's current status from its ledger.
func (t *Tx) ContactConsent(phone string) (smsflow.ConsentStatus, error) {
	if phone == "" {
		return smsflow.ConsentNone, nil
	}
	e, err := t.LatestConsent(phone)
	if err != nil || e == nil {
		return smsflow.ConsentNone, err
	}
	return e.Status, nil
}

// LatestConsents returns the current ledger status of each number (that of
// its entry recorded last; numbers with no entry are absent), in one
// statement.
func (t *Tx) LatestConsents(phones []string) (map[string]smsflow.ConsentStatus, error) {
	if len(phones) == 0 {
		return map[string]smsflow.ConsentStatus{}, nil
	}
	q, args := latestConsents(phones)
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, err
	}
	return scanConsentStatuses(rows)
}

// LatestConsents is Tx.LatestConsents on the reader pool, outside any write
// transaction: the sender's look right before its provider calls, which
// must see every opt-out committed until then without waiting for the
// writer.
func (db *DB) LatestConsents(ctx context.Context, phones []string) (map[string]smsflow.ConsentStatus, error) {
	if len(phones) == 0 {
		return map[string]smsflow.ConsentStatus{}, nil
	}
	q, args := latestConsents(phones)
	rows, err := db.queryReadCached(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("latest consents: %w", err)
	}
	return scanConsentStatuses(rows)
}

// latestConsents is the one query both LatestConsents run: each number's
// newest ledger entry.
func latestConsents(phones []string) (string, []any) {
	args := make([]any, len(phones))
	for i, p := range phones {
		args[i] = p
	}
	in, args := inList(args)
	return `SELECT c.phone, c.status FROM consent_ledger c WHERE c.phone IN (` + in + `)
AND c.id = (SELECT MAX(c2.id) FROM consent_ledger c2 WHERE c2.phone = c.phone)`, args
}

func scanConsentStatuses(rows *sql.Rows) (map[string]smsflow.ConsentStatus, error) {
	defer rows.Close()
	out := map[string]smsflow.ConsentStatus{}
	for rows.Next() {
		var phone, status string
		if err := rows.Scan(&phone, &status); err != nil {
			return nil, err
		}
		out[phone] = smsflow.ConsentStatus(status)
	}
	return out, rows.Err()
}

// OptOutsSince returns, for each of phones, the instants at which opt-outs
// of it were recorded at or after since (numbers with none are absent): the
// sender asks after its calls whether a STOP was committed while a call to
// the number was in flight.
func (db *DB) OptOutsSince(ctx context.Context, phones []string, since time.Time) (map[string][]time.Time, error) {
	out := map[string][]time.Time{}
	if len(phones) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(phones)+1)
	for _, p := range phones {
		args = append(args, p)
	}
	in, args := inList(args)
	args = append(args, micros(since))
	rows, err := db.queryReadCached(ctx, `SELECT phone, recorded_at FROM consent_ledger WHERE phone IN (`+in+`)
AND status = 'unsubscribed' AND recorded_at >= ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("opt-outs since %s: %w", since.Format(time.RFC3339Nano), err)
	}
	defer rows.Close()
	for rows.Next() {
		var phone string
		var at int64
		if err := rows.Scan(&phone, &at); err != nil {
			return nil, err
		}
		out[phone] = append(out[phone], fromMicros(at))
	}
	return out, rows.Err()
}
