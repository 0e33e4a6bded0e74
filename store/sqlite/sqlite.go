// Package sqlite is smsflow's embedded database: SQLite through the pure-Go
// modernc.org/sqlite driver (no cgo). One writer connection, a pool of
// readers, WAL journal, synchronous=NORMAL (an acknowledged write survives a
// crash of the process; set SMSFLOW_SQLITE_SYNCHRONOUS=FULL to survive power
// loss too).
package sqlite

import (
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/smsflow/smsflow/store"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

//go:embed migrations/*.sql
var migrations embed.FS

func init() { store.Register("sqlite", Open) }

type dialect struct{}

func (dialect) Name() string           { return "sqlite" }
func (dialect) SkipLocked() string     { return "" }
func (dialect) RoundTrips() bool       { return false }
func (dialect) LockRow() string        { return "" }
func (dialect) Rebind(q string) string { return q }
func (dialect) Migrations() fs.FS      { m, _ := fs.Sub(migrations, "migrations"); return m }

// Open opens (creating if needed) the SQLite database file at path.
func Open(path string) (*store.DB, error) {
	if path == "" {
		return nil, fmt.Errorf("sqlite: empty path; use sqlite:./smsflow.db")
	}
	if strings.HasPrefix(path, "file:") || path == ":memory:" {
		return nil, fmt.Errorf("sqlite: give a file path (sqlite:./smsflow.db); in-memory databases are not supported because readers and the writer use separate connections")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("sqlite: create directory for %s: %w", path, err)
		}
	}
	sync := strings.ToUpper(os.Getenv("SMSFLOW_SQLITE_SYNCHRONOUS"))
	if sync == "" {
		sync = "NORMAL"
	}
	if sync != "NORMAL" && sync != "FULL" {
		return nil, fmt.Errorf("sqlite: SMSFLOW_SQLITE_SYNCHRONOUS must be NORMAL or FULL, not %q", sync)
	}
	pragmas := []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(" + sync + ")", "foreign_keys(1)", "cache_size(-65536)", "temp_store(memory)", "wal_autocheckpoint(0)"}
	dsn := func(txlock string) string {
		q := url.Values{}
		for _, p := range pragmas {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", txlock)
		return "file:" + path + "?" + q.Encode()
	}
	w, err := sql.Open("sqlite", dsn("immediate"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.Ping(); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn("deferred"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	// Reports scan through their own readers, which map the file (mmap_size,
	// 1 GiB): a page read is a memory access instead of a read call and a
	// copy, most of the time of a report over a million rows (docs/decisions.md
	// D25). Only they: mapped pages count in the process's RSS, and the
	// serving path must stay small with a large database. Connections open
	// on first use and close when idle.
	scan, err := sql.Open("sqlite", dsn("deferred")+"&_pragma="+url.QueryEscape("mmap_size(1073741824)"))
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	scan.SetMaxOpenConns(4)
	scan.SetMaxIdleConns(4)
	scan.SetConnMaxIdleTime(time.Minute)
	db := store.New(dialect{}, w, r)
	db.SetScanPool(scan)
	// PASSIVE never blocks the writer; a busy answer just means "later".
	db.Every(CheckpointInterval, func() { r.Exec(`PRAGMA wal_checkpoint(PASSIVE)`) })
	return db, nil
}

// CheckpointInterval is how often the WAL is copied back into the database
// file. Checkpoints run here, on a reader connection, instead of inside the
// writer's commits (wal_autocheckpoint is off), so a commit never waits for a
// checkpoint's fsync.
const CheckpointInterval = 500 * time.Millisecond
