package store

import "context"

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
func (t *Tx) AddInbox(contactID string, eventSeq int64) error {
	return t.AddInboxItems([]InboxItem{{ContactID: contactID, EventSeq: eventSeq}})
}

// AddInboxItems queues events for the engine in multi-row statements, in
// order (their Seq is given by the database).
func (t *Tx) AddInboxItems(items []InboxItem) error {
	if len(items) == 0 {
		return nil
	}
	rows := make([][]any, len(items))
	for i, it := range items {
		rows[i] = []any{it.ContactID, it.EventSeq}
	}
	return t.execRows(`INSERT INTO inbox (contact_id, event_seq) VALUES `, `(?, ?)`, ``, rows)
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
