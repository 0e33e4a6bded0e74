package store

import (
	"context"

	"github.com/smsflow/smsflow"
)

// ConsumedReply says what consumed an inbound text (D100): a keyword
// ("keyword:stop") or a flow's run it resumed or started ("flow:ID/STEP").
type ConsumedReply struct {
	MessageID int64
	By        string
}

// ConsumeReplies marks inbound texts as consumed. A text keeps the first
// mark it gets: a later one (a revocation that a flow also waited for) is
// ignored, and an outbound message is never marked.
func (t *Tx) ConsumeReplies(rs []ConsumedReply) error {
	for _, r := range rs {
		if _, err := t.exec(`UPDATE messages SET consumed_by = ? WHERE id = ? AND direction = 'in' AND consumed_by = ''`, r.By, r.MessageID); err != nil {
			return err
		}
	}
	return nil
}

// Replies returns the latest inbound texts that nothing consumed — no
// keyword, no flow — newest first (by when they were recorded, then id):
// the web UI's inbox. It reads the messages_replies partial index in order,
// so its cost is the limit's, whatever the number of texts consumed.
func (db *DB) Replies(ctx context.Context, limit int) ([]*smsflow.Message, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	// The literals repeat the partial index's WHERE: a bound parameter
	// would not let either planner use it.
	rows, err := db.queryRead(ctx, `SELECT `+messageColumns+` FROM messages`+db.indexedBy("messages_replies")+`
WHERE direction = 'in' AND consumed_by = '' ORDER BY created_at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	return collectMessages(rows)
}
