package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/smsflow/smsflow"
)

const runColumns = `id, flow_id, flow_version, contact_id, status, exit_reason, step, wake_at, holdout, variant, state, entered_at, updated_at, ended_at, goal_at, goal_value`

func scanRun(s scanner) (*smsflow.Run, error) {
	var (
		r                             smsflow.Run
		wake                          sql.NullInt64
		holdout                       int
		state                         string
		entered, updated, ended, goal int64
	)
	if err := s.Scan(&r.ID, &r.FlowID, &r.FlowVersion, &r.ContactID, &r.Status, &r.ExitReason, &r.Step, &wake, &holdout, &r.Variant, &state, &entered, &updated, &ended, &goal, &r.GoalValue); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(state), &r.State); err != nil {
		return nil, fmt.Errorf("run %d state: %w", r.ID, err)
	}
	r.Holdout = holdout != 0
	if wake.Valid {
		r.WakeAt = fromMicros(wake.Int64)
	}
	r.EnteredAt, r.UpdatedAt, r.EndedAt, r.GoalAt = fromMicros(entered), fromMicros(updated), fromMicros(ended), fromMicros(goal)
	return &r, nil
}

func wakeArg(t time.Time) sql.NullInt64 {
	return sql.NullInt64{Int64: micros(t), Valid: !t.IsZero()}
}

// InsertRun stores a new run and sets its ID (one statement; a batch
// reserves ids and writes many with InsertRuns).
func (t *Tx) InsertRun(r *smsflow.Run) error {
	if t.runIDs.taken > 0 {
		// Ids are being counted out in this transaction: take the next.
		id, err := t.ReserveRunID()
		if err != nil {
			return err
		}
		r.ID = id
		return t.InsertRuns([]*smsflow.Run{r})
	}
	err := t.queryRow(`INSERT INTO runs (flow_id, flow_version, contact_id, status, exit_reason, step, wake_at, holdout, variant, state, entered_at, updated_at, ended_at, goal_at, goal_value)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, runInsertArgs(r)[1:]...).Scan(&r.ID)
	if err != nil {
		return fmt.Errorf("insert run: %w", err)
	}
	return nil
}

// runInsertArgs are a run's columns for an insert, id first.
func runInsertArgs(r *smsflow.Run) []any {
	return []any{r.ID, r.FlowID, r.FlowVersion, r.ContactID, r.Status, r.ExitReason, r.Step, wakeArg(r.WakeAt), boolInt(r.Holdout), r.Variant,
		mustJSON(r.State), micros(r.EnteredAt), micros(r.UpdatedAt), micros(r.EndedAt), micros(r.GoalAt), r.GoalValue}
}

// UpdateRun writes a run's mutable fields (one statement; a batch writes
// many with UpdateRuns).
func (t *Tx) UpdateRun(r *smsflow.Run) error { return t.UpdateRuns([]*smsflow.Run{r}) }

// collectRuns scans every row of a runs query and closes the rows.
func collectRuns(rows *sql.Rows, err error) ([]*smsflow.Run, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*smsflow.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// OpenRuns returns a contact's runs that have not ended, oldest entry first
// (OpenRunsOf for one contact).
func (t *Tx) OpenRuns(contactID string) ([]*smsflow.Run, error) {
	all, err := t.openRunsOf([]string{contactID})
	return all[contactID], err
}

// RunByID returns a run, or nil (RunsByID for one run).
func (t *Tx) RunByID(id int64) (*smsflow.Run, error) {
	all, err := t.runsByID([]int64{id})
	return all[id], err
}

// LastEntry returns when the contact last entered the flow (any version,
// holdout included) and whether a run of it is still open (EntriesOf for
// one contact).
func (t *Tx) LastEntry(flowID, contactID string) (last time.Time, open bool, err error) {
	all, err := t.entriesOf([]string{contactID})
	e := all[contactID][flowID]
	return e.last, e.open, err
}

// DueRuns claims up to limit waiting runs whose timer is due at now, earliest
// first, with their contact. On PostgreSQL the rows stay locked for this
// transaction and other nodes skip them.
func (t *Tx) DueRuns(now time.Time, limit int) ([]DueRun, error) {
	rows, err := t.query(`SELECT id, contact_id FROM runs WHERE wake_at IS NOT NULL AND wake_at <= ? ORDER BY wake_at, id LIMIT ?`+t.db.dialect.SkipLocked(), micros(now), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DueRun
	for rows.Next() {
		var d DueRun
		if err := rows.Scan(&d.RunID, &d.ContactID); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DueRun names a run whose timer is due.
type DueRun struct {
	RunID     int64
	ContactID string
}

// RunsByContact returns a contact's runs, newest first (for the API).
func (db *DB) RunsByContact(ctx context.Context, contactID string, openOnly bool) ([]*smsflow.Run, error) {
	q := `SELECT ` + runColumns + ` FROM runs WHERE contact_id = ?`
	if openOnly {
		q += ` AND status IN ('active', 'waiting')`
	}
	return collectRuns(db.queryRead(ctx, q+` ORDER BY entered_at DESC, id DESC LIMIT 200`, contactID))
}

// CountRuns counts runs by status (for tests and benchmarks).
func (db *DB) CountRuns(ctx context.Context, status string) (int64, error) {
	var n int64
	q, args := `SELECT COUNT(*) FROM runs`, []any{}
	if status != "" {
		q, args = q+` WHERE status = ?`, append(args, status)
	}
	err := db.queryRowRead(ctx, q, args...).Scan(&n)
	return n, err
}

// RunsAwaitingGoal returns a contact's runs (open or ended) entered at or
// after since that have not converted yet.
func (t *Tx) RunsAwaitingGoal(contactID string, since time.Time) ([]*smsflow.Run, error) {
	return collectRuns(t.query(`SELECT `+runColumns+` FROM runs WHERE contact_id = ? AND goal_at = 0 AND entered_at >= ? ORDER BY entered_at, id`, contactID, micros(since)))
}

// DeleteRun removes a run that never entered (a pending segment entry whose
// contact no longer matches).
func (t *Tx) DeleteRun(id int64) error {
	_, err := t.exec(`DELETE FROM runs WHERE id = ?`, id)
	return err
}
