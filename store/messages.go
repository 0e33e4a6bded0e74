package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
)

const messageColumns = `id, direction, run_id, step_id, flow_id, contact_id, phone, body, encoding, characters, segments, status, provider, provider_id, error_code, send_before, created_at, updated_at, category, sender`

func scanMessage(s scanner) (*smsflow.Message, error) {
	var (
		m                        smsflow.Message
		runID                    sql.NullInt64
		stepID                   sql.NullString
		before, created, updated int64
	)
	if err := s.Scan(&m.ID, &m.Direction, &runID, &stepID, &m.FlowID, &m.ContactID, &m.Phone, &m.Body, &m.Encoding, &m.Characters, &m.Segments,
		&m.Status, &m.Provider, &m.ProviderID, &m.ErrorCode, &before, &created, &updated, &m.Category, &m.Sender); err != nil {
		return nil, err
	}
	m.RunID, m.StepID = runID.Int64, stepID.String
	m.SendBefore, m.CreatedAt, m.UpdatedAt = fromMicros(before), fromMicros(created), fromMicros(updated)
	return &m, nil
}

// InsertMessage writes a message. An outbound message is unique per run and
// step: a second one for the same step is not written and inserted is false
// — the guarantee that a step never sends twice.
func (t *Tx) InsertMessage(m *smsflow.Message) (inserted bool, err error) {
	var runID sql.NullInt64
	var stepID sql.NullString
	if m.RunID != 0 {
		runID, stepID = sql.NullInt64{Int64: m.RunID, Valid: true}, sql.NullString{String: m.StepID, Valid: true}
	} else if m.StepID != "" {
		// A message without a run (an automatic keyword reply, "keyword:stop")
		// keeps its step id; run_id NULL never collides in UNIQUE (run_id, step_id).
		stepID = sql.NullString{String: m.StepID, Valid: true}
	}
	args := []any{m.Direction, runID, stepID, m.FlowID, m.ContactID, m.Phone, m.Body, m.Encoding, m.Characters, m.Segments, m.Status, m.Provider, m.ProviderID, m.ErrorCode,
		micros(m.SendBefore), micros(m.CreatedAt), micros(m.UpdatedAt), m.Category, m.Sender}
	if t.cache != nil {
		delete(t.cache.recent, m.ContactID)
		delete(t.cache.marketing, m.ContactID)
	}
	if steps, known := t.msgSteps[m.RunID]; known && m.RunID != 0 {
		// Every message of this run is known to the transaction: the run is
		// new in it, or was prefetched under its lock (batch.go). The row is
		// buffered, and "inserted" is exact. m.ID stays 0.
		if steps[m.StepID] {
			return false, nil
		}
		steps[m.StepID] = true
		t.msgRows = append(t.msgRows, args)
		return true, nil
	}
	err = t.queryRow(`INSERT INTO messages (`+messageInsertColumns+`)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`, args...).Scan(&m.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("insert message: %w", err)
	}
	return true, nil
}

const messageInsertColumns = `direction, run_id, step_id, flow_id, contact_id, phone, body, encoding, characters, segments, status, provider, provider_id, error_code, send_before, created_at, updated_at, category, sender`

// AutoReplies returns the automatic replies (outbound, no run, step id
// starting with prefix) queued to a contact's number since a moment, not
// counting canceled ones: the facts for the per-number reply limits.
func (t *Tx) AutoReplies(contactID, phone, prefix string, since time.Time) ([]AutoReply, error) {
	rows, err := t.query(`SELECT step_id, created_at FROM messages WHERE contact_id = ? AND phone = ? AND direction = 'out' AND run_id IS NULL
AND step_id LIKE ? AND status <> 'canceled' AND created_at >= ?`, contactID, phone, prefix+"%", micros(since))
	if err != nil {
		return nil, fmt.Errorf("auto replies: %w", err)
	}
	defer rows.Close()
	var out []AutoReply
	for rows.Next() {
		var r AutoReply
		var at int64
		if err := rows.Scan(&r.StepID, &at); err != nil {
			return nil, err
		}
		r.At = fromMicros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// AutoReply is one automatic reply already queued to a number.
type AutoReply struct {
	StepID string
	At     time.Time
}

// OutboxScope says which queued messages a claim of the outbox may take.
type OutboxScope struct {
	// Sender is the sender whose messages are claimed: a configured
	// sender's address, or "" for the messages queued for the default
	// sender (see Message.Sender).
	Sender string
	// Waiting are flows whose queued messages stay queued (paused or held).
	Waiting []string
}

// ClaimOutbox moves up to limit queued messages of scope that are due (a
// retried send waits for its next_attempt_at) to "sending" and returns them,
// oldest first, leaving those of the waiting flows queued. Claimed rows are
// invisible to other senders.
func (t *Tx) ClaimOutbox(now time.Time, limit int, scope OutboxScope) ([]*smsflow.Message, error) {
	// One statement picks and claims (PostgreSQL: the rows other senders
	// hold are skipped, not waited for). No waiting flow: the statement of
	// old, not a filter that matches nothing.
	skip := ""
	args := []any{micros(now), scope.Sender, micros(now)}
	if len(scope.Waiting) > 0 {
		skip = ` AND flow_id NOT IN (` + placeholders(len(scope.Waiting)) + `)`
		for _, id := range scope.Waiting {
			args = append(args, id)
		}
	}
	rows, err := t.query(`UPDATE messages SET status = 'sending', updated_at = ? WHERE id IN (
SELECT id FROM messages WHERE status = 'queued' AND sender = ? AND next_attempt_at <= ?`+skip+` ORDER BY id LIMIT ?`+t.db.dialect.SkipLocked()+`)
RETURNING `+messageColumns, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	var out []*smsflow.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// RETURNING has no order.
	slices.SortFunc(out, func(a, b *smsflow.Message) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// RepointQueued hands the queued messages of senders no longer configured to
// the default sender (Message.Sender ""), so none waits for a sender that
// will never claim it: kept are the senders named (the configured ones other
// than the default). It returns how many messages moved.
func (db *DB) RepointQueued(ctx context.Context, kept []string) (int64, error) {
	q, args := `UPDATE messages SET sender = '' WHERE status = 'queued' AND sender <> ''`, []any{}
	if len(kept) > 0 {
		q += ` AND sender NOT IN (` + placeholders(len(kept)) + `)`
		for _, s := range kept {
			args = append(args, s)
		}
	}
	var n int64
	err := db.WriteTx(ctx, func(t *Tx) error {
		res, err := t.exec(q, args...)
		if err != nil {
			return fmt.Errorf("repoint queued messages: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// MarkSent records a send round's accepted messages as sent by provider
// from sender (the address the round sent from; it fills in the sender of
// messages queued for the default, "" leaves them so), each with its provider
// id ("" keeps the stored one) and status ("" is sent; a provider may report
// delivery at once), in one statement instead of one per message (the
// sender's hot path on PostgreSQL).
func (t *Tx) MarkSent(provider, sender string, ids []int64, providerIDs, statuses []string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	var q strings.Builder
	args := make([]any, 0, 3+5*len(ids))
	args = append(args, provider, micros(now))
	q.WriteString(`UPDATE messages SET provider = ?, error_code = '', updated_at = ?`)
	if sender != "" {
		q.WriteString(`, sender = CASE WHEN sender = '' THEN ? ELSE sender END`)
		args = append(args, sender)
	}
	// column = CASE id WHEN … THEN … ELSE otherwise END over the messages
	// whose value is not "".
	caseOf := func(column string, values []string, otherwise string) {
		cases := 0
		for i, id := range ids {
			if values[i] != "" {
				if cases == 0 {
					q.WriteString(`, ` + column + ` = CASE id`)
				}
				q.WriteString(` WHEN ? THEN ?`)
				args = append(args, id, values[i])
				cases++
			}
		}
		switch {
		case cases > 0:
			q.WriteString(` ELSE ` + otherwise + ` END`)
		case column == "status":
			q.WriteString(`, status = ` + otherwise)
		}
	}
	caseOf("provider_id", providerIDs, "provider_id")
	caseOf("status", statuses, "'sent'")
	q.WriteString(` WHERE id IN (` + placeholders(len(ids)) + `)`)
	for _, id := range ids {
		args = append(args, id)
	}
	_, err := t.exec(q.String(), args...)
	return err
}

// SetMessageStatus records a message's new status (and provider id / error
// code when given).
func (t *Tx) SetMessageStatus(id int64, status, provider, providerID, errorCode string, now time.Time) error {
	_, err := t.exec(`UPDATE messages SET status = ?, provider = CASE WHEN ? = '' THEN provider ELSE ? END,
provider_id = CASE WHEN ? = '' THEN provider_id ELSE ? END, error_code = ?, updated_at = ? WHERE id = ?`,
		status, provider, provider, providerID, providerID, errorCode, micros(now), id)
	return err
}

// CancelQueued cancels a run's queued messages (exit, goal, opt-out) and
// returns how many.
func (t *Tx) CancelQueued(runID int64, now time.Time) (int64, error) {
	if t.cache != nil {
		// Canceled messages no longer count; whose they are is not known here.
		t.cache.recent, t.cache.marketing = nil, nil
	}
	res, err := t.exec(`UPDATE messages SET status = 'canceled', updated_at = ? WHERE run_id = ? AND status = 'queued'`, micros(now), runID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// MarkInterrupted turns messages left "sending" by a crash into "unknown":
// the provider may or may not have taken them, so they are surfaced, never
// resent blindly. Called at start-up before the sender runs.
func (db *DB) MarkInterrupted(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := db.WriteTx(ctx, func(t *Tx) error {
		res, err := t.exec(`UPDATE messages SET status = 'unknown', error_code = 'interrupted', updated_at = ? WHERE status = 'sending'`, micros(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// MessageFilter selects messages for the API.
type MessageFilter struct {
	ContactID, FlowID, Status string
	Limit                     int
}

// Messages lists messages, newest first.
func (db *DB) Messages(ctx context.Context, f MessageFilter) ([]*smsflow.Message, error) {
	q := `SELECT ` + messageColumns + ` FROM messages WHERE 1 = 1`
	var args []any
	if f.ContactID != "" {
		q, args = q+` AND contact_id = ?`, append(args, f.ContactID)
	}
	if f.FlowID != "" {
		q, args = q+` AND flow_id = ?`, append(args, f.FlowID)
	}
	if f.Status != "" {
		q, args = q+` AND status = ?`, append(args, f.Status)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	rows, err := db.queryRead(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*smsflow.Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// InsertDecision records a policy decision. The write is buffered
// (batch.go) and reaches the database before commit; d.ID stays 0.
// Decisions are read only outside the transactions that write them.
func (t *Tx) InsertDecision(d *smsflow.Decision) error {
	t.decisions = append(t.decisions, []any{d.RunID, d.StepID, d.FlowID, d.ContactID, d.Reason, d.Detail, micros(d.At)})
	return nil
}

// Decisions returns a contact's decisions, oldest first.
func (db *DB) Decisions(ctx context.Context, contactID string, limit int) ([]smsflow.Decision, error) {
	rows, err := db.queryRead(ctx, `SELECT id, run_id, step_id, flow_id, contact_id, reason, detail, at FROM decisions WHERE contact_id = ? ORDER BY at, id LIMIT ?`, contactID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []smsflow.Decision
	for rows.Next() {
		var d smsflow.Decision
		var at int64
		if err := rows.Scan(&d.ID, &d.RunID, &d.StepID, &d.FlowID, &d.ContactID, &d.Reason, &d.Detail, &at); err != nil {
			return nil, err
		}
		d.At = fromMicros(at)
		out = append(out, d)
	}
	return out, rows.Err()
}

// Link is a tracked short link.
type Link struct {
	Code      string
	URL       string
	RunID     int64
	StepID    string
	FlowID    string
	ContactID string
	CreatedAt time.Time
}

// InsertLink stores a tracked link; false if the code is taken.
func (t *Tx) InsertLink(l *Link) (bool, error) {
	res, err := t.exec(`INSERT INTO links (code, url, run_id, step_id, flow_id, contact_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		l.Code, l.URL, l.RunID, l.StepID, l.FlowID, l.ContactID, micros(l.CreatedAt))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// LinkByCode returns a link, or ENOTFOUND.
func (db *DB) LinkByCode(ctx context.Context, code string) (*Link, error) {
	var l Link
	var created int64
	err := db.queryRowRead(ctx, `SELECT code, url, run_id, step_id, flow_id, contact_id, created_at FROM links WHERE code = ?`, code).
		Scan(&l.Code, &l.URL, &l.RunID, &l.StepID, &l.FlowID, &l.ContactID, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, smsflow.Errorf(smsflow.ENOTFOUND, "no link %q", code)
	}
	l.CreatedAt = fromMicros(created)
	return &l, err
}

// InsertClick records a click on a tracked link.
func (t *Tx) InsertClick(l *Link, at time.Time) error {
	_, err := t.exec(`INSERT INTO link_clicks (code, run_id, step_id, contact_id, at) VALUES (?, ?, ?, ?, ?)`, l.Code, l.RunID, l.StepID, l.ContactID, micros(at))
	return err
}

// LastRunMessage returns the id of a run's latest outbound message (ids grow
// with time), 0 if it sent none.
func (t *Tx) LastRunMessage(runID int64) (int64, error) {
	var v sql.NullInt64
	err := t.queryRow(`SELECT MAX(id) FROM messages WHERE run_id = ?`, runID).Scan(&v)
	return v.Int64, err
}
