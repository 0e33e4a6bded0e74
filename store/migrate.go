package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrate applies every migration not yet applied, in order, each in its own
// transaction, and returns how many it applied.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return 0, fmt.Errorf("create schema_migrations: %w", advise(db.dialect, err))
	}
	applied := map[int64]bool{}
	rows, err := db.write.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return 0, fmt.Errorf("read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return 0, err
		}
		applied[v] = true
	}
	rows.Close()
	files, err := fs.Glob(db.dialect.Migrations(), "*.sql")
	if err != nil {
		return 0, err
	}
	sort.Strings(files)
	n := 0
	for _, f := range files {
		name := path.Base(f)
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil {
			return n, fmt.Errorf("migration %s: name must start with a number and an underscore", name)
		}
		if applied[v] {
			continue
		}
		body, err := fs.ReadFile(db.dialect.Migrations(), f)
		if err != nil {
			return n, err
		}
		err = db.WriteTx(ctx, func(t *Tx) error {
			if _, err := t.tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", name, err)
			}
			_, err := t.tx.ExecContext(ctx, db.dialect.Rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`), v, name, time.Now().UnixMicro())
			return err
		})
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// SchemaState says how far the database's schema is from this build's
// migrations, without changing anything: none when the database holds no
// smsflow schema at all (no schema_migrations table, or an empty one),
// otherwise the names of the migrations not applied yet (empty: up to date).
// A command that must not create or change a schema checks it first.
func (db *DB) SchemaState(ctx context.Context) (none bool, pending []string, err error) {
	rows, err := db.read.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		if m, ok := db.dialect.(tableMissing); ok && m.MissingTable(err) {
			return true, nil, nil
		}
		return false, nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	applied := map[int64]bool{}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return false, nil, err
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, nil, err
	}
	if len(applied) == 0 {
		return true, nil, nil
	}
	files, err := fs.Glob(db.dialect.Migrations(), "*.sql")
	if err != nil {
		return false, nil, err
	}
	sort.Strings(files)
	for _, f := range files {
		name := path.Base(f)
		num, _, _ := strings.Cut(name, "_")
		if v, err := strconv.ParseInt(num, 10, 64); err == nil && !applied[v] {
			pending = append(pending, name)
		}
	}
	return false, pending, nil
}

// SchemaVersion returns the highest applied migration number (0 if none).
func (db *DB) SchemaVersion(ctx context.Context) (int64, error) {
	var v sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	return v.Int64, err
}
