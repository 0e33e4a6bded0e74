package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/smsflow/smsflow/store"
)

// freshDatabase returns the database a benchmark runs on and how to clean it up: a
// fresh SQLite file in a temporary directory when dsn is empty; for
// PostgreSQL, a fresh schema inside the given database, so a benchmark never
// sees another run's rows and leaves nothing behind — unless the URL sets
// search_path (then it is used as given). keep leaves the fresh file or
// schema in place (and says where). A given SQLite path is used as is.
func freshDatabase(ctx context.Context, dsn string, keep bool) (string, func(), error) {
	if dsn == "" {
		dir, err := os.MkdirTemp("", "smsflow-bench-")
		if err != nil {
			return "", nil, err
		}
		path := filepath.Join(dir, "bench.db")
		if keep {
			return "sqlite:" + path, func() { fmt.Fprintf(os.Stderr, "bench: kept database %s\n", path) }, nil
		}
		return "sqlite:" + path, func() { os.RemoveAll(dir) }, nil
	}
	if store.Scheme(dsn) != "postgres" {
		return dsn, func() {}, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", nil, fmt.Errorf("database URL: %w", err)
	}
	q := u.Query()
	if q.Get("search_path") != "" {
		return dsn, func() {}, nil
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "bench_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", nil, fmt.Errorf("open %s: %w", store.RedactDSN(dsn), err)
	}
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create schema %s in %s: %w", schema, store.RedactDSN(dsn), err)
	}
	drop := func() {
		if keep {
			fmt.Fprintf(os.Stderr, "bench: kept schema %s\n", schema)
		} else if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			fmt.Fprintf(os.Stderr, "bench: drop schema %s: %v\n", schema, err)
		}
		admin.Close()
	}
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// openDB opens the database and brings its schema up to date, as serve
// does before it serves.
func openDB(ctx context.Context, dsn string) (*store.DB, error) {
	db, err := store.Open(dsn)
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", store.RedactDSN(dsn), err)
	}
	return db, nil
}

// OpenSQL opens a plain database/sql handle on a smsflow database for
// reading the outcome while an app (or another process: the crash test's)
// runs on it: aggregates no store method answers (a segment job's progress,
// messages per contact), read outside the app's own connection pools so
// that polling does not queue in them.
func OpenSQL(dsn string) (*sql.DB, error) {
	if store.Scheme(dsn) == "postgres" {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", store.RedactDSN(dsn), err)
		}
		db.SetMaxOpenConns(4)
		return db, nil
	}
	path := strings.TrimPrefix(dsn, "sqlite:")
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // polling is one query at a time
	return db, nil
}

// rebind writes the ? placeholders of the benchmarks' SQL the database's way.
func rebind(dialect, q string) string {
	if dialect == "postgres" {
		return store.RebindDollar(q)
	}
	return q
}
