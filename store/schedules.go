package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// SetInactivityTimer (re)arms a contact's inactivity deadline for a flow:
// each new qualifying event pushes it back.
func (t *Tx) SetInactivityTimer(flowID, contactID string, due time.Time, eventSeq int64) error {
	_, err := t.exec(`INSERT INTO inactivity_timers (flow_id, contact_id, due_at, event_seq) VALUES (?, ?, ?, ?)
ON CONFLICT (flow_id, contact_id) DO UPDATE SET due_at = excluded.due_at, event_seq = excluded.event_seq
WHERE excluded.due_at > inactivity_timers.due_at`, flowID, contactID, micros(due), eventSeq)
	return err
}

// InactivityTimer is one due inactivity deadline.
type InactivityTimer struct {
	FlowID, ContactID string
	DueAt             time.Time
	EventSeq          int64
}

// DueInactivity returns up to limit deadlines due at now.
func (t *Tx) DueInactivity(now time.Time, limit int) ([]InactivityTimer, error) {
	rows, err := t.query(`SELECT flow_id, contact_id, due_at, event_seq FROM inactivity_timers WHERE due_at <= ? ORDER BY due_at, contact_id LIMIT ?`+t.db.dialect.SkipLocked(), micros(now), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []InactivityTimer
	for rows.Next() {
		var it InactivityTimer
		var due int64
		if err := rows.Scan(&it.FlowID, &it.ContactID, &due, &it.EventSeq); err != nil {
			return nil, err
		}
		it.DueAt = fromMicros(due)
		out = append(out, it)
	}
	return out, rows.Err()
}

// TakeInactivity deletes a deadline if it is still the one given (not
// pushed back meanwhile) and reports whether it did.
func (t *Tx) TakeInactivity(it InactivityTimer) (bool, error) {
	res, err := t.exec(`DELETE FROM inactivity_timers WHERE flow_id = ? AND contact_id = ? AND due_at = ?`, it.FlowID, it.ContactID, micros(it.DueAt))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SegmentJob is one scheduled scan for a segment trigger.
type SegmentJob struct {
	FlowID, Key string
	Version     int
	DueAt       time.Time
	Cursor      string
	Status      string
	Entered     int64
	// Base is the unsharded key of a shard's job ("" or Key: not a shard).
	// A shard is not created where a job with the base key exists (made
	// before segments were sharded), so no segment is scanned twice.
	Base string
}

// EnsureSegmentJob creates a job unless one with the key exists. A job of
// an older flow version that has not started scanning is moved to this
// version and due time (a flow edited after tomorrow's scan was made scans
// with the edit); a started or finished one is left alone.
func (db *DB) EnsureSegmentJob(ctx context.Context, j SegmentJob) error {
	base := j.Base
	if base == "" {
		base = j.Key
	}
	return db.WriteTx(ctx, func(t *Tx) error {
		_, err := t.exec(`INSERT INTO segment_jobs (flow_id, job_key, flow_version, due_at)
SELECT ?, ?, CAST(? AS BIGINT), CAST(? AS BIGINT) WHERE ? = ? OR NOT EXISTS (SELECT 1 FROM segment_jobs WHERE flow_id = ? AND job_key = ?)
ON CONFLICT (flow_id, job_key) DO UPDATE SET flow_version = excluded.flow_version, due_at = excluded.due_at
WHERE segment_jobs.status = 'pending' AND segment_jobs.cursor = '' AND segment_jobs.flow_version < excluded.flow_version`,
			j.FlowID, j.Key, j.Version, micros(j.DueAt), base, j.Key, j.FlowID, base)
		return err
	})
}

// DueSegmentJob claims the earliest pending job due at now, or nil.
func (t *Tx) DueSegmentJob(now time.Time) (*SegmentJob, error) {
	var j SegmentJob
	var due int64
	err := t.queryRow(`SELECT flow_id, job_key, flow_version, due_at, cursor, status, entered FROM segment_jobs WHERE status = 'pending' AND due_at <= ? ORDER BY due_at LIMIT 1`+t.db.dialect.SkipLocked(), micros(now)).
		Scan(&j.FlowID, &j.Key, &j.Version, &due, &j.Cursor, &j.Status, &j.Entered)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	j.DueAt = fromMicros(due)
	return &j, err
}

// UpdateSegmentJob stores a job's progress.
func (t *Tx) UpdateSegmentJob(j *SegmentJob) error {
	_, err := t.exec(`UPDATE segment_jobs SET cursor = ?, status = ?, entered = ? WHERE flow_id = ? AND job_key = ?`, j.Cursor, j.Status, j.Entered, j.FlowID, j.Key)
	return err
}

// ContactIDsAfter returns up to limit contact ids after cursor, in order.
func (t *Tx) ContactIDsAfter(cursor string, limit int) ([]string, error) {
	rows, err := t.query(`SELECT id FROM contacts WHERE id > ? ORDER BY id LIMIT ?`, cursor, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

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
