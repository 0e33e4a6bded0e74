// Package postgres is smsflow's PostgreSQL driver, through pgx's database/sql
// adapter. Several smsflow nodes may share one PostgreSQL database.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/smsflow/smsflow/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

func init() {
	// A PostgreSQL database is never created by smsflow: MustExist changes
	// nothing here (the schema check is store.SchemaState's).
	store.Register("postgres", func(url string, _ store.OpenOptions) (*store.DB, error) { return Open(url) })
}

type dialect struct{}

func (dialect) Name() string           { return "postgres" }
func (dialect) SkipLocked() string     { return " FOR UPDATE SKIP LOCKED" }
func (dialect) RoundTrips() bool       { return true }
func (dialect) LockRow() string        { return " FOR UPDATE" }
func (dialect) Rebind(q string) string { return store.RebindDollar(q) }
func (dialect) Migrations() fs.FS      { m, _ := fs.Sub(migrations, "migrations"); return m }

// sqlState is err's SQLSTATE code, "" when err is not from the server.
func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// Conflict reports a unique violation (23505), serialization failure
// (40001) or deadlock (40P01): another transaction wrote the same rows.
func (dialect) Conflict(err error) bool {
	switch sqlState(err) {
	case "23505", "40001", "40P01":
		return true
	}
	return false
}

// MissingTable reports undefined_table (42P01).
func (dialect) MissingTable(err error) bool { return sqlState(err) == "42P01" }

// Advise says what to do about the PostgreSQL errors a person can fix.
func (dialect) Advise(err error) string {
	if sqlState(err) == "3F000" { // invalid_schema_name
		return "the URL's search_path names no existing schema: create the schema first, or leave search_path out"
	}
	return ""
}

// Open connects to the PostgreSQL database at url (postgres://…).
//
// Statements stay prepared on each connection (store's statement cache), and
// PostgreSQL plans them as it does by default (plan_cache_mode auto): a plan
// for the values of each of the first five executions, then the generic
// plan, made once, when it costs no more than those. Until D104 every
// execution was planned for its values (force_custom_plan, D34): planning
// was then half the database's time at 500 events/s, where the batches are
// small (a claim took 0.5 ms to plan and 0.1 ms to run). What D34 saw — a
// sequential scan planned while `messages` was young, kept until the next
// ANALYZE — was the statistics' doing, not the generic plan's: a plan made
// for its values on a table grown since its last ANALYZE scans it just the
// same. An ANALYZE replaces the cached plans of its table, so the statistics
// keeper (keepStatistics) bounds both (TestAYoungPlanEndsWithTheKeepersAnalyze).
//
// The reports' scans (store.DB.ReadQuery, the scan pool) are the exception:
// a date range or a flow decides their best plan, and a generic plan made
// for one range slowed the flow page 3.5-fold (D104), while planning is a
// small part of a scan. They run on a pool of their own, planned for their
// values. A plan_cache_mode in the URL wins for both pools.
func Open(url string) (*store.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect: %w (is the server running and the URL right?)", err)
	}
	sdb := store.New(dialect{}, db, db)
	scfg := cfg.Copy()
	if _, set := scfg.RuntimeParams["plan_cache_mode"]; !set {
		scfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	scan := stdlib.OpenDB(*scfg)
	scan.SetMaxOpenConns(ScanConns)
	scan.SetMaxIdleConns(ScanConns)
	scan.SetConnMaxIdleTime(time.Minute)
	sdb.SetScanPool(scan)
	sdb.Every(StatisticsInterval, func() { keepStatistics(db) })
	return sdb, nil
}

// ScanConns bounds the connections of the reports' scans (the web UI's
// pages and their background figures): more than a few large scans at once
// only share the same cores.
const ScanConns = 4

// StatisticsInterval is how often keepStatistics looks at the tables.
const StatisticsInterval = 5 * time.Second

// statisticsDue names the tables keepStatistics analyzes.
const statisticsDue = `SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
WHERE s.schemaname = current_schema() AND s.n_live_tup > 1000
AND (s.n_live_tup > 2 * GREATEST(c.reltuples, 0) OR (s.last_analyze IS NULL AND s.last_autoanalyze IS NULL))`

// keepStatistics runs ANALYZE on a table of smsflow's schema that has
// more than 1,000 rows and either has never been analyzed or has more than
// doubled since its statistics were taken (pg_class.reltuples, which
// ANALYZE and VACUUM set). A young database that takes a burst — a launch, a
// first import, Black Friday — otherwise plans its batch queries (contact_id
// IN (…) over runs and messages) with no statistics until autovacuum's next
// pass, up to a minute later, and picks sequential scans: measured, p99
// trigger-to-send latency went from 48 ms to 150 ms after 50,000 runs (D33).
// Growth, not changes, is what it watches (D103): a sent message's row is
// updated two or three times (claim, outcome, receipt), so counting changes
// analyzed messages every few seconds of a broadcast (17.6 s of a
// 1,000,000-contact run's database time) for plans that did not change —
// the planner scales its row estimates by a table's current size. Not by
// more than twofold, though (D106): a table of dated rows grown fourfold
// has three quarters of its dates beyond its statistics, and the flow
// page's report over 1,000,000 runs seeded in a minute took 1,450 ms at
// p50 instead of 310. A table is analyzed at 1,000, 2,000, 4,000 … rows —
// at 1,000,000 rows one more ANALYZE than fourfold's, about 0.5 s — and
// autovacuum analyzes it as well once 10% of it changed.
func keepStatistics(db *sql.DB) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows, err := db.QueryContext(ctx, statisticsDue)
	if err != nil {
		return // best effort: the next tick tries again
	}
	var tables []string
	for rows.Next() {
		var name string
		if rows.Scan(&name) == nil {
			tables = append(tables, name)
		}
	}
	rows.Close()
	for _, name := range tables {
		// Best effort: a failure (another node analyzing, a stop) is retried
		// at the next tick. An autovacuum at work on the table yields to
		// this ANALYZE (PostgreSQL cancels it) and starts over a minute
		// later; skipping the table instead (SKIP_LOCKED) let autovacuum
		// vacuum a broadcast's messages while it ran, and cost the
		// 1,000,000-contact broadcast about a tenth of its sends/s (D108).
		_, _ = db.ExecContext(ctx, `ANALYZE `+pgx.Identifier{name}.Sanitize())
	}
}
