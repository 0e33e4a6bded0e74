package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/smsflow/smsflow"
)

// claimed selects the rows a send round holds: they keep status 'queued'
// in storage and carry the round's token (D91), so that claiming changes no
// indexed column. Readers see them as "sending" (statusRead).
const claimed = `status = 'queued' AND claim <> 0`

// statusRead is a message's status as every reader knows it: a claimed row
// reads "sending".
const statusRead = `CASE WHEN status = 'queued' AND claim <> 0 THEN 'sending' ELSE status END`

// messageColumns are a message's columns as scanMessage reads them.
const messageColumns = outboundColumns + `, consumed_by`

// outboundColumns are messageColumns without consumed_by, which only an
// inbound message sets (empty on every outbound one): what the send
// path's claim returns (scanOutbound).
const outboundColumns = `id, direction, run_id, step_id, flow_id, contact_id, phone, body, encoding, characters, segments, ` + statusRead + `, provider, provider_id, error_code, send_before, created_at, updated_at, category, sender`

// collectMessages reads every row of a messageColumns query and closes
// rows; the list is never nil, so an empty one is [] in JSON.
func collectMessages(rows *sql.Rows) ([]*smsflow.Message, error) {
	out, err := collect(rows, func(r *sql.Rows) (*smsflow.Message, error) { return scanMessage(r) })
	if out == nil && err == nil {
		out = []*smsflow.Message{}
	}
	return out, err
}

// scanMessage reads a row of messageColumns.
func scanMessage(s scanner) (*smsflow.Message, error) { return scanMessageOf(s, true) }

// scanOutbound reads a row of outboundColumns (ConsumedBy left empty).
func scanOutbound(s scanner) (*smsflow.Message, error) { return scanMessageOf(s, false) }

// scanMessageOf reads a row of messageColumns, or of outboundColumns
// without consumedBy: one list of destinations for both.
func scanMessageOf(s scanner, consumedBy bool) (*smsflow.Message, error) {
	var (
		m                        smsflow.Message
		runID                    sql.NullInt64
		stepID                   sql.NullString
		before, created, updated int64
	)
	dest := []any{&m.ID, &m.Direction, &runID, &stepID, &m.FlowID, &m.ContactID, &m.Phone, &m.Body, &m.Encoding, &m.Characters, &m.Segments,
		&m.Status, &m.Provider, &m.ProviderID, &m.ErrorCode, &before, &created, &updated, &m.Category, &m.Sender, &m.ConsumedBy}
	if !consumedBy {
		dest = dest[:len(dest)-1]
	}
	if err := s.Scan(dest...); err != nil {
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
	args := messageArgs(m)
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

// messageArgs are a message's columns for an insert (messageInsertColumns).
func messageArgs(m *smsflow.Message) []any {
	var runID sql.NullInt64
	var stepID sql.NullString
	if m.RunID != 0 {
		runID, stepID = sql.NullInt64{Int64: m.RunID, Valid: true}, sql.NullString{String: m.StepID, Valid: true}
	} else if m.StepID != "" {
		// A message without a run (an automatic keyword reply, "keyword:stop")
		// keeps its step id; run_id NULL never collides in UNIQUE (run_id, step_id).
		stepID = sql.NullString{String: m.StepID, Valid: true}
	}
	return []any{m.Direction, runID, stepID, m.FlowID, m.ContactID, m.Phone, m.Body, m.Encoding, m.Characters, m.Segments, m.Status, m.Provider, m.ProviderID, m.ErrorCode,
		micros(m.SendBefore), micros(m.CreatedAt), micros(m.UpdatedAt), m.Category, m.Sender}
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

// SetMessageStatus records a message's new status (and provider id / error
// code when given).
func (t *Tx) SetMessageStatus(id int64, status, provider, providerID, errorCode string, now time.Time) error {
	_, err := t.exec(`UPDATE messages SET status = ?, provider = CASE WHEN ? = '' THEN provider ELSE ? END,
provider_id = CASE WHEN ? = '' THEN provider_id ELSE ? END, error_code = ?, updated_at = ? WHERE id = ?`,
		status, provider, provider, providerID, providerID, errorCode, micros(now), id)
	return err
}

// MessageFilter selects messages for the API and the web UI's log.
type MessageFilter struct {
	ContactID, FlowID, Status string
	// Direction is "in" or "out"; "" for both.
	Direction string
	// Since and Until bound created_at (Since included, Until excluded);
	// zero for no bound.
	Since, Until time.Time
	// Before keeps messages with an id below it: the keyset of the next
	// page (ids grow with time, so pages stay newest first); 0 for none.
	// MessageLog pages by (BeforeAt, Before): the created_at and id of the
	// last message shown.
	Before   int64
	BeforeAt time.Time
	Limit    int
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
	q, args = statusFilter(q, args, f.Status)
	if f.Direction != "" {
		q, args = q+` AND direction = ?`, append(args, f.Direction)
	}
	if !f.Since.IsZero() {
		q, args = q+` AND created_at >= ?`, append(args, micros(f.Since))
	}
	if !f.Until.IsZero() {
		q, args = q+` AND created_at < ?`, append(args, micros(f.Until))
	}
	if f.Before > 0 {
		q, args = q+` AND id < ?`, append(args, f.Before)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	rows, err := db.queryRead(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, err
	}
	return collectMessages(rows)
}

// statusFilter adds a status condition to q: claimed rows stay queued with
// their round's token (D91), so "sending" means claimed and "queued" means
// not claimed. A known status is written into the statement, not bound, so
// the partial indexes on it (messages_unknown) are used on both databases.
func statusFilter(q string, args []any, status string) (string, []any) {
	switch {
	case status == "":
	case status == smsflow.MessageSending:
		q += ` AND ` + claimed
	case status == smsflow.MessageQueued:
		q += ` AND status = 'queued' AND claim = 0`
	case literalWord(status):
		q += ` AND status = '` + status + `'`
	default:
		q, args = q+` AND status = ?`, append(args, status)
	}
	return q, args
}

// MessageLog lists messages newest first by created_at (then id), for the
// web UI's log: the filters of Messages, the keyset (BeforeAt, Before).
// Known statuses and directions are written into the statement, not bound,
// so the partial indexes on them (messages_unknown, messages_inbound,
// messages_undelivered…) are used on both databases; on SQLite
// messageLogIndex names the index.
func (db *DB) MessageLog(ctx context.Context, f MessageFilter) ([]*smsflow.Message, error) {
	from := `messages`
	if db.indexedBy("x") != "" { // SQLite: no statistics, so the log names its index
		index, err := db.messageLogIndex(ctx, f)
		if err != nil {
			return nil, err
		}
		if index != "" {
			from += db.indexedBy(index)
		}
	}
	q := `SELECT ` + messageColumns + ` FROM ` + from + ` WHERE 1 = 1`
	var args []any
	if f.ContactID != "" {
		q, args = q+` AND contact_id = ?`, append(args, f.ContactID)
	}
	if f.FlowID != "" {
		q, args = q+` AND flow_id = ?`, append(args, f.FlowID)
	}
	q, args = statusFilter(q, args, f.Status)
	switch f.Direction {
	case "":
	case "in", "out":
		q += ` AND direction = '` + f.Direction + `'`
	default:
		q, args = q+` AND direction = ?`, append(args, f.Direction)
	}
	if !f.Since.IsZero() {
		q, args = q+` AND created_at >= ?`, append(args, micros(f.Since))
	}
	if !f.Until.IsZero() {
		q, args = q+` AND created_at < ?`, append(args, micros(f.Until))
	}
	if !f.BeforeAt.IsZero() {
		at := micros(f.BeforeAt)
		// created_at <= ? alone bounds the index range (an OR does not).
		q, args = q+` AND created_at <= ? AND (created_at < ? OR id < ?)`, append(args, at, at, f.Before)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	rows, err := db.queryRead(ctx, q+` ORDER BY created_at DESC, id DESC LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, err
	}
	return collectMessages(rows)
}

// messageLogIndex is the index SQLite must read for the message log's
// filter f, "" to leave it to the planner. Without statistics SQLite reads
// a flow's messages through messages_report (it starts with flow_id) and
// sorts them all: seconds for a big flow. A rare status has its own partial
// index in the log's order (migrations 0023, 0024). Other flow filters read
// messages_created newest first and skip other flows' rows, which is quick
// unless the flow is a small share of the log: a flow with fewer than
// flowScanMin messages is read through messages_report and sorted (a
// bounded sort). A contact filter is left to the planner (messages_contact).
func (db *DB) messageLogIndex(ctx context.Context, f MessageFilter) (string, error) {
	switch {
	case f.ContactID != "":
		return "", nil
	case f.Status == smsflow.MessageUnknown:
		return "messages_unknown", nil
	case f.FlowID != "" && (f.Status == smsflow.MessageUndelivered || f.Status == smsflow.MessageFailed || f.Status == smsflow.MessageCanceled):
		return "messages_" + f.Status, nil
	case f.FlowID != "":
		var n int64
		err := db.queryRowRead(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM messages INDEXED BY messages_report WHERE flow_id = ? LIMIT ?) x`,
			f.FlowID, flowScanMin).Scan(&n)
		if err != nil {
			return "", fmt.Errorf("message log: %w", err)
		}
		if n < int64(flowScanMin) {
			return "messages_report", nil
		}
		return "messages_created", nil
	case f.Direction == "in" && f.Status == "":
		return "messages_inbound", nil // the inbox: the latest texts in, in index order
	}
	return "", nil
}

// flowScanMin is the number of messages from which a flow's log is read
// along messages_created rather than sorted: a sort of fewer rows stays
// short, and a flow with more is a large enough share of most logs that a
// page of it is found after a few thousand rows.
var flowScanMin = 20_000

// literalWord reports whether s is safe to write into a statement as a
// quoted literal: lower-case letters and underscores, as statuses are.
func literalWord(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '_' {
			return false
		}
	}
	return true
}

// LastRunMessage returns the id of a run's latest outbound message (ids grow
// with time), 0 if it sent none.
func (t *Tx) LastRunMessage(runID int64) (int64, error) {
	var v sql.NullInt64
	err := t.queryRow(`SELECT MAX(id) FROM messages WHERE run_id = ?`, runID).Scan(&v)
	return v.Int64, err
}

// StepMessageStatus returns the status of the message a run's send step
// produced ("" if none).
func (t *Tx) StepMessageStatus(runID int64, stepID string) (string, error) {
	var s string
	err := t.queryRow(`SELECT `+statusRead+` FROM messages WHERE run_id = ? AND step_id = ?`, runID, stepID).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return s, err
}

// RunReplied reports whether the contact sent an inbound message after the
// run was entered.
func (t *Tx) RunReplied(contactID string, since time.Time) (bool, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM messages WHERE contact_id = ? AND direction = 'in' AND created_at >= ?`, contactID, micros(since)).Scan(&n)
	return n > 0, err
}

// MessageByProviderID returns the outbound message a provider knows by its
// own id, or nil when no recorded message has that id (yet).
func (t *Tx) MessageByProviderID(provider, providerID string) (*smsflow.Message, error) {
	if providerID == "" {
		return nil, nil
	}
	m, err := scanMessage(t.queryRow(`SELECT `+messageColumns+` FROM messages
WHERE provider = ? AND provider_id = ? AND provider_id <> '' AND direction = 'out' ORDER BY id DESC LIMIT 1`, provider, providerID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("message by provider id: %w", err)
	}
	return m, nil
}

// InboundSeen reports whether an inbound text with this provider id was
// stored already (a webhook the provider sent again).
func (db *DB) InboundSeen(ctx context.Context, provider, providerID string) (bool, error) {
	if providerID == "" {
		return false, nil
	}
	var one int
	err := db.queryRowRead(ctx, `SELECT 1 FROM messages WHERE provider = ? AND provider_id = ? AND provider_id <> '' AND direction = 'in' LIMIT 1`, provider, providerID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// SetInboundProviderID records the provider's id of a stored inbound text,
// the key InboundSeen dedupes on.
func (t *Tx) SetInboundProviderID(messageID int64, providerID string) error {
	_, err := t.exec(`UPDATE messages SET provider_id = ? WHERE id = ? AND direction = 'in'`, providerID, messageID)
	return err
}

// SetDeliveryStatus records a status a delivery receipt reported.
func (t *Tx) SetDeliveryStatus(id int64, status, errorCode string, now time.Time) error {
	_, err := t.exec(`UPDATE messages SET status = ?, error_code = CASE WHEN ? = '' THEN error_code ELSE ? END, updated_at = ? WHERE id = ?`,
		status, errorCode, errorCode, micros(now), id)
	return err
}

// SentRecord is one outbound message that frequency caps count.
type SentRecord struct {
	At       time.Time
	Category string
	FlowID   string
}

// countedStatuses are the statuses caps count: queued, sending,
// sent or unknown — and delivered, which is a sent message that arrived.
const countedStatuses = `('queued', 'sending', 'sent', 'delivered', 'unknown')`

// RecentSends returns the contact's counted outbound messages created after
// since, oldest first. Call it under the contact's lock so the check and the
// reservation (the queued row) happen together.
func (t *Tx) RecentSends(contactID string, since time.Time) ([]SentRecord, error) {
	recent, err := t.recentSendsOf([]string{contactID}, since)
	return recent[contactID], err
}

// HadMarketing reports whether the contact's phone has been sent (or has
// queued) a marketing message since its latest subscription: the compliance
// footer goes on the first marketing message of every subscription.
func (t *Tx) HadMarketing(contactID, phone string) (bool, error) {
	all, err := t.marketingOf([]string{contactID})
	return all[contactID][phone], err
}
