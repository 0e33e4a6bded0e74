package store

import (
	"database/sql"
	"strings"
	"time"
)

// Test hooks (compiled into the store package's tests only).

// QueryIntForTest runs a one-number query through the transaction's
// statements.
func (t *Tx) QueryIntForTest(query string, args ...any) (int64, error) {
	var n int64
	err := t.queryRow(query, args...).Scan(&n)
	return n, err
}

// StatementCachedForTest says whether query is prepared on the writer pool.
func StatementCachedForTest(db *DB, query string) bool {
	return db.stmts.get(query) != nil
}

// CachedStatementsForTest counts the statements prepared on the writer pool.
func CachedStatementsForTest(db *DB) int {
	db.stmts.mu.Lock()
	defer db.stmts.mu.Unlock()
	return len(db.stmts.stmts)
}

// DropCachedStatementsForTest closes every statement prepared on the writer
// pool, as eviction does.
func DropCachedStatementsForTest(db *DB) { db.stmts.close() }

// ExecForTest runs a statement on the writer pool (a migration test rewinds
// the schema with it).
func ExecForTest(db *DB, query string) error {
	_, err := db.write.Exec(query)
	return err
}

// SetFlowScanMinForTest sets the size from which the message log reads a
// flow along messages_created, and returns a function that restores it.
func SetFlowScanMinForTest(n int) func() {
	old := flowScanMin
	flowScanMin = n
	return func() { flowScanMin = old }
}

// ExplainClaimForTest is PostgreSQL's plan of ClaimOutbox's statement for
// scope, as EXPLAIN prints it (the statement is not run).
func (t *Tx) ExplainClaimForTest(now time.Time, limit int, scope OutboxScope) (string, error) {
	q, args := t.claimStatement(now, limit, scope, 1)
	rows, err := t.query(`EXPLAIN `+q, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return "", err
		}
		plan = append(plan, line)
	}
	return strings.Join(plan, "\n"), rows.Err()
}

// PoolsForTest is, for the writer pool and the reader pool (the same pool
// on PostgreSQL), how many connections are open and how many may be.
func PoolsForTest(db *DB) (open, limit [2]int) {
	for i, p := range []*sql.DB{db.write, db.read} {
		s := p.Stats()
		open[i], limit[i] = s.OpenConnections, s.MaxOpenConnections
	}
	return open, limit
}
