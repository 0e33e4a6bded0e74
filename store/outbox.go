package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
)

// OutboxScope says which queued messages a claim of the outbox may take.
type OutboxScope struct {
	// Sender is the sender whose messages are claimed: a configured
	// sender's address, or "" for the messages queued for the default
	// sender (see Message.Sender).
	Sender string
	// Waiting are flows whose queued messages stay queued (paused or held).
	Waiting []string
	// Node is the claiming node's id, recorded on the claimed rows: at its
	// restart, or once its heartbeat is stale on another node, what it
	// claimed and never called goes back to the queue (RecoverClaims).
	Node string
	// Claim is the round's token (non-zero, unique per round), recorded on
	// the claimed rows: MarkCalling marks only rows still held by it. A
	// claim without a token (0) records a negative one of its own, as a
	// claimed row's token is what tells it from a queued one (D91); such a
	// claim is only ever taken back by RecoverClaims.
	Claim int64
	// Calling is how many of the claimed rows, the first in id order, the
	// claim itself marks called (MarkCalling's mark, in the same row
	// version): a round whose first calls start as soon as its claim
	// commits. 0 marks none.
	Calling int
	// After, when non-zero, limits the claim to ids above it: a sender's
	// cursor past what it already claimed. On PostgreSQL the queue's index
	// keeps an entry for every message sent since the last VACUUM, at the
	// front; a claim from the start walks them all (27 ms per claim, most
	// of its time, measured mid-way through a 1,000,000-message
	// broadcast). A message below the cursor (a retry now due, a claim
	// taken back, an id whose insert committed late) waits for the next
	// claim without a cursor (see delivery's lane).
	After int64
}

// ClaimOutbox claims up to limit queued messages of scope that are due (a
// retried send waits for its next_attempt_at) and returns them, oldest
// first, as "sending", leaving those of the waiting flows queued. Claimed
// rows are invisible to other senders. They record scope's Node and Claim;
// the first scope.Calling of those returned are marked called, the others
// not: none may go to the provider before it is marked (here or by
// MarkCalling) and the mark committed.
//
// A claimed row keeps status 'queued' in storage, with claim <> 0 (D91): the
// claim then changes no indexed column, so PostgreSQL writes it as a HOT
// update (no index entries), and SQLite touches no index. Readers see it as
// "sending" (statusRead, the Messages filter).
func (t *Tx) ClaimOutbox(now time.Time, limit int, scope OutboxScope) ([]*smsflow.Message, error) {
	token := scope.Claim
	if token == 0 {
		token = -1 - rand.Int64N(1<<62)
	}
	q, args := t.claimStatement(now, limit, scope, token)
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, err
	}
	out, err := collect(rows, func(r *sql.Rows) (*smsflow.Message, error) { return scanOutbound(r) })
	if err != nil {
		return nil, err
	}
	// RETURNING has no order.
	slices.SortFunc(out, func(a, b *smsflow.Message) int { return cmp.Compare(a.ID, b.ID) })
	if len(out) > 0 {
		// The round's range, for recovery (no index finds claimed rows).
		if _, err := t.exec(`INSERT INTO send_claims (node, claim, first_id, last_id) VALUES (?, ?, ?, ?)
ON CONFLICT (node, claim) DO UPDATE SET first_id = CASE WHEN excluded.first_id < send_claims.first_id THEN excluded.first_id ELSE send_claims.first_id END,
last_id = CASE WHEN excluded.last_id > send_claims.last_id THEN excluded.last_id ELSE send_claims.last_id END`,
			scope.Node, token, out[0].ID, out[len(out)-1].ID); err != nil {
			return nil, fmt.Errorf("record send claim: %w", err)
		}
	}
	return out, nil
}

// claimStatement is ClaimOutbox's statement: one that picks and claims
// (PostgreSQL: the rows other senders hold are skipped, not waited for),
// the rows recording token. No waiting flow: the statement of old, not a
// filter that matches nothing.
func (t *Tx) claimStatement(now time.Time, limit int, scope OutboxScope, token int64) (string, []any) {
	// The UPDATE's own parameters, then the pick's.
	set := []any{micros(now), scope.Node, token}
	args := []any{scope.Sender, scope.Sender}
	after := ""
	if scope.After > 0 {
		// As a row comparison on the index's key: "id > ?" alone let
		// PostgreSQL read the ids above the cursor off the primary key
		// and sort them, every queued row of a backlog each claim.
		after = ` AND (sender, id) > (?, ?)`
		args = append(args, scope.Sender, scope.After)
	}
	args = append(args, micros(now))
	skip := ""
	if len(scope.Waiting) > 0 {
		skip = ` AND flow_id NOT IN (` + placeholders(len(scope.Waiting)) + `)`
		for _, id := range scope.Waiting {
			args = append(args, id)
		}
	}
	args = append(args, limit)
	// The sender is matched as a range, and the order is (sender, id), so
	// that only messages_outbox_sender gives the order without a sort. With
	// "sender = ?" PostgreSQL may walk the primary key instead, which
	// statistics from a full queue make look as cheap, and filter out every
	// message sent since: the claim then reads the whole history before its
	// first queued row, and a 50,000-message send slowed down as it went.
	pick := `SELECT id FROM messages WHERE status = 'queued' AND claim = 0 AND sender >= ? AND sender <= ?` + after + ` AND next_attempt_at <= ?` + skip + ` ORDER BY sender, id LIMIT ?` + t.db.dialect.SkipLocked()
	called, rows := `0`, ` WHERE id IN (`+pick+`)`
	if scope.Calling > 0 {
		// The picked rows ranked by id: the first Calling are marked called
		// in the claim's row version rather than in a second one.
		called = `CASE WHEN picked.pick_rank <= ? THEN CAST(? AS BIGINT) ELSE 0 END`
		rows = `
FROM (SELECT id AS pick_id, row_number() OVER (ORDER BY id) AS pick_rank FROM (` + pick + `) p) picked
WHERE messages.id = picked.pick_id`
		set = append(set, scope.Calling, micros(now))
	}
	q := `UPDATE messages SET updated_at = ?, claimed_by = ?, claim = ?, called_at = ` + called + rows + `
RETURNING ` + outboundColumns
	return q, append(set, args...)
}

// ReleaseClaim forgets a round's claim once its outcome is recorded (every
// claimed row sent, failed, canceled or queued again), in the outcome's
// transaction: recovery then has nothing of it to take back.
func (t *Tx) ReleaseClaim(node string, claim int64) error {
	if _, err := t.exec(`DELETE FROM send_claims WHERE node = ? AND claim = ?`, node, claim); err != nil {
		return fmt.Errorf("release send claim: %w", err)
	}
	return nil
}

// RepointQueued hands the queued messages of senders no longer configured to
// the default sender (Message.Sender ""), so none waits for a sender that
// will never claim it: kept are the senders named (the configured ones other
// than the default). It returns how many messages moved.
func (db *DB) RepointQueued(ctx context.Context, kept []string) (int64, error) {
	q, args := `UPDATE messages SET sender = '' WHERE status = 'queued' AND claim = 0 AND sender <> ''`, []any{}
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
	if t.db.dialect.RoundTrips() {
		return t.markSentArrays(provider, sender, ids, providerIDs, statuses, now)
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

// markSentArrays is MarkSent on PostgreSQL: one UPDATE … FROM unnest(…)
// over the round's arrays, one statement text whatever the round's size,
// planned in a few µs (the CASE form's text grows with the round, and a
// custom plan of its 300-odd parameters is made at every execution).
func (t *Tx) markSentArrays(provider, sender string, ids []int64, providerIDs, statuses []string, now time.Time) error {
	sts := make([]string, len(ids))
	for i := range ids {
		if sts[i] = statuses[i]; sts[i] == "" {
			sts[i] = smsflow.MessageSent
		}
	}
	q := `UPDATE messages SET provider = ?, error_code = '', updated_at = ?, status = v.s,
provider_id = CASE WHEN v.p = '' THEN messages.provider_id ELSE v.p END`
	args := []any{provider, micros(now)}
	if sender != "" {
		q += `, sender = CASE WHEN messages.sender = '' THEN ? ELSE messages.sender END`
		args = append(args, sender)
	}
	q += ` FROM unnest(CAST(? AS BIGINT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[])) AS v(i, p, s) WHERE messages.id = v.i`
	_, err := t.exec(q, append(args, ids, providerIDs, sts)...)
	return err
}

// CancelQueued cancels a run's queued messages (exit, goal, opt-out) and
// returns how many.
func (t *Tx) CancelQueued(runID int64, now time.Time) (int64, error) {
	res, err := t.exec(`UPDATE messages SET status = 'canceled', updated_at = ? WHERE run_id = ? AND status = 'queued' AND claim = 0`, micros(now), runID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// MarkCalling records, in its own committed write, that the provider calls
// of ids may start from now: of those still claimed by claim (another node
// may have taken back the claims of a node it thought dead), it marks them
// called and returns their ids. Only a message marked here (or by
// Tx.MarkCalling in a committed transaction) may be handed to the provider;
// after a crash only those can end "unknown".
func (db *DB) MarkCalling(ctx context.Context, ids []int64, claim int64, now time.Time) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var marked []int64
	err := db.WriteTx(ctx, func(t *Tx) (err error) {
		marked, err = t.MarkCalling(ids, claim, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("mark provider calls started: %w", err)
	}
	return marked, nil
}

// MarkCalling is DB.MarkCalling inside a transaction: the claim's own
// transaction marks the calls due right after it commits, so a round's
// first group costs no commit of its own (D96). The marks count once the
// transaction commits; none of ids may be called before.
func (t *Tx) MarkCalling(ids []int64, claim int64, now time.Time) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	list := make([]any, len(ids))
	for i, id := range ids {
		list[i] = id
	}
	// Padded: a group's size varies with the pace, its statement need not.
	in, padded := inList(list)
	rows, err := t.query(`UPDATE messages SET called_at = ? WHERE status = 'queued' AND claim = ? AND id IN (`+in+`) RETURNING id`, append([]any{micros(now), claim}, padded...)...)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r *sql.Rows) (id int64, err error) { return id, r.Scan(&id) })
}

// Recovered counts what RecoverClaims did with the claims it took back.
type Recovered struct {
	// Requeued were claimed and never handed to the provider: queued again.
	Requeued int64
	// Unknown may have reached the provider: "unknown" (error_code
	// interrupted), for reconciliation or an operator.
	Unknown int64
}

// RecoverClaims takes back the claims a crash left "sending": those of node
// (and of no node: claimed by an older binary or a sender without a node
// id), called at its start-up before its sender runs; with staleBefore
// non-zero, instead those of the other nodes whose heartbeat is older than
// staleBefore or gone. A message never handed to the provider (MarkCalling)
// is queued again, untried; one that may have been is "unknown", never resent
// blindly.
func (db *DB) RecoverClaims(ctx context.Context, node string, staleBefore, now time.Time) (Recovered, error) {
	cond, args := `node IN (?, '')`, []any{node}
	if !staleBefore.IsZero() {
		cond, args = `node NOT IN (?, '') AND node NOT IN (SELECT id FROM nodes WHERE heartbeat_at >= ?)`, []any{node, micros(staleBefore)}
	}
	type round struct {
		node        string
		claim       int64
		first, last int64
	}
	var r Recovered
	err := db.WriteTx(ctx, func(t *Tx) error {
		r = Recovered{}
		rows, err := t.query(`SELECT node, claim, first_id, last_id FROM send_claims WHERE `+cond, args...)
		if err != nil {
			return err
		}
		rounds, err := collect(rows, func(r *sql.Rows) (c round, err error) { return c, r.Scan(&c.node, &c.claim, &c.first, &c.last) })
		if err != nil {
			return err
		}
		// Each round's rows by its id range (the primary key), not by a
		// scan of every queued row.
		for _, c := range rounds {
			held := ` WHERE id BETWEEN ? AND ? AND ` + claimed + ` AND claim = ? AND claimed_by = ?`
			res, err := t.exec(`UPDATE messages SET claimed_by = '', claim = 0, updated_at = ?`+held+` AND called_at = 0`, micros(now), c.first, c.last, c.claim, c.node)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			r.Requeued += n
			if res, err = t.exec(`UPDATE messages SET status = 'unknown', error_code = 'interrupted', updated_at = ?`+held+` AND called_at <> 0`, micros(now), c.first, c.last, c.claim, c.node); err != nil {
				return err
			}
			if n, err = res.RowsAffected(); err != nil {
				return err
			}
			r.Unknown += n
			if _, err := t.exec(`DELETE FROM send_claims WHERE node = ? AND claim = ?`, c.node, c.claim); err != nil {
				return err
			}
		}
		return nil
	})
	return r, err
}

// CountAttempt adds one to a message's count of provider attempts that
// failed transiently and returns the new count.
func (t *Tx) CountAttempt(id int64) (int, error) {
	var n int
	err := t.queryRow(`UPDATE messages SET attempts = attempts + 1 WHERE id = ? RETURNING attempts`, id).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count send attempt: %w", err)
	}
	return n, nil
}

// RequeueMessage puts a claimed message back in the outbox, to be claimed
// again from next on; errorCode says why it is waiting ("" keeps the last).
func (t *Tx) RequeueMessage(id int64, next time.Time, errorCode string, now time.Time) error {
	_, err := t.exec(`UPDATE messages SET claimed_by = '', claim = 0, called_at = 0, next_attempt_at = ?, error_code = CASE WHEN ? = '' THEN error_code ELSE ? END, updated_at = ?
WHERE id = ? AND `+claimed, micros(next), errorCode, errorCode, micros(now), id)
	return err
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
	rows, err := t.query(`SELECT id, run_id, step_id, flow_id FROM messages WHERE contact_id = ? AND status = 'queued' AND claim = 0 AND run_id IS NOT NULL`, contactID)
	if err != nil {
		return nil, err
	}
	out, err := collect(rows, func(r *sql.Rows) (m CanceledMessage, err error) {
		var step sql.NullString
		err = r.Scan(&m.ID, &m.RunID, &step, &m.FlowID)
		m.StepID = step.String
		return m, err
	})
	if err != nil {
		return nil, err
	}
	for _, m := range out {
		if _, err := t.exec(`UPDATE messages SET status = 'canceled', error_code = ?, updated_at = ? WHERE id = ? AND status = 'queued' AND claim = 0`, code, micros(now), m.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Unreconciled is the error code of an "unknown" message the provider's
// records could not settle: left for an operator, not asked about again.
const Unreconciled = "unreconciled"

// Interrupted is an "unknown" message whose provider call a crash
// interrupted, with when the call was marked started (zero when not known).
type Interrupted struct {
	*smsflow.Message
	CalledAt time.Time
}

// InterruptedMessages returns up to limit outbound "unknown" messages
// without a provider id that provider may have taken (their provider is it
// or not recorded), oldest first: those a crash interrupted (error_code
// interrupted) and those whose answer was lost (a timeout), which
// reconciliation asks the provider about. Those it could not settle
// (unreconciled) are left for an operator.
func (db *DB) InterruptedMessages(ctx context.Context, provider string, limit int) ([]Interrupted, error) {
	rows, err := db.ReadQuery(ctx, `SELECT `+outboundColumns+`, called_at FROM messages
WHERE direction = 'out' AND provider IN ('', ?) AND status = 'unknown' AND provider_id = '' AND error_code <> ? ORDER BY id LIMIT ?`, provider, Unreconciled, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r *sql.Rows) (Interrupted, error) {
		var called int64
		m, err := scanOutbound(scanFunc(func(dest ...any) error { return r.Scan(append(dest, &called)...) }))
		if err != nil {
			return Interrupted{}, err
		}
		it := Interrupted{Message: m}
		if called > 0 {
			it.CalledAt = fromMicros(called)
		}
		return it, nil
	})
}

// scanFunc adapts a scan with extra columns to scanner.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// SettleUnknown records an "unknown" message as received by provider under
// providerID with status (sent, delivered …): reconciliation found it, or
// a status callback named it. It reports false when the message was no
// longer unknown.
func (t *Tx) SettleUnknown(id int64, provider, providerID, status string, now time.Time) (bool, error) {
	res, err := t.exec(`UPDATE messages SET status = ?, provider = ?, provider_id = ?, error_code = '', updated_at = ? WHERE id = ? AND status = 'unknown'`,
		status, provider, providerID, micros(now), id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// RequeueUnknown puts an "unknown" message back in the outbox, due at
// once, recording why (errorCode): the provider certainly did not receive
// it, or an operator asked to send it again. It reports false when the
// message was no longer unknown.
func (t *Tx) RequeueUnknown(id int64, errorCode string, now time.Time) (bool, error) {
	res, err := t.exec(`UPDATE messages SET status = 'queued', next_attempt_at = ?, error_code = ?, claimed_by = '', claim = 0, called_at = 0, updated_at = ? WHERE id = ? AND status = 'unknown'`,
		micros(now), errorCode, micros(now), id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// GiveUpUnknown records that an operator gave up on an "unknown" message:
// canceled with errorCode, never resent. It reports false when the message
// was not unknown (or not there).
func (t *Tx) GiveUpUnknown(id int64, errorCode string, now time.Time) (bool, error) {
	res, err := t.exec(`UPDATE messages SET status = 'canceled', error_code = ?, updated_at = ? WHERE id = ? AND status = 'unknown'`, errorCode, micros(now), id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
