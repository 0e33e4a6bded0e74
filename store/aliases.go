package store

import (
	"database/sql"
	"errors"
)

// AliasContact returns the contact an alias (an anonymousId or a former id)
// points to, or "" when it points nowhere.
func (t *Tx) AliasContact(alias string) (string, error) {
	var id string
	err := t.queryRow(`SELECT contact_id FROM aliases WHERE alias = ?`, alias).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// SetAlias points an alias at a contact.
func (t *Tx) SetAlias(alias, contactID string) error {
	_, err := t.exec(`INSERT INTO aliases (alias, contact_id) VALUES (?, ?) ON CONFLICT (alias) DO UPDATE SET contact_id = excluded.contact_id`, alias, contactID)
	return err
}
