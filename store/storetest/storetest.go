// Package storetest runs tests against every database smsflow supports: a
// fresh SQLite file always, and PostgreSQL when SMSFLOW_TEST_POSTGRES holds a
// URL (CI always sets it). Each PostgreSQL test gets its own schema, so tests
// never see each other's rows.
//
// It also holds the storage contract (Exercise, contract_*.go): what every
// exported method of store.DB and store.Tx promises, checked on each
// database by the driver packages' TestContract.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/smsflow/smsflow/store"
	_ "github.com/smsflow/smsflow/store/postgres" // register the driver
	_ "github.com/smsflow/smsflow/store/sqlite"   // register the driver
)

// PostgresEnv names the variable holding the test PostgreSQL URL.
const PostgresEnv = "SMSFLOW_TEST_POSTGRES"

var skipOnce sync.Once

// Each runs fn once per database as a subtest ("sqlite", "postgres"), with a
// fresh, migrated database that is closed when the subtest ends.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, OpenSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, OpenPostgres(t)) })
}

// DSNs returns a fresh DSN per database kind, for tests that start a whole
// server: "sqlite:…" always, and a postgres:// URL with its own schema when
// PostgreSQL is available.
func DSNs(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{"sqlite": "sqlite:" + filepath.Join(t.TempDir(), "smsflow.db")}
	if os.Getenv(PostgresEnv) != "" {
		out["postgres"] = PostgresDSN(t)
	}
	return out
}

// OpenSQLite opens a migrated SQLite database in a temporary directory.
func OpenSQLite(t testing.TB) *store.DB {
	t.Helper()
	return OpenMigrated(t, "sqlite:"+filepath.Join(t.TempDir(), "smsflow.db"))
}

// OpenPostgres opens a migrated PostgreSQL database in a schema of its own,
// or skips the test (with a message saying how to run it) when
// SMSFLOW_TEST_POSTGRES is unset.
func OpenPostgres(t testing.TB) *store.DB {
	t.Helper()
	return OpenMigrated(t, PostgresDSN(t))
}

// PostgresDSN creates a schema for this test and returns a URL that uses it;
// the schema is dropped when the test ends. Skips without PostgreSQL.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		skipOnce.Do(func() {
			t.Logf("%s is not set: PostgreSQL tests are skipped (CI sets it; locally: export %s=postgres://user:pass@127.0.0.1:5432/db)", PostgresEnv, PostgresEnv)
		})
		t.Skipf("PostgreSQL half skipped: %s is not set", PostgresEnv)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", PostgresEnv, err)
	}
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		admin.Close()
		t.Fatalf("create schema (is PostgreSQL at %s running?): %v", PostgresEnv, err)
	}
	t.Cleanup(func() {
		admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s is not a URL: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// OpenMigrated opens the database at dsn and migrates it; it is closed when
// the test ends.
func OpenMigrated(t testing.TB, dsn string) *store.DB {
	t.Helper()
	db, err := store.Open(dsn)
	if err != nil {
		t.Fatalf("open %s: %v", store.Scheme(dsn), err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}
