package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/smsflow/smsflow"
)

// SentRecord is one outbound message that frequency caps count.
type SentRecord struct {
	At       time.Time
	Category string
	FlowID   string
}

// countedStatuses are the statuses caps count (spec §6): queued, sending,
// sent or unknown — and delivered, which is a sent message that arrived.
const countedStatuses = `('queued', 'sending', 'sent', 'delivered', 'unknown')`

// RecentSends returns the contact's counted outbound messages created after
// since, oldest first. Call it under the contact's lock so the check and the
// reservation (the queued row) happen together.
func (t *Tx) RecentSends(contactID string, since time.Time) ([]SentRecord, error) {
	if t.cache != nil {
		if rc, ok := t.cache.recent[contactID]; ok && !since.Before(rc.since) {
			var out []SentRecord
			for _, r := range rc.rows {
				if r.At.After(since) {
					out = append(out, r)
				}
			}
			return out, nil
		}
	}
	recent, err := t.recentSendsOf([]string{contactID}, since)
	return recent[contactID], err
}

// CanceledMessage is a queued message an opt-out canceled.
type CanceledMessage struct {
	ID     int64
	RunID  int64
	StepID string
	FlowID string
}

// CancelContactQueued cancels every queued message a flow made for the
// contact (runs ended or not), leaving automatic replies (no run) alone: the
// STOP confirmation must still go out.
func (t *Tx) CancelContactQueued(contactID, code string, now time.Time) ([]CanceledMessage, error) {
	if t.cache != nil {
		delete(t.cache.recent, contactID)
		delete(t.cache.marketing, contactID)
	}
	rows, err := t.query(`SELECT id, run_id, step_id, flow_id FROM messages WHERE contact_id = ? AND status = 'queued' AND run_id IS NOT NULL`, contactID)
	if err != nil {
		return nil, err
	}
	var out []CanceledMessage
	for rows.Next() {
		var m CanceledMessage
		var step sql.NullString
		if err := rows.Scan(&m.ID, &m.RunID, &step, &m.FlowID); err != nil {
			rows.Close()
			return nil, err
		}
		m.StepID = step.String
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, m := range out {
		if _, err := t.exec(`UPDATE messages SET status = 'canceled', error_code = ?, updated_at = ? WHERE id = ? AND status = 'queued'`, code, micros(now), m.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
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

// HadMarketing reports whether the contact's phone has been sent (or has
// queued) a marketing message since its latest subscription: the compliance
// footer goes on the first marketing message of every subscription.
func (t *Tx) HadMarketing(contactID, phone string) (bool, error) {
	phones, err := oneOf(t.cached().marketing, contactID, false, t.marketingOf)
	return phones[phone], err
}
