// Package sqlite is smsflow's embedded database: SQLite through the pure-Go
// modernc.org/sqlite driver (no cgo). One writer connection, a pool of
// readers, WAL journal, synchronous=NORMAL (an acknowledged write survives a
// crash of the process; set SMSFLOW_SQLITE_SYNCHRONOUS=FULL to survive power
// loss too).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/smsflow/smsflow/store"
	"modernc.org/sqlite" // also registers the "sqlite" database/sql driver
)

//go:embed migrations/*.sql
var migrations embed.FS

func init() {
	store.Register("sqlite", func(path string, opt store.OpenOptions) (*store.DB, error) { return OpenWith(path, opt) })
}

type dialect struct{}

func (dialect) Name() string       { return "sqlite" }
func (dialect) SkipLocked() string { return "" }
func (dialect) RoundTrips() bool   { return false }
func (dialect) LockRow() string    { return "" }

// IndexedBy names the index a statement must use: without statistics
// SQLite's planner prefers an equality on an index's first column over a
// partial index that also gives the order (the message log's inbound
// texts: messages_status and a sort, not messages_inbound in order).
func (dialect) IndexedBy(index string) string { return " INDEXED BY " + index }
func (dialect) Rebind(q string) string        { return q }
func (dialect) Migrations() fs.FS             { m, _ := fs.Sub(migrations, "migrations"); return m }

// uriPath escapes what SQLite's URI filenames give a meaning to: a path
// holding "#" or "?" would otherwise open another file (the part before it).
var uriPath = strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23")

// Busy reports SQLITE_BUSY and SQLITE_LOCKED (extended codes included):
// another connection held the lock past busy_timeout.
func (dialect) Busy(err error) bool {
	var e *sqlite.Error
	if errors.As(err, &e) {
		switch e.Code() & 0xff {
		case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
			return true
		}
	}
	return false
}

// QuickCheck runs PRAGMA quick_check (at most 20 problems listed) and
// returns its lines unless it says "ok". An error that says the file is
// damaged ("database disk image is malformed", "file is not a database") is
// a problem too, not an error of the check.
func (dialect) QuickCheck(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, `PRAGMA quick_check(20)`)
	if err != nil {
		return damaged(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return damaged(err)
		}
		lines = append(lines, l)
	}
	if err := rows.Err(); err != nil {
		return damaged(err)
	}
	if len(lines) == 1 && lines[0] == "ok" {
		return nil, nil
	}
	if len(lines) == 0 {
		return []string{"PRAGMA quick_check returned nothing"}, nil
	}
	return lines, nil
}

// damaged turns SQLITE_CORRUPT (11) and SQLITE_NOTADB (26) into a problem.
func damaged(err error) ([]string, error) {
	var e *sqlite.Error
	if errors.As(err, &e) && (e.Code()&0xff == 11 || e.Code()&0xff == 26) {
		return []string{err.Error()}, nil
	}
	return nil, err
}

// MissingTable reports SQLite's "no such table".
func (dialect) MissingTable(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no such table")
}

// Open opens the SQLite database file at path, creating the file (not its
// directory) when it is missing.
func Open(path string) (*store.DB, error) { return OpenWith(path, store.OpenOptions{}) }

// OpenWith is Open with options: with MustExist a missing file is an error
// wrapping store.ErrNoDatabase, and SQLite is told not to create one
// (mode=rw). A missing directory is always an error: a typo in --db must not
// leave a new directory tree and an empty database behind.
func OpenWith(path string, opt store.OpenOptions) (*store.DB, error) {
	if path == "" {
		return nil, fmt.Errorf("sqlite: empty path; use sqlite:./smsflow.db")
	}
	if strings.HasPrefix(path, "file:") || path == ":memory:" {
		return nil, fmt.Errorf("sqlite: give a file path (sqlite:./smsflow.db); in-memory databases are not supported because readers and the writer use separate connections")
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, fmt.Errorf("sqlite: %s is a directory; give the database file's path (like %s)", path, filepath.Join(path, "smsflow.db"))
	} else if errors.Is(err, fs.ErrNotExist) {
		if opt.MustExist {
			return nil, fmt.Errorf("%w at %s (start `smsflow serve` first, or pass --db)", store.ErrNoDatabase, path)
		}
		dir := filepath.Dir(path)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("sqlite: the directory %s for the database %s does not exist; create it first (smsflow creates the database file, not directories)", dir, path)
		}
	}
	sync := strings.ToUpper(os.Getenv("SMSFLOW_SQLITE_SYNCHRONOUS"))
	if sync == "" {
		sync = "NORMAL"
	}
	if sync != "NORMAL" && sync != "FULL" {
		return nil, fmt.Errorf("sqlite: SMSFLOW_SQLITE_SYNCHRONOUS must be NORMAL or FULL, not %q", sync)
	}
	busy := BusyTimeout
	if opt.BusyTimeout > 0 {
		busy = opt.BusyTimeout
	}
	pragmas := []string{fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()), "journal_mode(WAL)", "synchronous(" + sync + ")", "foreign_keys(1)", "temp_store(memory)", "wal_autocheckpoint(0)"}
	dsn := func(txlock string, cacheKiB int) string {
		q := url.Values{}
		for _, p := range pragmas {
			q.Add("_pragma", p)
		}
		q.Add("_pragma", fmt.Sprintf("cache_size(-%d)", cacheKiB))
		q.Set("_txlock", txlock)
		if opt.MustExist {
			q.Set("mode", "rw") // never create the file
		}
		return "file:" + uriPath.Replace(path) + "?" + q.Encode()
	}
	w, err := sql.Open("sqlite", dsn("immediate", WriterCacheKiB))
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
	r, err := sql.Open("sqlite", dsn("deferred", ReaderCacheKiB))
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
	scan, err := sql.Open("sqlite", dsn("deferred", ReaderCacheKiB)+"&_pragma="+url.QueryEscape("mmap_size(1073741824)"))
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

// BusyTimeout is how long a connection waits for another's write lock before
// SQLITE_BUSY. It must cover the longest write transaction of any process
// sharing the file: smsflow's own are short, and `smsflow import` keeps its
// transactions to tens of milliseconds and pauses between them
// (ingest.Importer), so a running server never gets SQLITE_BUSY from it.
const BusyTimeout = 10 * time.Second

// Page cache sizes. Each cached 4 KiB page costs about 8 KiB of resident
// memory (the page, its header, and the allocator's rounding up): with
// 1,000,000 waiting runs, a 32 MiB writer cache instead of 64 MiB took RSS
// from 176 MB to 113 MB. The writer, which holds the engine's and the
// ingest's working set, keeps 64 MiB (32 MiB measured 13,820/12,926 timers/s
// against 13,967/16,036 in bench timers --runs 300000 --window 6s: within the
// noise, but not better). A reader keeps 8 MiB: in WAL mode a reader drops
// its cached pages whenever another connection has written since its last
// read, which the writer does all the time, so a large reader cache bought
// only resident memory (RSS waiting 194 → 176 MB).
const (
	WriterCacheKiB = 64 << 10
	ReaderCacheKiB = 8 << 10
)

// CheckpointInterval is how often the WAL is copied back into the database
// file. Checkpoints run here, on a reader connection, instead of inside the
// writer's commits (wal_autocheckpoint is off), so a commit never waits for a
// checkpoint's fsync.
const CheckpointInterval = 500 * time.Millisecond
