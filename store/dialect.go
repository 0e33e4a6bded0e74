package store

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"time"
)

// Dialect is what differs between databases. Everything else is shared SQL.
type Dialect interface {
	// Name is "sqlite" or "postgres".
	Name() string
	// Rebind turns the shared SQL's ? placeholders into the database's own.
	Rebind(query string) string
	// Migrations holds numbered files NNNN_name.sql applied in order.
	Migrations() fs.FS
	// SkipLocked is the clause that makes a SELECT claim rows other
	// transactions have not locked (" FOR UPDATE SKIP LOCKED" on PostgreSQL);
	// "" where one writer excludes everyone else (SQLite).
	SkipLocked() string
	// RoundTrips reports whether a statement costs a network round trip
	// (PostgreSQL), so batching rows into one statement pays; SQLite runs
	// in process.
	RoundTrips() bool
	// LockRow is the clause that locks the selected rows until commit
	// (" FOR UPDATE"); "" on SQLite.
	LockRow() string
}

// An adviser is a Dialect that can say what a person should do about an
// error of its database ("" when it has nothing to add).
type adviser interface {
	Advise(err error) string
}

// A tableMissing is a Dialect that tells the error of a query on a table
// that does not exist from other errors.
type tableMissing interface {
	MissingTable(err error) bool
}

// An indexHinter is a Dialect that can be told which index a statement's
// table must use (SQLite's INDEXED BY); PostgreSQL's planner, with its
// statistics, chooses by itself.
type indexHinter interface {
	IndexedBy(index string) string
}

// indexedBy is the clause that makes the table before it use index, where
// the database takes such hints ("" elsewhere).
func (db *DB) indexedBy(index string) string {
	if h, ok := db.dialect.(indexHinter); ok {
		return h.IndexedBy(index)
	}
	return ""
}

// A lockWaiter is a Dialect whose writers exclude each other across
// processes (SQLite: one writer at a time for the whole file), so a long
// batch job must leave gaps for the others, and can be told "locked".
type lockWaiter interface {
	Busy(err error) bool
}

// SingleWriter reports whether one writer excludes every other, in this and
// any other process (SQLite): a batch job sharing the database with a
// running server must keep its transactions short and pause between them.
func (db *DB) SingleWriter() bool {
	_, ok := db.dialect.(lockWaiter)
	return ok
}

// IsBusy reports whether err says another connection held the database's
// write lock for longer than the busy timeout (SQLite's SQLITE_BUSY): the
// transaction did not happen, and running it again later can succeed.
func (db *DB) IsBusy(err error) bool {
	l, ok := db.dialect.(lockWaiter)
	return ok && err != nil && l.Busy(err)
}

// A conflicter is a Dialect whose write transactions can collide with
// another connection's (PostgreSQL; SQLite has one writer).
type conflicter interface {
	Conflict(err error) bool
}

// IsConflict reports whether err is a write that collided with another
// transaction's at the same moment — both inserted the same unique key, a
// serialization failure, a deadlock — so that running the transaction
// again, which then sees the other's rows, can succeed.
func (db *DB) IsConflict(err error) bool {
	c, ok := db.dialect.(conflicter)
	return ok && err != nil && c.Conflict(err)
}

// advise appends the dialect's advice on err, if it has any, to err.
func advise(d Dialect, err error) error {
	if a, ok := d.(adviser); ok {
		if hint := a.Advise(err); hint != "" {
			return fmt.Errorf("%w (%s)", err, hint)
		}
	}
	return err
}

// Opener opens a database from the part of a DSN after its scheme.
type Opener func(dsn string, opt OpenOptions) (*DB, error)

// OpenOptions say how a driver opens a database.
type OpenOptions struct {
	// MustExist refuses to create anything: a SQLite file that is not
	// there is an error (ErrNoDatabase) instead of a new empty database.
	// The commands that only read (keys, report) open this way.
	MustExist bool
	// BusyTimeout, when not zero, replaces how long a SQLite connection
	// waits for another's write lock (sqlite.BusyTimeout); tests shorten it.
	BusyTimeout time.Duration
}

// ErrNoDatabase is what a driver's error wraps when OpenOptions.MustExist
// is set and the database is not there.
var ErrNoDatabase = errors.New("no smsflow database")

var (
	driversMu sync.Mutex
	drivers   = map[string]Opener{}
)

// Register makes a driver available to Open under a DSN scheme.
func Register(scheme string, open Opener) {
	driversMu.Lock()
	defer driversMu.Unlock()
	drivers[scheme] = open
}

// Open opens the database a DSN names: "sqlite:PATH" (or a bare path) or a
// "postgres://" / "postgresql://" URL. The driver package must be imported.
// A SQLite file is created when missing (its directory is not).
func Open(dsn string) (*DB, error) { return OpenWith(dsn, OpenOptions{}) }

// OpenWith is Open with options.
func OpenWith(dsn string, opt OpenOptions) (*DB, error) {
	scheme, rest := "sqlite", dsn
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		scheme, rest = "postgres", dsn
	case strings.HasPrefix(dsn, "sqlite:"):
		rest = strings.TrimPrefix(dsn, "sqlite:")
	case strings.Contains(dsn, "://"):
		return nil, fmt.Errorf("unsupported database %q: use sqlite:PATH or a postgres:// URL", dsn)
	}
	driversMu.Lock()
	open, ok := drivers[scheme]
	driversMu.Unlock()
	if !ok {
		known := make([]string, 0, len(drivers))
		for k := range drivers {
			known = append(known, k)
		}
		sort.Strings(known)
		return nil, fmt.Errorf("database driver %q is not built in (have %v)", scheme, known)
	}
	return open(rest, opt)
}

// RebindDollar rewrites ? placeholders as $1, $2, … (PostgreSQL), leaving
// question marks inside quoted strings alone.
func RebindDollar(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 8)
	n, inQuote := 0, false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			inQuote = !inQuote
			b.WriteByte(c)
		case c == '?' && !inQuote:
			n++
			fmt.Fprintf(&b, "$%d", n)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Scheme names the database kind of a DSN, for logs ("sqlite", "postgres").
func Scheme(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return "postgres"
	}
	return "sqlite"
}
