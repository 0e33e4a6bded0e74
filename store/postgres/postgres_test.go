package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
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

// smsflow leaves plan_cache_mode to the server (auto, D104), except on the
// reports' scan pool, which plans each query for its values; a
// plan_cache_mode in the URL wins for both.
func TestOnlyReportsArePlannedForTheirValues(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	ctx := context.Background()
	modes := func(dsn string) (pool, scan string) {
		t.Helper()
		db, err := store.Open(dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.QueryRowForTest(ctx, `SHOW plan_cache_mode`).Scan(&pool); err != nil {
			t.Fatal(err)
		}
		if err := db.ReadQueryRow(ctx, `SHOW plan_cache_mode`).Scan(&scan); err != nil {
			t.Fatal(err)
		}
		return pool, scan
	}
	var server string
	if err := openRaw(t, dsn).QueryRowContext(ctx, `SELECT boot_val FROM pg_settings WHERE name = 'plan_cache_mode'`).Scan(&server); err != nil {
		t.Fatal(err)
	}
	if pool, scan := modes(dsn); pool != server || scan != "force_custom_plan" {
		t.Errorf("plan_cache_mode %q, reports' scans %q: want the server's default %q, and force_custom_plan", pool, scan, server)
	}
	if pool, scan := modes(withParam(t, dsn, "plan_cache_mode", "force_generic_plan")); pool != "force_generic_plan" || scan != "force_generic_plan" {
		t.Errorf("URL's plan_cache_mode=force_generic_plan: got %q, reports' scans %q", pool, scan)
	}
}

// A statement kept prepared and planned while its table was small keeps its
// plan as the table grows — a sequential scan, whether the plan was made for
// the values or generic — until an ANALYZE replaces it; the statistics
// keeper runs that ANALYZE once the table has grown (D34, D104).
func TestAYoungPlanEndsWithTheKeepersAnalyze(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	ctx := context.Background()
	storetest.OpenMigrated(t, dsn)
	raw := openRaw(t, dsn)
	raw.SetMaxOpenConns(1) // one session: the prepared statement is its own
	conn, err := raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// The runs of sixty-four contacts asked for at once, as the engine's
	// batches do.
	var params, values []string
	for i := 1; i <= 64; i++ {
		params = append(params, fmt.Sprintf("$%d", i))
		values = append(values, fmt.Sprintf("'c%d'", i))
	}
	args := strings.Join(values, ", ")
	plan := func() string {
		t.Helper()
		rows, err := conn.QueryContext(ctx, `EXPLAIN EXECUTE batch(`+args+`)`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var lines []string
		for rows.Next() {
			var l string
			if err := rows.Scan(&l); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, l)
		}
		return strings.Join(lines, "\n")
	}
	exec(`SET plan_cache_mode = auto`)
	// Only smsflow analyzes the table here, not autovacuum.
	exec(`ALTER TABLE runs SET (autovacuum_enabled = false)`)
	insertRuns := func(n, contacts int) {
		exec(fmt.Sprintf(`INSERT INTO runs (flow_id, flow_version, contact_id, status, entered_at, updated_at)
SELECT 'f', 1, 'c' || (i %% %d), 'active', 0, 0 FROM generate_series(1, %d) AS i`, contacts, n))
	}
	insertRuns(20, 20)
	exec(`PREPARE batch AS SELECT id FROM runs WHERE contact_id IN (` + strings.Join(params, ", ") + `)`)
	for range 6 { // past the five executions after which a generic plan may be chosen
		exec(`EXECUTE batch(` + args + `)`)
	}
	if p := plan(); !strings.Contains(p, "Seq Scan") {
		t.Fatalf("20 runs, 64 contacts asked for: expected a sequential scan to begin with, got\n%s", p)
	}
	insertRuns(50000, 25000)
	exec(`SELECT pg_stat_force_next_flush()`)
	if p := plan(); !strings.Contains(p, "Seq Scan") {
		t.Fatalf("the table grew with no ANALYZE: the young plan was expected to stay (the hazard this test guards), got\n%s", p)
	}
	postgres.KeepStatistics(openRaw(t, dsn))
	if p := plan(); strings.Contains(p, "Seq Scan") {
		t.Fatalf("after the keeper's pass over 50,020 runs the statement still scans the table:\n%s", p)
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
	exec(`INSERT INTO contacts (id, created_at, updated_at) SELECT 'd' || i, 0, 0 FROM generate_series(1, 2500) AS i`)
	postgres.KeepStatistics(raw)
	if _, m := analyzed(); m != n {
		t.Fatalf("the table grew from 3,000 to 5,500 rows (not twofold): analyzed again (%d → %d analyses)", n, m)
	}
	exec(`INSERT INTO contacts (id, created_at, updated_at) SELECT 'e' || i, 0, 0 FROM generate_series(1, 1000) AS i`)
	postgres.KeepStatistics(raw)
	if _, m := analyzed(); m == n {
		t.Fatal("the table grew from 3,000 to 6,500 rows: not analyzed")
	}
}
