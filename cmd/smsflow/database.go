package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/smsflow/smsflow/store"
	_ "github.com/smsflow/smsflow/store/postgres" // register the driver
	_ "github.com/smsflow/smsflow/store/sqlite"   // register the driver
)

// openDB opens and migrates the configured database.
func openDB(ctx context.Context, dsn string, log *slog.Logger) (*store.DB, error) {
	db, err := store.Open(dsn)
	if err != nil {
		return nil, err
	}
	return migrated(ctx, db, dsn, log)
}

// openServing is openDB for a server: on a database that keeps a
// clean-shutdown mark (SQLite), a server that finds none — the last one
// crashed, was killed, or lost power — checks the file (PRAGMA quick_check)
// before it migrates or serves anything, and refuses to start on a damaged
// one, saying how to recover. A server that started removes the mark; its
// clean stop writes it again (app.Stop).
func openServing(ctx context.Context, dsn string, log *slog.Logger) (*store.DB, error) {
	db, err := store.Open(dsn)
	if err != nil {
		return nil, err
	}
	if db.ChecksIntegrity() {
		if none, _, err := db.SchemaState(ctx); err != nil || !none { // a new, empty database needs no check
			if !db.ShutDownCleanly(ctx) {
				if err := checkAfterCrash(ctx, db, dsn, log); err != nil {
					db.Close()
					return nil, err
				}
			}
		}
	}
	if db, err = migrated(ctx, db, dsn, log); err != nil {
		return nil, err
	}
	if db.ChecksIntegrity() {
		if err := db.ClearCleanShutdown(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("clear the clean-shutdown mark: %w", err)
		}
	}
	// The connections open before the first request, not under it.
	if err := db.Warm(ctx); err != nil {
		log.Warn("some database connections could not be opened ahead of traffic; they will open as requests need them", "err", err)
	}
	return db, nil
}

// checkAfterCrash runs the database's quick check and turns problems into an
// error that says what to do.
func checkAfterCrash(ctx context.Context, db *store.DB, dsn string, log *slog.Logger) error {
	log.Warn("the database was not shut down cleanly; checking it for damage (PRAGMA quick_check) before starting", "db", store.RedactDSN(dsn))
	start := time.Now()
	problems, err := db.QuickCheck(ctx)
	if err != nil {
		return fmt.Errorf("check %s after an unclean shutdown: %w", store.RedactDSN(dsn), err)
	}
	if len(problems) == 0 {
		log.Info("database check passed", "took", time.Since(start).Round(time.Millisecond))
		return nil
	}
	path := strings.TrimPrefix(dsn, "sqlite:")
	return fmt.Errorf(`the database %s is damaged, so smsflow will not start on it. PRAGMA quick_check found:
  %s
What to do:
  1. Stop every smsflow process using it, and copy %s, %s-wal and %s-shm aside as they are.
  2. Restore your latest backup; or save what can still be read into a new file with the sqlite3 command-line tool:
       sqlite3 %s ".recover" | sqlite3 %s
     check the new file (sqlite3 %s "PRAGMA integrity_check" prints ok) and start with --db sqlite:%s
     (rows on the damaged pages are lost; opt-outs among them must be recorded again).`,
		path, strings.Join(problems, "\n  "), path, path, path, path, recoveredPath(path), recoveredPath(path), recoveredPath(path))
}

// recoveredPath names the file a recovery writes next to path.
func recoveredPath(path string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-recovered" + ext
}

// migrated applies the pending migrations to db (closing it on failure).
func migrated(ctx context.Context, db *store.DB, dsn string, log *slog.Logger) (*store.DB, error) {
	n, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", store.RedactDSN(dsn), err)
	}
	if n > 0 {
		log.Info("database migrated", "db", store.RedactDSN(dsn), "applied", n)
	}
	return db, nil
}

// openExisting opens the configured database for a command that must not
// create one (keys, report; any command that only reads or changes rows of
// a running installation): a SQLite file that is not there, or a database
// without smsflow's schema, is an error saying what to do, and the schema
// is never migrated — a newer binary run for a report does not change the
// schema under the servers still running the old one. Only serve, migrate
// and import create a database or its schema (openDB).
func openExisting(ctx context.Context, dsn string) (*store.DB, error) {
	db, err := store.OpenWith(dsn, store.OpenOptions{MustExist: true})
	if err != nil {
		return nil, err
	}
	none, pending, err := db.SchemaState(ctx)
	switch {
	case err != nil:
		db.Close()
		return nil, fmt.Errorf("%s: %w", store.RedactDSN(dsn), err)
	case none:
		db.Close()
		return nil, fmt.Errorf("no smsflow schema in %s (start `smsflow serve` first, or run `smsflow migrate`, or pass --db)", store.RedactDSN(dsn))
	case len(pending) > 0:
		db.Close()
		return nil, fmt.Errorf("the smsflow schema in %s is older than this smsflow (%d migration(s) to apply, from %s): run `smsflow migrate --db …` or start `smsflow serve` first", store.RedactDSN(dsn), len(pending), pending[0])
	}
	return db, nil
}
