package store

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"slices"
	"strings"
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

// Settings returns the stored settings among keys (a missing key is absent
// from the map), read in one statement: a consistent view of settings
// written together by SetSettings (the API keys and a rotated key's grace).
func (db *DB) Settings(ctx context.Context, keys ...string) (map[string]string, error) {
	out := map[string]string{}
	if len(keys) == 0 {
		return out, nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	rows, err := db.queryRead(ctx, `SELECT key, value FROM settings WHERE key IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(keys)), ", ")+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

// SetSettings stores values (key → value), replacing what was there, in
// one transaction: readers see all of them or none.
func (db *DB) SetSettings(ctx context.Context, values map[string]string) error {
	return db.WriteTx(ctx, func(t *Tx) error {
		for _, k := range slices.Sorted(maps.Keys(values)) {
			if _, err := t.exec(`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, k, values[k]); err != nil {
				return err
			}
		}
		return nil
	})
}
