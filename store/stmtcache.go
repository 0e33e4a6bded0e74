package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps the writer pool's statements prepared across
// transactions (D34). A transaction used to prepare each of its statements
// and drop them at commit: on SQLite a parse of the SQL text every batch
// (about 8% of the engine's time firing timers), on PostgreSQL a parse and a
// plan on the server and a round trip to prepare and another to deallocate.
//
// A statement is prepared on the pool (database/sql then prepares it once on
// each connection that runs it) and a transaction runs it through
// sql.Tx.StmtContext, which reuses the connection's prepared statement.
// Preparing on the pool needs a free connection, and SQLite's writer pool has
// one, which the transaction holds: so a transaction prepares what the cache
// lacks on itself, as before, and WriteTx adds those statements to the cache
// after the commit, when the connection is free again.
//
// The cache holds at most stmtCacheSize statements and drops the least
// recently used one (closing it) to take another; queries whose text varies
// with their arguments (IN lists, multi-row VALUES) come in a few sizes
// (powers of two), so the working set stays small.
type stmtCache struct {
	mu    sync.Mutex
	tick  uint64
	stmts map[string]*cachedStmt
}

type cachedStmt struct {
	stmt *sql.Stmt
	used uint64
}

const stmtCacheSize = 256

// get returns the pool's statement for query (as the store writes it,
// before Rebind), nil when there is none.
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.stmts[query]
	if !ok {
		return nil
	}
	c.tick++
	e.used = c.tick
	return e.stmt
}

// fill prepares the queries the cache lacks on pool (rebind turns the
// store's text into the dialect's). Call it with no transaction of the pool
// open in this goroutine (it waits for a free connection). A failure only
// means the query stays uncached.
func (c *stmtCache) fill(ctx context.Context, pool *sql.DB, rebind func(string) string, queries []string) {
	for _, q := range queries {
		c.mu.Lock()
		_, ok := c.stmts[q]
		c.mu.Unlock()
		if ok {
			continue
		}
		s, err := pool.PrepareContext(ctx, rebind(q))
		if err != nil {
			return
		}
		c.put(q, s)
	}
}

func (c *stmtCache) put(query string, s *sql.Stmt) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stmts == nil {
		c.stmts = map[string]*cachedStmt{}
	}
	if _, ok := c.stmts[query]; ok {
		_ = s.Close() // prepared twice by two transactions at once
		return
	}
	if len(c.stmts) >= stmtCacheSize {
		var oldest string
		var at uint64
		for q, e := range c.stmts {
			if oldest == "" || e.used < at {
				oldest, at = q, e.used
			}
		}
		// A transaction still running it keeps its connection's statement
		// until the connection is released (database/sql defers the close).
		_ = c.stmts[oldest].stmt.Close()
		delete(c.stmts, oldest)
	}
	c.tick++
	c.stmts[query] = &cachedStmt{stmt: s, used: c.tick}
}

// close closes every cached statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.stmts {
		_ = e.stmt.Close()
	}
	c.stmts = nil
}
