package store

import (
	"fmt"
	"time"
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
	rows, err := t.query(`SELECT id, provider, provider_id, status, error_code, at, received_at FROM pending_receipts
WHERE provider = ? AND provider_id = ? ORDER BY id`, provider, providerID)
	if err != nil {
		return nil, fmt.Errorf("pending receipts: %w", err)
	}
	var out []PendingReceipt
	for rows.Next() {
		var r PendingReceipt
		var at, recv int64
		if err := rows.Scan(&r.ID, &r.Provider, &r.ProviderID, &r.Status, &r.ErrorCode, &at, &recv); err != nil {
			rows.Close()
			return nil, err
		}
		r.At, r.ReceivedAt = fromMicros(at), fromMicros(recv)
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
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
	rows, err := t.query(`SELECT p.id, p.provider, p.provider_id, p.status, p.error_code, p.at, p.received_at FROM pending_receipts p
WHERE EXISTS (SELECT 1 FROM messages m WHERE m.provider = p.provider AND m.provider_id = p.provider_id AND m.provider_id <> '' AND m.direction = 'out')
ORDER BY p.id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("matched pending receipts: %w", err)
	}
	defer rows.Close()
	var out []PendingReceipt
	for rows.Next() {
		var r PendingReceipt
		var at, recv int64
		if err := rows.Scan(&r.ID, &r.Provider, &r.ProviderID, &r.Status, &r.ErrorCode, &at, &recv); err != nil {
			return nil, err
		}
		r.At, r.ReceivedAt = fromMicros(at), fromMicros(recv)
		out = append(out, r)
	}
	return out, rows.Err()
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
