package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// InsertRun stores a new run and sets its ID. On PostgreSQL the row is
// buffered (batch.go) with an id taken from the table's sequence, and a
// later UpdateRun of it in the same transaction rewrites the buffered row.
func (t *Tx) InsertRun(r *smsflow.Run) error {
	t.cache.dropRuns(r.ContactID)
	if t.db.dialect.RoundTrips() {
		id, err := t.nextID(&t.runIDs, "runs", "id")
		if err != nil {
			return fmt.Errorf("insert run: %w", err)
		}
		r.ID = id
		if t.runInserts == nil {
			t.runInserts = map[int64]int{}
		}
		if t.msgSteps == nil {
			t.msgSteps = map[int64]map[string]bool{}
		}
		t.msgSteps[id] = map[string]bool{} // a new run has no message yet
		t.runInserts[id] = len(t.runInsertRows)
		t.runInsertRows = append(t.runInsertRows, runInsertArgs(r))
		return nil
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

// idBlock is ids a transaction reserved from a sequence and has not used.
type idBlock struct {
	ids   []int64
	taken int // how many were reserved in this transaction
}

// nextID takes an id from b, reserving more from the sequence of table's
// column (16, then twice as many each time, up to 512) in one query when
// none is left. Unused ids are gaps, as after any rolled-back insert.
func (t *Tx) nextID(b *idBlock, table, column string) (int64, error) {
	if len(b.ids) == 0 {
		n := min(max(16, 2*b.taken), 512)
		// The sequence is looked up once (OFFSET 0 keeps the subquery from
		// being folded into the projection): per row, the lookup cost ten
		// times the nextval (2.8 µs against 0.3 µs an id).
		rows, err := t.query(`SELECT nextval(s.seq) FROM (SELECT pg_get_serial_sequence('`+table+`', '`+column+`')::regclass AS seq OFFSET 0) s, generate_series(1, ?)`, n)
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return 0, err
			}
			b.ids = append(b.ids, id)
		}
		if err := rows.Err(); err != nil {
			return 0, err
		}
		b.taken += len(b.ids)
		if len(b.ids) == 0 {
			return 0, fmt.Errorf("the %s sequence returned no id", table)
		}
	}
	id := b.ids[0]
	b.ids = b.ids[1:]
	return id, nil
}

// UpdateRun writes a run's mutable fields. The write is buffered (batch.go):
// it reaches the database before the transaction next reads runs, and
// before commit.
func (t *Tx) UpdateRun(r *smsflow.Run) error {
	if t.cache != nil {
		t.cache.dropRuns(r.ContactID)
		delete(t.cache.runs, r.ID)
	}
	if i, ok := t.runInserts[r.ID]; ok {
		t.runInsertRows[i] = runInsertArgs(r) // not written yet: write it as it is now
		return nil
	}
	if t.runUpdates == nil {
		t.runUpdates = map[int64][]any{}
	}
	if _, ok := t.runUpdates[r.ID]; !ok {
		t.runOrder = append(t.runOrder, r.ID)
	}
	t.runUpdates[r.ID] = runUpdateArgs(r)
	return nil
}

// runs reads runs, after writing the buffered updates.
func (t *Tx) runs(query string, args ...any) ([]*smsflow.Run, error) {
	if err := t.flushRuns(); err != nil {
		return nil, err
	}
	return collectRuns(t.query(query, args...))
}

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

func (t *Tx) query(query string, args ...any) (*sql.Rows, error) {
	if err := t.before(query); err != nil {
		return nil, err
	}
	s, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(t.ctx, args...)
}

// OpenRuns returns a contact's runs that have not ended, oldest entry first.
func (t *Tx) OpenRuns(contactID string) ([]*smsflow.Run, error) {
	return oneOf(t.cached().openRuns, contactID, true, t.openRunsOf)
}

// RunByID returns a run, or nil.
func (t *Tx) RunByID(id int64) (*smsflow.Run, error) {
	return oneOf(t.cached().runs, id, true, t.runsByID)
}

// LastEntry returns when the contact last entered the flow (any version,
// holdout included) and whether a run of it is still open.
func (t *Tx) LastEntry(flowID, contactID string) (last time.Time, open bool, err error) {
	flows, err := oneOf(t.cached().entries, contactID, false, t.entriesOf)
	e := flows[flowID]
	return e.last, e.open, err
}

// DueRuns claims up to limit waiting runs whose timer is due at now, earliest
// first, with their contact. On PostgreSQL the rows stay locked for this
// transaction and other nodes skip them.
func (t *Tx) DueRuns(now time.Time, limit int) ([]DueRun, error) {
	if err := t.flushRuns(); err != nil {
		return nil, err
	}
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

// NextWake returns the earliest pending timer of any kind (run waits,
// inactivity deadlines, segment jobs, scheduled entries), zero if none.
func (db *DB) NextWake(ctx context.Context) (time.Time, error) {
	var best time.Time
	for _, q := range []string{
		`SELECT MIN(wake_at) FROM runs WHERE wake_at IS NOT NULL`,
		`SELECT MIN(due_at) FROM inactivity_timers`,
		`SELECT MIN(due_at) FROM segment_jobs WHERE status = 'pending'`,
		`SELECT MIN(due_at) FROM scheduled_entries`,
	} {
		var v sql.NullInt64
		if err := db.queryRowRead(ctx, q).Scan(&v); err != nil {
			return time.Time{}, err
		}
		if v.Valid && (best.IsZero() || fromMicros(v.Int64).Before(best)) {
			best = fromMicros(v.Int64)
		}
	}
	return best, nil
}

// LockContact serializes work on one contact across nodes (PostgreSQL row
// lock until commit; SQLite's single writer already does).
func (t *Tx) LockContact(id string) error {
	if t.db.dialect.LockRow() == "" {
		return nil
	}
	var got string
	err := t.queryRow(`SELECT id FROM contacts WHERE id = ?`+t.db.dialect.LockRow(), id).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	return err
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

// --- Inbox: events waiting for the engine ---------------------------------

// InboxItem is one event waiting for the engine.
type InboxItem struct {
	Seq       int64
	ContactID string
	EventSeq  int64
}

// Queues reports whether a tracked event of this name goes to the engine's
// inbox (DB.SetRelevant; true when no rule is set).
func (t *Tx) Queues(name string) bool { return t.db.relevant == nil || t.db.relevant(name) }

// AddInbox queues an event for the engine (same transaction as the event).
// The write is buffered (batch.go) and reaches the database, in call order,
// before commit: only engine transactions read the inbox.
func (t *Tx) AddInbox(contactID string, eventSeq int64) error {
	t.inbox = append(t.inbox, []any{contactID, eventSeq})
	return nil
}

// ClaimInbox returns up to limit waiting events in arrival order. On
// PostgreSQL the rows are locked (others skip them); the caller must also
// lock each contact and check OlderInbox before processing, so one contact's
// events are applied in order even with several nodes.
func (t *Tx) ClaimInbox(limit int) ([]InboxItem, error) {
	rows, err := t.query(`SELECT seq, contact_id, event_seq FROM inbox ORDER BY seq LIMIT ?`+t.db.dialect.SkipLocked(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []InboxItem
	for rows.Next() {
		var it InboxItem
		if err := rows.Scan(&it.Seq, &it.ContactID, &it.EventSeq); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// OlderInbox reports whether the contact has a waiting event older than seq
// (claimed by another node): then this node must leave the contact alone.
func (t *Tx) OlderInbox(contactID string, seq int64) (bool, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM inbox WHERE contact_id = ? AND seq < ?`, contactID, seq).Scan(&n)
	return n > 0, err
}

// OldestInbox returns, for each of the contacts that has waiting events,
// the sequence number of its oldest one (claimed by this transaction or by
// another node): one query for a whole claimed batch, in place of an
// OlderInbox per contact.
func (t *Tx) OldestInbox(contactIDs []string) (map[string]int64, error) {
	out := make(map[string]int64, len(contactIDs))
	if len(contactIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(contactIDs))
	for i, id := range contactIDs {
		args[i] = id
	}
	in, args := inList(args)
	rows, err := t.query(`SELECT contact_id, MIN(seq) FROM inbox WHERE contact_id IN (`+in+`) GROUP BY contact_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return nil, err
		}
		out[id] = seq
	}
	return out, rows.Err()
}

// InboxDepth counts waiting events.
func (db *DB) InboxDepth(ctx context.Context) (int64, error) {
	var n int64
	err := db.queryRowRead(ctx, `SELECT COUNT(*) FROM inbox`).Scan(&n)
	return n, err
}

// EventBySeq returns a stored event.
func (t *Tx) EventBySeq(seq int64) (*smsflow.Event, error) {
	return scanEvent(t.queryRow(`SELECT `+eventColumns+` FROM events WHERE seq = ?`, seq))
}

// --- Facts the conditions ask for ------------------------------------------

// CountEventsSince counts a contact's events of a name at or after since and
// at or before until.
func (t *Tx) CountEventsSince(contactID, name string, since, until time.Time) (int, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM events WHERE contact_id = ? AND name = ? AND ts >= ? AND ts <= ?`, contactID, name, micros(since), micros(until)).Scan(&n)
	return n, err
}

// LastEventTime returns when the contact last had an event of that name, up
// to until.
func (t *Tx) LastEventTime(contactID, name string, until time.Time) (time.Time, bool, error) {
	var v sql.NullInt64
	err := t.queryRow(`SELECT MAX(ts) FROM events WHERE contact_id = ? AND name = ? AND ts <= ?`, contactID, name, micros(until)).Scan(&v)
	if err != nil || !v.Valid {
		return time.Time{}, false, err
	}
	return fromMicros(v.Int64), true, nil
}

// StepMessageStatus returns the status of the message a run's send step
// produced ("" if none).
func (t *Tx) StepMessageStatus(runID int64, stepID string) (string, error) {
	var s string
	err := t.queryRow(`SELECT status FROM messages WHERE run_id = ? AND step_id = ?`, runID, stepID).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return s, err
}

// StepClicked reports whether a tracked link of a run's send step was clicked.
func (t *Tx) StepClicked(runID int64, stepID string) (bool, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM link_clicks WHERE run_id = ? AND step_id = ?`, runID, stepID).Scan(&n)
	return n > 0, err
}

// RunReplied reports whether the contact sent an inbound message after the
// run was entered.
func (t *Tx) RunReplied(contactID string, since time.Time) (bool, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM messages WHERE contact_id = ? AND direction = 'in' AND created_at >= ?`, contactID, micros(since)).Scan(&n)
	return n > 0, err
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

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// inList returns the placeholders of an IN list of the values, padded to a
// power of two by repeating the last value (which IN ignores), with the
// padded values: a statement that takes a list comes in a few sizes only,
// each prepared once (stmtcache.go).
func inList(values []any) (string, []any) {
	n := len(values)
	if n == 0 {
		return "", values
	}
	size := 1 << bitsLen(n-1)
	if size > n && size <= maxParams {
		padded := make([]any, size)
		copy(padded, values)
		for i := n; i < size; i++ {
			padded[i] = values[n-1]
		}
		values = padded
	}
	return placeholders(len(values)), values
}

// Context returns the transaction's context.
func (t *Tx) Context() context.Context { return t.ctx }

// RunsAwaitingGoal returns a contact's runs (open or ended) entered at or
// after since that have not converted yet.
func (t *Tx) RunsAwaitingGoal(contactID string, since time.Time) ([]*smsflow.Run, error) {
	return t.runs(`SELECT `+runColumns+` FROM runs WHERE contact_id = ? AND goal_at = 0 AND entered_at >= ? ORDER BY entered_at, id`, contactID, micros(since))
}

// DeleteRun removes a run that never entered (a pending segment entry whose
// contact no longer matches).
func (t *Tx) DeleteRun(id int64) error {
	if err := t.flushRuns(); err != nil {
		return err
	}
	if t.cache != nil { // whose run it was is not known here: forget them all
		t.cache.openRuns, t.cache.entries = nil, nil
		delete(t.cache.runs, id)
	}
	_, err := t.exec(`DELETE FROM runs WHERE id = ?`, id)
	return err
}

// ContactForUpdate locks the contact (PostgreSQL; SQLite has one writer) and
// returns it with its number's current consent status, in one round trip —
// the engine's first read of every contact it works on. A missing contact is
// nil.
func (t *Tx) ContactForUpdate(id string) (*smsflow.Contact, smsflow.ConsentStatus, error) {
	c, ok := cachedContact{}, false
	if t.cache != nil {
		if c, ok = t.cache.contacts[id]; ok {
			delete(t.cache.contacts, id) // handed out once: the caller changes it
		}
	}
	if !ok {
		contacts, err := t.contactsForUpdate([]string{id})
		if err != nil {
			return nil, smsflow.ConsentNone, err
		}
		c = contacts[id]
	}
	return c.c, c.consent, nil
}

// withExtra scans a row's leading columns with a scan function written for
// them, and the extra trailing columns into extra.
type withExtra struct {
	s     scanner
	extra []any
}

func (x withExtra) Scan(dest ...any) error { return x.s.Scan(append(dest, x.extra...)...) }

// EventsBySeq returns stored events by sequence number, in one query.
func (t *Tx) EventsBySeq(seqs []int64) (map[int64]*smsflow.Event, error) {
	out := make(map[int64]*smsflow.Event, len(seqs))
	if len(seqs) == 0 {
		return out, nil
	}
	args := make([]any, len(seqs))
	for i, s := range seqs {
		args[i] = s
	}
	in, args := inList(args)
	rows, err := t.query(`SELECT `+eventColumns+` FROM events WHERE seq IN (`+in+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out[ev.Seq] = ev
	}
	return out, rows.Err()
}

// DeleteInboxItems removes processed inbox items in one statement.
func (t *Tx) DeleteInboxItems(seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	args := make([]any, len(seqs))
	for i, s := range seqs {
		args[i] = s
	}
	in, args := inList(args)
	_, err := t.exec(`DELETE FROM inbox WHERE seq IN (`+in+`)`, args...)
	return err
}
