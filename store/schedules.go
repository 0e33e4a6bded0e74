package store

import (
	"context"
	"database/sql"
	"time"
)

// ScheduledEntry is one contact's entry into a local segment or date flow
// at a moment a scan found (its wall-clock time in the contact's zone). It
// is not a run: the entry rules are checked when the moment comes.
type ScheduledEntry struct {
	FlowID    string
	Job       string // the scan's unsharded key, like "daily:2026-04-01"
	ContactID string
	// FlowVersion is the version the scan used; the entry itself uses the
	// flow's version current at its moment.
	FlowVersion int
	At          time.Time
}

// ScheduleEntries stores entries in as few statements as possible; an entry
// its scan already scheduled (same flow, job and contact) is kept as it is.
func (t *Tx) ScheduleEntries(entries []ScheduledEntry) error {
	if len(entries) == 0 {
		return nil
	}
	rows := make([][]any, len(entries))
	for i, e := range entries {
		rows[i] = []any{e.FlowID, e.Job, e.ContactID, e.FlowVersion, micros(e.At)}
	}
	return t.execRows(`INSERT INTO scheduled_entries (flow_id, job_key, contact_id, flow_version, due_at) VALUES `, `(?, ?, ?, ?, ?)`, ` ON CONFLICT DO NOTHING`, rows)
}

// TakeDueEntries claims and deletes up to limit entries whose moment has
// come at now, earliest first. On PostgreSQL the rows are locked before
// they are deleted, and other nodes skip them, so each entry is taken by one
// transaction only; if this one rolls back, they are due again.
func (t *Tx) TakeDueEntries(now time.Time, limit int) ([]ScheduledEntry, error) {
	rows, err := t.query(`SELECT flow_id, job_key, contact_id, flow_version, due_at FROM scheduled_entries WHERE due_at <= ? ORDER BY due_at, flow_id, contact_id LIMIT ?`+t.db.dialect.SkipLocked(), micros(now), limit)
	if err != nil {
		return nil, err
	}
	var out []ScheduledEntry
	for rows.Next() {
		var e ScheduledEntry
		var due int64
		if err := rows.Scan(&e.FlowID, &e.Job, &e.ContactID, &e.FlowVersion, &due); err != nil {
			rows.Close()
			return nil, err
		}
		e.At = fromMicros(due)
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return nil, err
	}
	keys := make([][]any, len(out))
	for i, e := range out {
		keys[i] = []any{e.FlowID, e.Job, e.ContactID}
	}
	return out, t.execRows(`DELETE FROM scheduled_entries WHERE (flow_id, job_key, contact_id) IN (VALUES `, `(?, ?, ?)`, `)`, keys)
}

// CountScheduledEntries counts the entries waiting for their moment (for
// tests and benchmarks).
func (db *DB) CountScheduledEntries(ctx context.Context) (int64, error) {
	var n int64
	err := db.queryRowRead(ctx, `SELECT COUNT(*) FROM scheduled_entries`).Scan(&n)
	return n, err
}

// DateSkips returns, for those of the contacts that have one, the note of
// the date decision last recorded for them in a date flow (SetDateSkip).
func (t *Tx) DateSkips(flowID string, contactIDs []string) (map[string]string, error) {
	out := map[string]string{}
	return out, t.eachRow(`SELECT contact_id, note FROM date_skips WHERE contact_id IN (%s) AND flow_id = ?`, anyArgs(contactIDs), []any{flowID}, func(rows *sql.Rows) error {
		var id, note string
		if err := rows.Scan(&id, &note); err != nil {
			return err
		}
		out[id] = note
		return nil
	})
}

// SetDateSkip remembers the note of the date decision just recorded for a
// contact of a date flow, or forgets it (note ""), so a daily scan records a
// missing or invalid date once, and again only when it changes.
func (t *Tx) SetDateSkip(flowID, contactID, note string) error {
	if note == "" {
		_, err := t.exec(`DELETE FROM date_skips WHERE flow_id = ? AND contact_id = ?`, flowID, contactID)
		return err
	}
	_, err := t.exec(`INSERT INTO date_skips (flow_id, contact_id, note) VALUES (?, ?, ?)
ON CONFLICT (flow_id, contact_id) DO UPDATE SET note = excluded.note`, flowID, contactID, note)
	return err
}
