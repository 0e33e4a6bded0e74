package store

import (
	"context"
	"database/sql"
	"errors"
)

// Setting returns a stored setting and whether it exists.
func (db *DB) Setting(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := db.queryRowRead(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return v, err == nil, err
}

// SettingOrInit returns a stored setting, storing init() first when it is
// missing; when two processes race, the first stored value wins for both.
func (db *DB) SettingOrInit(ctx context.Context, key string, init func() string) (value string, created bool, err error) {
	err = db.WriteTx(ctx, func(t *Tx) error {
		err := t.queryRow(`SELECT value FROM settings WHERE key = ?`, key).Scan(&value)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		value, created = init(), true
		_, err = t.exec(`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, value)
		return err
	})
	if err != nil || !created {
		return value, created, err
	}
	// Re-read: on PostgreSQL another node may have won the insert.
	v, _, err := db.Setting(ctx, key)
	return v, v == value, err
}
