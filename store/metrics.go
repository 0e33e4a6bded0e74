package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// MessageCount is how many messages are in one direction, provider and
// status.
type MessageCount struct {
	Direction, Provider, Status string
	N                           int64
}

// Gauges is the state the metrics endpoint reports, read from the database
// so that every node reports the same numbers.
type Gauges struct {
	Runs     map[string]int64 // runs by status (active, waiting, completed, exited)
	Messages []MessageCount   // messages by direction, provider and status
	Inbox    int64            // events waiting for the engine
	// ReceiptQueue is the receipts stored and not yet applied
	// (ReceiptQueueDepth).
	ReceiptQueue int64
	// NextWake is the earliest pending timer of any kind (run waits,
	// inactivity deadlines, segment jobs, scheduled entries), zero if none; when it is before
	// now, the engine is behind by the difference.
	NextWake time.Time
}

// MetricsGauges reads the metrics gauges in a few aggregate queries, each
// answered from an index alone (migration 0008_metrics: runs (status),
// messages (direction, provider, status); the inbox and timer indexes the
// engine already uses).
func (db *DB) MetricsGauges(ctx context.Context) (*Gauges, error) {
	g := &Gauges{Runs: map[string]int64{}}
	rows, err := db.queryRead(ctx, `SELECT status, COUNT(*) FROM runs GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("count runs by status: %w", err)
	}
	for rows.Next() {
		var status string
		var n int64
		if err := rows.Scan(&status, &n); err != nil {
			rows.Close()
			return nil, err
		}
		g.Runs[status] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = db.queryRead(ctx, `SELECT direction, provider, status, COUNT(*) FROM messages GROUP BY direction, provider, status ORDER BY direction, provider, status`)
	if err != nil {
		return nil, fmt.Errorf("count messages by status: %w", err)
	}
	if g.Messages, err = collect(rows, func(rows *sql.Rows) (MessageCount, error) {
		var c MessageCount
		err := rows.Scan(&c.Direction, &c.Provider, &c.Status, &c.N)
		return c, err
	}); err != nil {
		return nil, fmt.Errorf("count messages by status: %w", err)
	}
	if g.Inbox, err = db.InboxDepth(ctx); err != nil {
		return nil, fmt.Errorf("count inbox: %w", err)
	}
	if g.ReceiptQueue, err = db.ReceiptQueueDepth(ctx); err != nil {
		return nil, err
	}
	if g.NextWake, err = db.NextWake(ctx); err != nil {
		return nil, fmt.Errorf("next timer: %w", err)
	}
	return g, nil
}
