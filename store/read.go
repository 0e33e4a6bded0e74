package store

import (
	"context"
	"database/sql"
)

// ReadQuery runs a read-only query (with ? placeholders, rebound for the
// database) on the scan pool (the reader pool unless the driver set one). The report package builds its aggregate
// queries with it; writes must go through WriteTx.
func (db *DB) ReadQuery(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.scan.QueryContext(ctx, db.dialect.Rebind(query), args...)
}

// ReadQueryRow is ReadQuery for a query that returns at most one row.
func (db *DB) ReadQueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return db.scan.QueryRowContext(ctx, db.dialect.Rebind(query), args...)
}
