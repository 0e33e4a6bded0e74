package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
)

// PendingReceipt is a delivery receipt that arrived before the sender had
// recorded the provider's id on its message: the provider answered the
// send, and called back, faster than the sender's write committed.
type PendingReceipt struct {
	ID         int64
	Provider   string
	ProviderID string
	Status     string
	ErrorCode  string
	At         time.Time // when the provider reported it
	ReceivedAt time.Time // when smsflow stored it
}

// AddPendingReceipt keeps a receipt until its message is recorded.
func (t *Tx) AddPendingReceipt(r PendingReceipt) error {
	_, err := t.exec(`INSERT INTO pending_receipts (provider, provider_id, status, error_code, at, received_at) VALUES (?, ?, ?, ?, ?, ?)`,
		r.Provider, r.ProviderID, r.Status, r.ErrorCode, micros(r.At), micros(r.ReceivedAt))
	if err != nil {
		return fmt.Errorf("keep pending receipt: %w", err)
	}
	return nil
}

// TakePendingReceipts removes and returns the receipts kept for a provider
// id, in the order they arrived.
func (t *Tx) TakePendingReceipts(provider, providerID string) ([]PendingReceipt, error) {
	if providerID == "" {
		return nil, nil
	}
	rows, err := t.query(`SELECT `+pendingReceiptColumns+` FROM pending_receipts
WHERE provider = ? AND provider_id = ? ORDER BY id`, provider, providerID)
	if err != nil {
		return nil, fmt.Errorf("pending receipts: %w", err)
	}
	out, err := collect(rows, scanPendingReceipt)
	if err != nil {
		return nil, fmt.Errorf("pending receipts: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	if _, err := t.exec(`DELETE FROM pending_receipts WHERE provider = ? AND provider_id = ?`, provider, providerID); err != nil {
		return nil, fmt.Errorf("take pending receipts: %w", err)
	}
	return out, nil
}

// PendingReceiptIDs returns which of a batch's provider ids have kept
// receipts: one query for a send round, so TakePendingReceipts runs only
// for the few that raced their receipt.
func (t *Tx) PendingReceiptIDs(provider string, providerIDs []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(providerIDs) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(providerIDs)+1)
	args = append(args, provider)
	for _, id := range providerIDs {
		args = append(args, id)
	}
	rows, err := t.query(`SELECT DISTINCT provider_id FROM pending_receipts WHERE provider = ? AND provider_id IN (`+placeholders(len(providerIDs))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("pending receipts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// MatchedPendingReceipts returns up to limit kept receipts whose message
// has recorded the provider id since, oldest first: ones that raced the
// sender's write (each side's transaction missed the other's) or whose
// message another node recorded.
func (t *Tx) MatchedPendingReceipts(limit int) ([]PendingReceipt, error) {
	// A scalar subquery, not EXISTS: PostgreSQL turns EXISTS into a join,
	// and with statistics taken before any message had a provider id it
	// hashed every sent message's id to match a queue that is most often
	// empty. This form probes messages_provider_id once per kept receipt.
	rows, err := t.query(`SELECT p.id, p.provider, p.provider_id, p.status, p.error_code, p.at, p.received_at FROM pending_receipts p
WHERE (SELECT 1 FROM messages m WHERE m.provider = p.provider AND m.provider_id = p.provider_id AND m.provider_id <> '' AND m.direction = 'out' LIMIT 1) IS NOT NULL
ORDER BY p.id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("matched pending receipts: %w", err)
	}
	out, err := collect(rows, scanPendingReceipt)
	if err != nil {
		return nil, fmt.Errorf("matched pending receipts: %w", err)
	}
	return out, nil
}

// pendingReceiptColumns are what scanPendingReceipt reads, in order.
const pendingReceiptColumns = `id, provider, provider_id, status, error_code, at, received_at`

// scanPendingReceipt reads a row of pendingReceiptColumns.
func scanPendingReceipt(rows *sql.Rows) (PendingReceipt, error) {
	var r PendingReceipt
	var at, recv int64
	if err := rows.Scan(&r.ID, &r.Provider, &r.ProviderID, &r.Status, &r.ErrorCode, &at, &recv); err != nil {
		return r, err
	}
	r.At, r.ReceivedAt = fromMicros(at), fromMicros(recv)
	return r, nil
}

// DeletePendingReceipt removes one kept receipt (applied).
func (t *Tx) DeletePendingReceipt(id int64) error {
	_, err := t.exec(`DELETE FROM pending_receipts WHERE id = ?`, id)
	return err
}

// PrunePendingReceipts drops receipts kept since before cutoff: their
// message never recorded the id (a crash left it unknown, or the id is not
// one of ours), and returns how many.
func (t *Tx) PrunePendingReceipts(cutoff time.Time) (int64, error) {
	res, err := t.exec(`DELETE FROM pending_receipts WHERE received_at < ?`, micros(cutoff))
	if err != nil {
		return 0, fmt.Errorf("prune pending receipts: %w", err)
	}
	return res.RowsAffected()
}

// QueuedReceipt is a delivery receipt as a provider's webhook (or SMPP
// connection) handed it over, stored in receipt_queue before the provider
// was answered, waiting for the applier (delivery.ProviderEvents).
type QueuedReceipt struct {
	ID         int64
	Provider   string
	ProviderID string
	// MessageID is smsflow's id of the message when the provider echoed it
	// (Twilio's StatusCallback ?m=), 0 when not.
	MessageID  int64
	Status     string
	ErrorCode  string
	At         time.Time // when the provider reported it
	ReceivedAt time.Time // when smsflow stored it
}

// maxEnqueue bounds the receipts of one INSERT into receipt_queue.
const maxEnqueue = 256

const receiptQueueInsert = `INSERT INTO receipt_queue (provider, provider_id, message_id, status, error_code, at, received_at) VALUES `

// EnqueueReceipts stores receipts in receipt_queue, durably once it
// returns nil. The webhook answers the provider only after it. Storing a
// receipt twice is harmless: applying one moves a message forward only.
// On PostgreSQL it is one INSERT over column arrays, committed on its own,
// whatever the group's size: one round trip and one prepared statement (a
// group that was not a power of two took a transaction of several). SQLite,
// in process, runs multi-row INSERTs of power-of-two sizes.
func (db *DB) EnqueueReceipts(ctx context.Context, rs []QueuedReceipt) error {
	if len(rs) == 0 {
		return nil
	}
	if db.dialect.RoundTrips() {
		q, args := enqueueArrays(rs)
		if err := db.execWrite(ctx, q, args...); err != nil {
			return fmt.Errorf("queue %d receipts: %w", len(rs), err)
		}
		return nil
	}
	if len(rs) > maxEnqueue {
		return db.WriteTx(ctx, func(tx *Tx) error {
			for len(rs) > 0 {
				n := min(len(rs), maxEnqueue)
				q, args := enqueueStatement(rs[:n])
				if _, err := tx.exec(q, args...); err != nil {
					return fmt.Errorf("queue receipts: %w", err)
				}
				rs = rs[n:]
			}
			return nil
		})
	}
	// Chunks of a power of two receipts keep the statements' texts few, each
	// prepared once on the writer pool (stmtcache.go); a group that is not
	// a power of two takes one chunk per bit, in one transaction.
	if len(rs)&(len(rs)-1) != 0 {
		return db.WriteTx(ctx, func(tx *Tx) error {
			for len(rs) > 0 {
				n := 1 << (bitsLen(len(rs)) - 1)
				q, args := enqueueStatement(rs[:n])
				if _, err := tx.exec(q, args...); err != nil {
					return fmt.Errorf("queue receipts: %w", err)
				}
				rs = rs[n:]
			}
			return nil
		})
	}
	q, args := enqueueStatement(rs)
	if err := db.execWrite(ctx, q, args...); err != nil {
		return fmt.Errorf("queue receipts: %w", err)
	}
	return nil
}

// execWrite runs one statement on the writer pool outside a transaction
// (committed on its own), through a statement prepared once (stmtcache.go).
func (db *DB) execWrite(ctx context.Context, q string, args ...any) error {
	s := db.stmts.get(q)
	if s == nil {
		db.stmts.fill(ctx, db.write, db.dialect.Rebind, []string{q})
		s = db.stmts.get(q)
	}
	var err error
	if s != nil {
		_, err = s.ExecContext(ctx, args...)
	} else {
		_, err = db.write.ExecContext(ctx, db.dialect.Rebind(q), args...)
	}
	return err
}

// enqueueArrays is PostgreSQL's INSERT of rs into receipt_queue, one array
// per column, and its arguments.
func enqueueArrays(rs []QueuedReceipt) (string, []any) {
	n := len(rs)
	provs, pids, statuses, codes := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	mids, ats, recvs := make([]int64, n), make([]int64, n), make([]int64, n)
	for i, r := range rs {
		provs[i], pids[i], mids[i], statuses[i], codes[i], ats[i], recvs[i] = r.Provider, r.ProviderID, r.MessageID, r.Status, r.ErrorCode, micros(r.At), micros(r.ReceivedAt)
	}
	return `INSERT INTO receipt_queue (provider, provider_id, message_id, status, error_code, at, received_at)
SELECT * FROM unnest(CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS BIGINT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS BIGINT[]), CAST(? AS BIGINT[]))`,
		[]any{provs, pids, mids, statuses, codes, ats, recvs}
}

// RequeueReceipts puts receipts back at the end of receipt_queue, in this
// transaction (new ids, the same times): ones the applier took but leaves
// for a later pass.
func (t *Tx) RequeueReceipts(rs []QueuedReceipt) error {
	if len(rs) == 0 {
		return nil
	}
	rows := make([][]any, len(rs))
	for i, r := range rs {
		rows[i] = []any{r.Provider, r.ProviderID, r.MessageID, r.Status, r.ErrorCode, micros(r.At), micros(r.ReceivedAt)}
	}
	if err := t.execRows(receiptQueueInsert, `(?, ?, ?, ?, ?, ?, ?)`, ``, rows); err != nil {
		return fmt.Errorf("requeue receipts: %w", err)
	}
	return nil
}

// enqueueStatement is the INSERT of rs into receipt_queue and its arguments.
func enqueueStatement(rs []QueuedReceipt) (string, []any) {
	var q strings.Builder
	q.WriteString(receiptQueueInsert)
	args := make([]any, 0, 7*len(rs))
	for i, r := range rs {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?)")
		args = append(args, r.Provider, r.ProviderID, r.MessageID, r.Status, r.ErrorCode, micros(r.At), micros(r.ReceivedAt))
	}
	return q.String(), args
}

// TakeReceipts removes up to limit receipts from receipt_queue and returns
// them, oldest first. They are gone only if the transaction commits: the
// applier applies them in the same one. On PostgreSQL the rows another
// transaction has taken are skipped, not waited for, so appliers on several
// nodes share the queue and none applies a receipt another took.
func (t *Tx) TakeReceipts(limit int) ([]QueuedReceipt, error) {
	if t.db.dialect.RoundTrips() {
		// One round trip. The ids are chosen first (ARRAY(…) runs once) and
		// the DELETE finds them by the primary key: a DELETE … WHERE id IN
		// (SELECT … LIMIT) is planned as a join over a scan of the whole
		// table, which holds every row deleted since the last vacuum.
		rows, err := t.query(`DELETE FROM receipt_queue WHERE id = ANY(ARRAY(SELECT id FROM receipt_queue ORDER BY id LIMIT ?`+t.db.dialect.SkipLocked()+`))
RETURNING `+queuedReceiptColumns, limit)
		if err != nil {
			return nil, fmt.Errorf("take receipts: %w", err)
		}
		out, err := collect(rows, scanQueuedReceipt)
		if err != nil {
			return nil, fmt.Errorf("take receipts: %w", err)
		}
		slices.SortFunc(out, func(a, b QueuedReceipt) int { return cmp.Compare(a.ID, b.ID) })
		return out, nil
	}
	rows, err := t.query(`SELECT `+queuedReceiptColumns+` FROM receipt_queue ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("take receipts: %w", err)
	}
	out, err := collect(rows, scanQueuedReceipt)
	if err != nil {
		return nil, fmt.Errorf("take receipts: %w", err)
	}
	for i := 0; i < len(out); i += maxParams {
		chunk := out[i:min(len(out), i+maxParams)]
		ids := make([]any, len(chunk))
		for j, r := range chunk {
			ids[j] = r.ID
		}
		ph, args := inList(ids)
		if _, err := t.exec(`DELETE FROM receipt_queue WHERE id IN (`+ph+`)`, args...); err != nil {
			return nil, fmt.Errorf("take receipts: %w", err)
		}
	}
	return out, nil
}

// queuedReceiptColumns are what scanQueuedReceipt reads, in order.
const queuedReceiptColumns = `id, provider, provider_id, message_id, status, error_code, at, received_at`

// scanQueuedReceipt reads a row of queuedReceiptColumns.
func scanQueuedReceipt(rows *sql.Rows) (QueuedReceipt, error) {
	var r QueuedReceipt
	var at, recv int64
	if err := rows.Scan(&r.ID, &r.Provider, &r.ProviderID, &r.MessageID, &r.Status, &r.ErrorCode, &at, &recv); err != nil {
		return r, err
	}
	r.At, r.ReceivedAt = fromMicros(at), fromMicros(recv)
	return r, nil
}

// QueuedReceipts counts the receipts waiting in receipt_queue (metrics,
// tests, the benchmark).
func (db *DB) QueuedReceipts(ctx context.Context) (int64, error) {
	var n int64
	if err := db.queryRowRead(ctx, `SELECT COUNT(*) FROM receipt_queue`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count queued receipts: %w", err)
	}
	return n, nil
}

// receiptDepthExact is how many queued receipts ReceiptQueueDepth counts
// one by one before it estimates.
const receiptDepthExact = 10_000

// ReceiptQueueDepth is how many receipts wait in receipt_queue, for the
// metrics: counted exactly up to 10,000, which a scrape reads quickly; above,
// the span of the queued ids (two probes of the primary key), which also
// counts the ids of receipts already taken out of order, so it may read a
// little high — a backlog that large is the news, not its last digit.
func (db *DB) ReceiptQueueDepth(ctx context.Context) (int64, error) {
	var n int64
	if err := db.queryRowRead(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM receipt_queue LIMIT ?) q`, receiptDepthExact+1).Scan(&n); err != nil {
		return 0, fmt.Errorf("receipt queue depth: %w", err)
	}
	if n <= receiptDepthExact {
		return n, nil
	}
	if err := db.queryRowRead(ctx, `SELECT COALESCE(MAX(id) - MIN(id) + 1, 0) FROM receipt_queue`).Scan(&n); err != nil {
		return 0, fmt.Errorf("receipt queue depth: %w", err)
	}
	return n, nil
}

// MessagesByID returns the messages with the given ids that exist, by id:
// the messages a batch of receipts names by smsflow's id. On PostgreSQL the
// ids go as one array (one statement text whatever their number).
func (t *Tx) MessagesByID(ids []int64) (map[int64]*smsflow.Message, error) {
	out := map[int64]*smsflow.Message{}
	keep := func(m *smsflow.Message) { out[m.ID] = m }
	if t.db.dialect.RoundTrips() && len(ids) > 0 {
		if err := t.scanMessages(`SELECT `+messageColumns+` FROM messages WHERE id = ANY(CAST(? AS BIGINT[]))`, []any{ids}, keep); err != nil {
			return nil, fmt.Errorf("messages by id: %w", err)
		}
		return out, nil
	}
	for len(ids) > 0 {
		n := min(len(ids), maxParams/2)
		vals := make([]any, n)
		for i, id := range ids[:n] {
			vals[i] = id
		}
		ids = ids[n:]
		ph, args := inList(vals)
		if err := t.scanMessages(`SELECT `+messageColumns+` FROM messages WHERE id IN (`+ph+`)`, args, keep); err != nil {
			return nil, fmt.Errorf("messages by id: %w", err)
		}
	}
	return out, nil
}

// MessagesByProviderIDs returns the outbound messages of provider that
// recorded the given provider ids, by provider id (the newest when two
// did, as MessageByProviderID): one query for a batch of receipts.
func (t *Tx) MessagesByProviderIDs(provider string, providerIDs []string) (map[string]*smsflow.Message, error) {
	out := map[string]*smsflow.Message{}
	keep := func(m *smsflow.Message) {
		if old := out[m.ProviderID]; old == nil || old.ID < m.ID {
			out[m.ProviderID] = m
		}
	}
	const where = ` AND provider_id <> '' AND direction = 'out'`
	if t.db.dialect.RoundTrips() && len(providerIDs) > 0 {
		if err := t.scanMessages(`SELECT `+messageColumns+` FROM messages WHERE provider = ? AND provider_id = ANY(CAST(? AS TEXT[]))`+where,
			[]any{provider, providerIDs}, keep); err != nil {
			return nil, fmt.Errorf("messages by provider id: %w", err)
		}
		return out, nil
	}
	for len(providerIDs) > 0 {
		n := min(len(providerIDs), maxParams/2)
		vals := make([]any, n)
		for i, id := range providerIDs[:n] {
			vals[i] = id
		}
		providerIDs = providerIDs[n:]
		ph, args := inList(vals)
		if err := t.scanMessages(`SELECT `+messageColumns+` FROM messages WHERE provider = ? AND provider_id IN (`+ph+`)`+where,
			append([]any{provider}, args...), keep); err != nil {
			return nil, fmt.Errorf("messages by provider id: %w", err)
		}
	}
	return out, nil
}

// scanMessages runs a query of messageColumns and hands each row to fn.
func (t *Tx) scanMessages(query string, args []any, fn func(*smsflow.Message)) error {
	rows, err := t.query(query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return err
		}
		fn(m)
	}
	return rows.Err()
}

// DeliveryUpdate is the delivery status a batch of receipts moves one
// message to, and the provider's error code ("" keeps the message's).
type DeliveryUpdate struct {
	ID        int64
	Status    string
	ErrorCode string
}

// deliveryRankSQL ranks a status column as delivery.deliveryRank does: a
// receipt moves a message forward only.
func deliveryRankSQL(col string) string {
	return `CASE ` + col + ` WHEN 'sent' THEN 1 WHEN 'undelivered' THEN 2 WHEN 'failed' THEN 2 WHEN 'delivered' THEN 3 ELSE 0 END`
}

// ApplyReceipts writes a batch's delivery statuses, forward only: a
// message whose stored status already ranks as high (another applier, or a
// receipt applied meanwhile), a canceled or an inbound one is left alone.
// It returns the ids it changed. On PostgreSQL it is one UPDATE … FROM
// unnest(…) of the whole batch; SQLite, in process, runs one short
// prepared UPDATE per message.
func (t *Tx) ApplyReceipts(updates []DeliveryUpdate, now time.Time) (map[int64]bool, error) {
	changed := map[int64]bool{}
	if len(updates) == 0 {
		return changed, nil
	}
	guard := ` AND messages.direction = 'out' AND messages.status <> 'canceled' AND ` + deliveryRankSQL("messages.status") + ` < `
	mark := func(q string, args []any) error {
		rows, err := t.query(q, args...)
		if err != nil {
			return fmt.Errorf("apply receipts: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			changed[id] = true
		}
		return rows.Err()
	}
	if !t.db.dialect.RoundTrips() {
		q := `UPDATE messages SET status = ?, error_code = CASE WHEN ? = '' THEN error_code ELSE ? END, updated_at = ?
WHERE id = ?` + guard + deliveryRankSQL("?") + ` RETURNING id`
		for _, u := range updates {
			if err := mark(q, []any{u.Status, u.ErrorCode, u.ErrorCode, micros(now), u.ID, u.Status}); err != nil {
				return nil, err
			}
		}
		return changed, nil
	}
	// PostgreSQL: one UPDATE over three arrays, one statement text whatever
	// the batch's size.
	n := len(updates)
	ids, statuses, codes := make([]int64, n), make([]string, n), make([]string, n)
	for i, u := range updates {
		ids[i], statuses[i], codes[i] = u.ID, u.Status, u.ErrorCode
	}
	if err := mark(`UPDATE messages SET status = v.s, error_code = CASE WHEN v.e = '' THEN messages.error_code ELSE v.e END, updated_at = ?
FROM unnest(CAST(? AS BIGINT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[])) AS v(i, s, e)
WHERE messages.id = v.i`+guard+deliveryRankSQL("v.s")+` RETURNING messages.id`, []any{micros(now), ids, statuses, codes}); err != nil {
		return nil, err
	}
	return changed, nil
}

// AddPendingReceipts keeps receipts until their messages are recorded
// (AddPendingReceipt for a batch, in multi-row statements).
func (t *Tx) AddPendingReceipts(rs []PendingReceipt) error {
	if len(rs) == 0 {
		return nil
	}
	rows := make([][]any, len(rs))
	for i, r := range rs {
		rows[i] = []any{r.Provider, r.ProviderID, r.Status, r.ErrorCode, micros(r.At), micros(r.ReceivedAt)}
	}
	if err := t.execRows(`INSERT INTO pending_receipts (provider, provider_id, status, error_code, at, received_at) VALUES `, `(?, ?, ?, ?, ?, ?)`, ``, rows); err != nil {
		return fmt.Errorf("keep pending receipts: %w", err)
	}
	return nil
}
