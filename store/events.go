package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
)

// InsertEvent stores an event unless its messageId (or its dedupe key, such as
// an Order Completed's order_id) was seen before. It reports whether the event
// is new; a duplicate is not an error.
func (t *Tx) InsertEvent(e *smsflow.Event) (bool, error) {
	// Later reserved seqs come after this one, so seqs keep the call order.
	t.eventSeqs.ids = nil
	err := t.queryRow(`INSERT INTO events (`+eventInsertColumns+`)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING seq`, eventArgs(e)...).Scan(&e.Seq)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("insert event %s: %w", e.MessageID, err)
	}
	return true, nil
}

// TrustedEventWithKey reports whether a trusted event is stored with the
// dedupe key (an order's "order:ID"): a public event with the same key then
// stands aside.
func (t *Tx) TrustedEventWithKey(dedupeKey string) (bool, error) {
	var one int
	err := t.queryRow(`SELECT 1 FROM events WHERE dedupe_key = ?`, dedupeKey).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// InsertHistoryEvent stores an event no flow reacts to (a delivery receipt,
// most often), with InsertEvent's deduplication, when nothing needs its
// sequence number or whether it was new.
func (t *Tx) InsertHistoryEvent(e *smsflow.Event) error {
	_, err := t.exec(`INSERT INTO events (`+eventInsertColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, eventArgs(e)...)
	return err
}

// InsertHistoryEvents is InsertHistoryEvent for many events, in order, in
// multi-row statements (a sender's round records one receipt event per
// message the provider answered at once).
func (t *Tx) InsertHistoryEvents(events []*smsflow.Event) error {
	if len(events) == 0 {
		return nil
	}
	rows := make([][]any, len(events))
	for i, e := range events {
		rows[i] = eventArgs(e)
	}
	return t.execRows(`INSERT INTO events (`+eventInsertColumns+`) VALUES `, `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, ` ON CONFLICT DO NOTHING`, rows)
}

// ReserveEventSeq returns a sequence number for an event the transaction
// will write with InsertEvents, so what refers to the event (its inbox
// item) can name it first. Numbers follow the call order.
func (t *Tx) ReserveEventSeq() (int64, error) { return t.reserve(&t.eventSeqs, "events", "seq") }

// ReserveEventSeqs is ReserveEventSeq for n events at once, ascending: on
// PostgreSQL one query however many, where ReserveEventSeq's blocks grow
// from 16 and cost a round trip each. Numbers reserved later in the
// transaction are larger.
func (t *Tx) ReserveEventSeqs(n int) ([]int64, error) {
	if n <= 0 {
		return nil, nil
	}
	if !t.db.dialect.RoundTrips() {
		out := make([]int64, n)
		for i := range out {
			seq, err := t.ReserveEventSeq()
			if err != nil {
				return nil, err
			}
			out[i] = seq
		}
		return out, nil
	}
	// Numbers left in the block were taken before these; dropping them
	// keeps later calls of ReserveEventSeq above these (gaps are fine).
	t.eventSeqs.ids = nil
	rows, err := t.query(`SELECT nextval(s.seq) FROM (SELECT pg_get_serial_sequence('events', 'seq')::regclass AS seq OFFSET 0) s, generate_series(1, ?)`, n)
	if err != nil {
		return nil, fmt.Errorf("reserve %d event seqs: %w", n, err)
	}
	defer rows.Close()
	out := make([]int64, 0, n)
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return nil, err
		}
		out = append(out, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) != n {
		return nil, fmt.Errorf("reserve %d event seqs: the sequence returned %d", n, len(out))
	}
	// The rows' order is the scan's, not a promise: the numbers are
	// handed out ascending whatever it was.
	slices.Sort(out)
	t.eventSeqs.taken += n
	return out, nil
}

// InsertEvents writes events whose sequence numbers were reserved
// (ReserveEventSeq) and that the caller knows are new (StoredEventKeys), in
// order. There is no ON CONFLICT: an event another node stored meanwhile
// fails the transaction (DB.IsConflict: the ingest writer runs it again and
// finds the duplicate) instead of being counted new. On PostgreSQL the
// rows go as one array per column in one statement, however many there
// are (multi-row VALUES needed a statement per parameter-limited chunk and
// a parse of each chunk size); SQLite runs a prepared insert per row.
func (t *Tx) InsertEvents(events []*smsflow.Event) error {
	if len(events) == 0 {
		return nil
	}
	if t.db.dialect.RoundTrips() {
		return t.insertEventArrays(events)
	}
	rows := make([][]any, len(events))
	for i, e := range events {
		rows[i] = append([]any{e.Seq}, eventArgs(e)...)
	}
	return t.execRows(`INSERT INTO events (seq, `+eventInsertColumns+`)
`+t.overriding()+`VALUES `, `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, ``, rows)
}

// InsertNewEvents numbers events the caller knows are new (StoredEventKeys)
// in call order — after every number reserved or event written before in
// the transaction — sets their Seq and writes them, as ReserveEventSeqs
// then InsertEvents would. On PostgreSQL it is one statement (the numbers
// are taken in the insert itself), where those two are a round trip each:
// the ingest writer's group pays one less per commit. Like InsertEvents, an
// event another node stored meanwhile fails the transaction.
func (t *Tx) InsertNewEvents(events []*smsflow.Event) error {
	if len(events) == 0 {
		return nil
	}
	if !t.db.dialect.RoundTrips() {
		seqs, err := t.ReserveEventSeqs(len(events))
		if err != nil {
			return err
		}
		for i, e := range events {
			e.Seq = seqs[i]
		}
		return t.InsertEvents(events)
	}
	// Numbers left in the block were taken before these (see
	// ReserveEventSeqs).
	t.eventSeqs.ids = nil
	cols := eventColumnArrays(events)
	// The n numbers are drawn first (x), then handed out ascending by
	// each row's position in the arrays (WITH ORDINALITY), so call order
	// is seq order by construction, not by the plan's row order. They are
	// drawn one per element of an array of the insert's (its message ids)
	// and not by generate_series(1, n): PostgreSQL estimates both sizes
	// alike in its generic plan, so the statement reaches one after five
	// executions (D107), where generate_series' estimate of 1,000 rows
	// kept it planned for its values at every commit.
	rows, err := t.query(`INSERT INTO events (seq, `+eventInsertColumns+`) OVERRIDING SYSTEM VALUE
SELECT n.seq, m, NULLIF(d, ''), ty, na, c, a, p, tr, cx, ts, r, tu
FROM unnest(CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]),
 CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS BIGINT[]), CAST(? AS BIGINT[]), CAST(? AS TEXT[])) WITH ORDINALITY AS v(m, d, ty, na, c, a, p, tr, cx, ts, r, tu, o)
JOIN (SELECT seq, row_number() OVER (ORDER BY seq) AS o FROM (
  SELECT nextval(q.seq) AS seq FROM (SELECT pg_get_serial_sequence('events', 'seq')::regclass AS seq OFFSET 0) q, unnest(CAST(? AS TEXT[]))) x) n USING (o)
RETURNING seq`, append(cols[1:], cols[1])...)
	if err != nil {
		return fmt.Errorf("insert %d events: %w", len(events), err)
	}
	defer rows.Close()
	seqs := make([]int64, 0, len(events))
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return err
		}
		seqs = append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("insert %d events: %w", len(events), err)
	}
	if len(seqs) != len(events) {
		return fmt.Errorf("insert %d events: %d stored", len(events), len(seqs))
	}
	// RETURNING's order is no promise; the numbers went out ascending
	// in the events' order.
	slices.Sort(seqs)
	for i, e := range events {
		e.Seq = seqs[i]
	}
	t.eventSeqs.taken += len(events)
	return nil
}

// eventColumnArrays is events as one array per column of the arrays
// insert, in its order: seq, then eventInsertColumns.
func eventColumnArrays(events []*smsflow.Event) []any {
	n := len(events)
	var (
		seqs, ts, received                         = make([]int64, n), make([]int64, n), make([]int64, n)
		ids, dedupe, types, names, contacts, anons = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		props, traits, ctxs, trust                 = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	)
	for i, e := range events {
		seqs[i], ids[i], dedupe[i], types[i], names[i], contacts[i], anons[i] = e.Seq, storedMessageID(e), storedDedupeKey(e), e.Type, e.Name, e.ContactID, e.AnonymousID
		props[i], traits[i], ctxs[i] = storedJSON(e.Encoded.Properties, e.Properties), storedJSON(e.Encoded.Traits, e.Traits), storedJSON(e.Encoded.Context, e.Context)
		ts[i], received[i], trust[i] = micros(e.Timestamp), micros(e.ReceivedAt), e.Trust.Stored()
	}
	return []any{seqs, ids, dedupe, types, names, contacts, anons, props, traits, ctxs, ts, received, trust}
}

// insertEventArrays is InsertEvents in one statement over column arrays
// (PostgreSQL's unnest); a dedupe key of "" is stored as NULL, as
// eventArgs stores it.
func (t *Tx) insertEventArrays(events []*smsflow.Event) error {
	_, err := t.exec(`INSERT INTO events (seq, `+eventInsertColumns+`) OVERRIDING SYSTEM VALUE
SELECT s, m, NULLIF(d, ''), ty, na, c, a, p, tr, cx, ts, r, tu
FROM unnest(CAST(? AS BIGINT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]),
 CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS BIGINT[]), CAST(? AS BIGINT[]), CAST(? AS TEXT[])) AS v(s, m, d, ty, na, c, a, p, tr, cx, ts, r, tu)`,
		eventColumnArrays(events)...)
	if err != nil {
		return fmt.Errorf("insert %d events: %w", len(events), err)
	}
	return nil
}

// storedEventKeyArrays is StoredEventKeys' read on PostgreSQL: both kinds
// of key in one query, each as one array parameter (one round trip and one
// statement whatever the group's size).
func (t *Tx) storedEventKeyArrays(ids, dedupe []string, mark func(*sql.Rows) error) error {
	rows, err := t.query(`SELECT message_id, COALESCE(dedupe_key, '') FROM events
WHERE message_id = ANY(CAST(? AS TEXT[])) OR dedupe_key = ANY(CAST(? AS TEXT[]))`, ids, dedupe)
	if err != nil {
		return fmt.Errorf("stored event keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := mark(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// jsonObject is a stored JSON object: {} for none.
func jsonObject(m map[string]any) string {
	if m == nil {
		return "{}"
	}
	return mustJSON(m)
}

func eventArgs(e *smsflow.Event) []any {
	return []any{storedMessageID(e), nullString(storedDedupeKey(e)), e.Type, e.Name, e.ContactID, e.AnonymousID,
		storedJSON(e.Encoded.Properties, e.Properties), storedJSON(e.Encoded.Traits, e.Traits), storedJSON(e.Encoded.Context, e.Context),
		micros(e.Timestamp), micros(e.ReceivedAt), e.Trust.Stored()}
}

// storedJSON is an event's object as stored: the text the source gave
// (Event.Encoded), else the map encoded, {} for none.
func storedJSON(text []byte, m map[string]any) string {
	if text != nil {
		return string(text)
	}
	return jsonObject(m)
}

// eventInsertColumns are the columns eventArgs fills, in order.
const eventInsertColumns = `message_id, dedupe_key, type, name, contact_id, anonymous_id, properties, traits, context, ts, received_at, trust`

const eventColumns = `seq, message_id, type, name, contact_id, anonymous_id, properties, traits, context, ts, received_at, trust`

// PublicKeyPrefix namespaces the idempotency keys (messageId, dedupe key)
// of events sent with the public write key. They dedupe among themselves,
// and can never take a key a trusted event will need: a Shopify order's
// order_id, the messageId of smsflow's own consent or inbound events.
const PublicKeyPrefix = "public:"

// storedMessageID is the message_id an event is stored (and deduplicated)
// under.
func storedMessageID(e *smsflow.Event) string {
	if e.Trust.Public() {
		return PublicKeyPrefix + e.MessageID
	}
	return e.MessageID
}

// storedDedupeKey is the dedupe_key an event is stored under, "" for none.
func storedDedupeKey(e *smsflow.Event) string {
	if e.DedupeKey != "" && e.Trust.Public() {
		return PublicKeyPrefix + e.DedupeKey
	}
	return e.DedupeKey
}

func scanEvent(s scanner) (*smsflow.Event, error) {
	var (
		e                  smsflow.Event
		props, traits, ctx string
		ts, received       int64
		trust              string
	)
	if err := s.Scan(&e.Seq, &e.MessageID, &e.Type, &e.Name, &e.ContactID, &e.AnonymousID, &props, &traits, &ctx, &ts, &received, &trust); err != nil {
		return nil, err
	}
	if smsflow.Trust(trust).Public() {
		e.Trust = smsflow.TrustPublic
		e.MessageID = strings.TrimPrefix(e.MessageID, PublicKeyPrefix)
	}
	for _, f := range []struct {
		src string
		dst *map[string]any
	}{{props, &e.Properties}, {traits, &e.Traits}, {ctx, &e.Context}} {
		if err := json.Unmarshal([]byte(f.src), f.dst); err != nil {
			return nil, fmt.Errorf("event %d: %w", e.Seq, err)
		}
	}
	e.Timestamp, e.ReceivedAt = fromMicros(ts), fromMicros(received)
	return &e, nil
}

// EventsByContact returns a contact's events, oldest first.
func (db *DB) EventsByContact(ctx context.Context, contactID string, limit int) ([]smsflow.Event, error) {
	rows, err := db.queryRead(ctx, `SELECT `+eventColumns+` FROM events WHERE contact_id = ? ORDER BY ts, seq LIMIT ?`, contactID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []smsflow.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
	}
	return out, rows.Err()
}

// CountEvents returns the number of stored events.
func (db *DB) CountEvents(ctx context.Context) (int64, error) {
	var n int64
	err := db.queryRowRead(ctx, `SELECT COUNT(*) FROM events`).Scan(&n)
	return n, err
}

// BulkInsertEvents writes events with one multi-row INSERT per call, in one
// transaction, skipping duplicates. The ingest benchmark uses it to measure
// the storage ceiling: the same rows, straight into the database.
func (db *DB) BulkInsertEvents(ctx context.Context, events []smsflow.Event) error {
	if len(events) == 0 {
		return nil
	}
	const cols = 11
	var sb strings.Builder
	sb.WriteString(`INSERT INTO events (message_id, dedupe_key, type, name, contact_id, anonymous_id, properties, traits, context, ts, received_at) VALUES `)
	args := make([]any, 0, len(events)*cols)
	for i, e := range events {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString("(?,?,?,?,?,?,?,?,?,?,?)")
		props, traits, ectx := e.Properties, e.Traits, e.Context
		if props == nil {
			props = map[string]any{}
		}
		if traits == nil {
			traits = map[string]any{}
		}
		if ectx == nil {
			ectx = map[string]any{}
		}
		args = append(args, e.MessageID, nullString(e.DedupeKey), e.Type, e.Name, e.ContactID, e.AnonymousID,
			mustJSON(props), mustJSON(traits), mustJSON(ectx), micros(e.Timestamp), micros(e.ReceivedAt))
	}
	sb.WriteString(" ON CONFLICT DO NOTHING")
	return db.WriteTx(ctx, func(t *Tx) error {
		_, err := t.tx.ExecContext(ctx, db.dialect.Rebind(sb.String()), args...)
		return err
	})
}

// EventBySeq returns a stored event.
func (t *Tx) EventBySeq(seq int64) (*smsflow.Event, error) {
	return scanEvent(t.queryRow(`SELECT `+eventColumns+` FROM events WHERE seq = ?`, seq))
}

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
