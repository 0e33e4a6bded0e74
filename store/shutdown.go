package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// cleanShutdownKey is the settings row a server writes as the last thing it
// does before closing the database cleanly, and deletes once it has
// started: a server that finds it missing was not shut down cleanly (a
// crash, kill -9, power loss) and checks the file first. Only servers write
// or read it; import, migrate and the read-only commands leave it alone.
const cleanShutdownKey = "clean_shutdown"

// An integrityChecker is a Dialect that can check its own storage for
// damage (SQLite: PRAGMA quick_check). PostgreSQL checks its own pages and
// recovers from its WAL; it has none.
type integrityChecker interface {
	QuickCheck(ctx context.Context, db *sql.DB) (problems []string, err error)
}

// ChecksIntegrity reports whether the database can check its file for
// damage (SQLite), and so keeps a clean-shutdown mark.
func (db *DB) ChecksIntegrity() bool {
	_, ok := db.dialect.(integrityChecker)
	return ok
}

// QuickCheck checks the database's storage for damage and returns what is
// wrong (none: it is sound). On SQLite it is PRAGMA quick_check: every page
// of every table and index is read, so it takes time in proportion to the
// file's size. A database that cannot check itself returns none.
func (db *DB) QuickCheck(ctx context.Context) ([]string, error) {
	c, ok := db.dialect.(integrityChecker)
	if !ok {
		return nil, nil
	}
	return c.QuickCheck(ctx, db.read)
}

// ShutDownCleanly reports whether the last server to use the database wrote
// the clean-shutdown mark (MarkCleanShutdown) and no server has started on
// it since. A database without the mark, or whose settings cannot be read,
// was not shut down cleanly.
func (db *DB) ShutDownCleanly(ctx context.Context) bool {
	_, ok, err := db.Setting(ctx, cleanShutdownKey)
	return err == nil && ok
}

// ClearCleanShutdown removes the mark: a server does it once it has started,
// so that a crash leaves the database without one.
func (db *DB) ClearCleanShutdown(ctx context.Context) error {
	return db.WriteTx(ctx, func(t *Tx) error {
		_, err := t.exec(`DELETE FROM settings WHERE key = ?`, cleanShutdownKey)
		return err
	})
}

// MarkCleanShutdown writes the mark, with the time: a server does it last,
// after its work has stopped, right before it closes the database.
func (db *DB) MarkCleanShutdown(ctx context.Context, at time.Time) error {
	if err := db.WriteTx(ctx, func(t *Tx) error {
		_, err := t.exec(`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, cleanShutdownKey, at.UTC().Format(time.RFC3339))
		return err
	}); err != nil {
		return errors.Join(errors.New("write the clean-shutdown mark"), err)
	}
	return nil
}
