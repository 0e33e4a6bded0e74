package postgres_test

import (
	"context"
	"database/sql"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/postgres"
	"github.com/smsflow/smsflow/store/storetest"
)

// contactsBurst makes the contacts table grow from nothing by 3,000 rows,
// with autovacuum turned off for it so that only smsflow can analyze it.
var contactsBurst = []string{
	`ALTER TABLE contacts SET (autovacuum_enabled = false)`,
	`INSERT INTO contacts (id, created_at, updated_at) SELECT 'c' || i, 0, 0 FROM generate_series(1, 3000) AS i`,
}

// openRaw is a connection pool of the test's own on dsn, for statements
// smsflow never runs; it is closed when t ends.
func openRaw(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// A table that grows from nothing gets planner statistics from smsflow
// itself (a manual ANALYZE: last_analyze), without waiting for autovacuum,
// which is turned off for the table so that only smsflow can analyze it.
func TestBurstGetsStatistics(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	ctx := context.Background()
	db := storetest.OpenMigrated(t, dsn)
	raw := openRaw(t, dsn)
	conn, err := raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range slices.Concat(contactsBurst, []string{
		`SELECT pg_stat_force_next_flush()`, // this session's counts reach pg_stat at once
	}) {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	limit := 4*postgres.StatisticsInterval + 30*time.Second
	deadline := time.Now().Add(limit)
	for {
		var last sql.NullTime
		var mod, live int64
		err := db.ReadQueryRow(ctx, `SELECT last_analyze, n_mod_since_analyze, n_live_tup FROM pg_stat_user_tables
WHERE schemaname = current_schema() AND relname = 'contacts'`).Scan(&last, &mod, &live)
		if err != nil {
			t.Fatal(err)
		}
		if last.Valid {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("contacts was not analyzed within %s of 3,000 inserts (pg_stat: %d rows changed since the last ANALYZE, %d live)", limit, mod, live)
		}
		time.Sleep(200 * time.Millisecond) // polling a condition, with a deadline
	}
}

// Statements stay prepared across transactions, so each execution is
// planned for its values (not a generic plan made while a table was young);
// a plan_cache_mode in the URL wins.
func TestStatementsArePlannedForTheirValues(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	ctx := context.Background()
	mode := func(dsn string) string {
		t.Helper()
		db, err := store.Open(dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var m string
		if err := db.ReadQueryRow(ctx, `SHOW plan_cache_mode`).Scan(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := mode(dsn); m != "force_custom_plan" {
		t.Errorf("plan_cache_mode %q, want force_custom_plan", m)
	}
	if m := mode(withParam(t, dsn, "plan_cache_mode", "auto")); m != "auto" {
		t.Errorf("URL's plan_cache_mode=auto: got %q", m)
	}
}

// A URL whose search_path names no schema fails to migrate with a message
// that says what to do.
func TestMigrateMissingSchemaSaysWhatToDo(t *testing.T) {
	db, err := store.Open(withParam(t, storetest.PostgresDSN(t), "search_path", "smsflow_no_such_schema"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = db.Migrate(context.Background())
	if err == nil || !strings.Contains(err.Error(), "create the schema first") {
		t.Fatalf("Migrate: %v; want the missing-schema hint", err)
	}
}

// withParam returns dsn with the query parameter key set to value.
func withParam(t *testing.T, dsn, key, value string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// The statistics keeper analyzes a table that grows, not one whose rows
// change: a message's row is updated two or three times on its way out, and
// counting those re-analyzed the messages every few seconds of a broadcast.
func TestStatisticsFollowGrowthNotUpdates(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	ctx := context.Background()
	db := storetest.OpenMigrated(t, dsn)
	raw := openRaw(t, dsn)
	raw.SetMaxOpenConns(1) // one session: its counts are flushed before the keeper looks
	exec := func(qs ...string) {
		t.Helper()
		for _, q := range append(qs, `SELECT pg_stat_force_next_flush()`) {
			if _, err := raw.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	analyzed := func() (last time.Time, count int64) {
		t.Helper()
		var at sql.NullTime
		if err := db.ReadQueryRow(ctx, `SELECT last_analyze, analyze_count FROM pg_stat_user_tables
WHERE schemaname = current_schema() AND relname = 'contacts'`).Scan(&at, &count); err != nil {
			t.Fatal(err)
		}
		return at.Time, count
	}
	exec(contactsBurst...)
	postgres.KeepStatistics(raw)
	first, n := analyzed()
	if n == 0 {
		t.Fatal("3,000 new rows in a table never analyzed: not analyzed")
	}
	exec(`UPDATE contacts SET updated_at = 1`, `UPDATE contacts SET updated_at = 2`)
	postgres.KeepStatistics(raw)
	if last, m := analyzed(); m != n || !last.Equal(first) {
		t.Fatalf("every row updated twice, none added: analyzed again (%d → %d analyses)", n, m)
	}
	exec(`INSERT INTO contacts (id, created_at, updated_at) SELECT 'd' || i, 0, 0 FROM generate_series(1, 6000) AS i`)
	postgres.KeepStatistics(raw)
	if _, m := analyzed(); m != n {
		t.Fatalf("the table grew from 3,000 to 9,000 rows (not fourfold): analyzed again (%d → %d analyses)", n, m)
	}
	exec(`INSERT INTO contacts (id, created_at, updated_at) SELECT 'e' || i, 0, 0 FROM generate_series(1, 4000) AS i`)
	postgres.KeepStatistics(raw)
	if _, m := analyzed(); m == n {
		t.Fatal("the table grew from 3,000 to 13,000 rows: not analyzed")
	}
}
