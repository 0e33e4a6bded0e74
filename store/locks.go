package store

import (
	"database/sql"
	"errors"
	"fmt"
)

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

// lockNumber locks the contact that holds a number until commit
// (PostgreSQL), so that appends to the number's ledger, and the checks
// before them, happen one at a time. Callers that already hold the lock
// (Inbound, Shopify, carrier opt-outs) take it again at no cost; SQLite's
// single writer needs none.
func (t *Tx) lockNumber(phone string) error {
	if t.db.dialect.LockRow() == "" {
		return nil
	}
	var id string
	err := t.queryRow(`SELECT id FROM contacts WHERE phone = ?`+t.db.dialect.LockRow(), phone).Scan(&id)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("lock the number's contact: %w", err)
	}
	return nil
}
