package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// DB is an smsflow database. Writes go through one pool (for SQLite a single
// connection: SQLite has one writer), reads through another.
type DB struct {
	dialect Dialect
	write   *sql.DB
	read    *sql.DB
	// scan is the pool of the reports' large scans (ReadQuery); the reader
	// pool unless a driver sets its own (SetScanPool).
	scan    *sql.DB
	onClose []func()
	// relevant says whether a tracked event name matters to the engine
	// (SetRelevant); nil: every one does.
	relevant func(name string) bool
	// stmts are the writer pool's statements, prepared across transactions;
	// readStmts the reader pool's of the hot reads (queryReadCached).
	stmts, readStmts stmtCache
	// optOuts hear of the numbers committed transactions unsubscribed.
	optOuts optOutListeners
}

// SetRelevant installs the one rule for "does any flow react to this
// tracked event?" (engine.Catalog.Relevant), set once by the wiring (serve,
// simulate) before use. Everything that decides whether the engine must see
// an event reads it here: the ingest writer stores the others as history,
// receipts and link clicks do not queue them (Tx.Queues), and the engine
// settles their inbox items without loading the contact. Without a rule
// every event matters.
func (db *DB) SetRelevant(f func(name string) bool) { db.relevant = f }

// Relevance is the rule SetRelevant installed, nil when none was.
func (db *DB) Relevance() func(name string) bool { return db.relevant }

// SetScanPool gives the reports' large read-only scans (ReadQuery,
// ReadQueryRow) their own pool, closed with the database. SQLite uses it to
// memory-map the file for reports only, so the serving path's resident
// memory does not grow with the database.
func (db *DB) SetScanPool(p *sql.DB) { db.scan = p }

// OnClose registers fn to run first when the database is closed (drivers
// stop their background work with it).
func (db *DB) OnClose(fn func()) { db.onClose = append(db.onClose, fn) }

// Every runs fn every interval in the background until the database is
// closed (drivers' upkeep: SQLite's checkpoints, PostgreSQL's statistics).
// Close waits for a run in progress.
func (db *DB) Every(interval time.Duration, fn func()) {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				fn()
			}
		}
	}()
	db.OnClose(func() { close(stop); <-done })
}

// New wraps opened pools; driver packages call it.
func New(d Dialect, write, read *sql.DB) *DB {
	if read == nil {
		read = write
	}
	return &DB{dialect: d, write: write, read: read, scan: read}
}

// Dialect returns the database's dialect.
func (db *DB) Dialect() Dialect { return db.dialect }

// Close closes both pools. It is safe to call twice.
func (db *DB) Close() error {
	for _, fn := range db.onClose {
		fn()
	}
	db.onClose = nil
	db.stmts.close()
	db.readStmts.close()
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	if db.scan != db.read && db.scan != db.write {
		err = errors.Join(err, db.scan.Close())
	}
	return err
}

// Ping checks that the database answers (readiness).
func (db *DB) Ping(ctx context.Context) error { return db.write.PingContext(ctx) }

// warmQuery names the tables of the serving path (ingestion, the engine,
// the sender, receipts) and reads nothing.
const warmQuery = `SELECT 1 FROM events, inbox, contacts, consent_ledger, runs, decisions, messages, send_claims, receipt_queue WHERE 1 = 0`

// Warm opens the writer pool's connections, and the reader pool's, up to
// their limits, all at once, before a server takes traffic. A pool opens
// connections as its load asks for them; on PostgreSQL each is a new
// server process that authenticates and loads its catalog caches, 20–50 ms
// on a small machine, so a server opened cold kept its first second's
// events waiting 100–500 ms while its connections opened one by one under
// load (docs/benchmarks.md). The pools keep them (idle as many as open).
// A pool without a limit is left as it is. It gives up after WarmTimeout
// (a connection the pool lends elsewhere meanwhile is waited for).
func (db *DB) Warm(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, WarmTimeout)
	defer cancel()
	pools := []*sql.DB{db.write}
	if db.read != db.write {
		pools = append(pools, db.read)
	}
	var errs []error
	for _, p := range pools {
		n := p.Stats().MaxOpenConnections
		if n <= 0 {
			continue
		}
		// Each holds its connection until all have one: a connection let
		// go early would be taken again instead of a new one opened.
		conns, failed := make([]*sql.Conn, n), make([]error, n)
		var wg sync.WaitGroup
		for i := range conns {
			wg.Go(func() {
				c, err := p.Conn(ctx)
				if err == nil {
					// Planning a statement over the serving path's tables
					// loads their catalog entries (tables, indexes) into the
					// new server process, as its first batch would.
					_, err = c.ExecContext(ctx, warmQuery)
				}
				conns[i], failed[i] = c, err
			})
		}
		wg.Wait()
		var first error
		bad := 0
		for i, c := range conns {
			if c != nil {
				c.Close() // back to the pool
			}
			if failed[i] != nil {
				first, bad = cmp.Or(first, failed[i]), bad+1
			}
		}
		if bad > 0 {
			errs = append(errs, fmt.Errorf("%d of %d connections: %w", bad, n, first))
		}
	}
	return errors.Join(errs...)
}

// WarmTimeout bounds Warm.
const WarmTimeout = 10 * time.Second

func firstLine(q string) string {
	q = strings.TrimSpace(q)
	if i := strings.IndexByte(q, '\n'); i > 0 {
		return q[:i]
	}
	return q
}

// Tx is one write transaction. Its methods are the storage primitives the
// ingestion and engine logic compose.
type Tx struct {
	db     *DB
	tx     *sql.Tx
	ctx    context.Context
	stmts  map[string]*sql.Stmt // this transaction's statements, by query
	missed []string             // queries it prepared itself (not in db.stmts)

	runIDs    idBlock  // run ids reserved (ReserveRunID)
	eventSeqs idBlock  // event sequence numbers reserved (ReserveEventSeq, PostgreSQL)
	optedOut  []string // numbers this transaction unsubscribed (OnOptOut)
}

// WriteTx runs fn in a write transaction, committing when fn returns nil.
func (db *DB) WriteTx(ctx context.Context, fn func(*Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	t := &Tx{db: db, tx: tx, ctx: ctx, stmts: map[string]*sql.Stmt{}}
	if err := fn(t); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if len(t.optedOut) > 0 {
		db.optOuts.notify(t.optedOut)
	}
	if len(t.missed) > 0 {
		db.stmts.fill(ctx, db.write, db.dialect.Rebind, t.missed)
	}
	return nil
}

// stmt returns the statement for query: the pool's, prepared across
// transactions (stmtcache.go), or, the first time, one prepared on this
// transaction, which WriteTx adds to the pool's after the commit. (Not
// prepared on the pool here: SQLite's writer pool has one connection, which
// the transaction holds.)
func (t *Tx) stmt(query string) (*sql.Stmt, error) {
	if s, ok := t.stmts[query]; ok {
		return s, nil
	}
	var s *sql.Stmt
	if ps := t.db.stmts.get(query); ps != nil {
		s = t.tx.StmtContext(t.ctx, ps)
	} else {
		var err error
		if s, err = t.tx.PrepareContext(t.ctx, t.db.dialect.Rebind(query)); err != nil {
			return nil, fmt.Errorf("prepare %q: %w", firstLine(query), err)
		}
		t.missed = append(t.missed, query)
	}
	t.stmts[query] = s
	return s, nil
}

func (t *Tx) exec(query string, args ...any) (sql.Result, error) {
	s, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(t.ctx, args...)
}

func (t *Tx) queryRow(query string, args ...any) *sql.Row {
	s, err := t.stmt(query)
	if err != nil {
		// Surface the prepare error through the row.
		return t.tx.QueryRowContext(t.ctx, t.db.dialect.Rebind(query), args...)
	}
	return s.QueryRowContext(t.ctx, args...)
}

func (db *DB) queryRead(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.read.QueryContext(ctx, db.dialect.Rebind(query), args...)
}

// queryReadCached is queryRead through a statement prepared once on the
// reader pool: for the reads on a hot path (the sender's consent reads
// around its provider calls), whose parse would otherwise cost more than
// their run. Lists in query come in a few sizes (inList).
func (db *DB) queryReadCached(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s := db.readStmts.get(query)
	if s == nil {
		db.readStmts.fill(ctx, db.read, db.dialect.Rebind, []string{query})
		if s = db.readStmts.get(query); s == nil {
			return db.queryRead(ctx, query, args...)
		}
	}
	return s.QueryContext(ctx, args...)
}

func (db *DB) queryRowRead(ctx context.Context, query string, args ...any) *sql.Row {
	return db.read.QueryRowContext(ctx, db.dialect.Rebind(query), args...)
}

// QueryRowForTest runs a read query; tests use it to look at raw rows.
func (db *DB) QueryRowForTest(ctx context.Context, query string, args ...any) *sql.Row {
	return db.queryRowRead(ctx, query, args...)
}

func (t *Tx) query(query string, args ...any) (*sql.Rows, error) {
	s, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(t.ctx, args...)
}

// Context returns the transaction's context.
func (t *Tx) Context() context.Context { return t.ctx }
