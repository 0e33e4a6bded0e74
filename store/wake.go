package store

import (
	"context"
	"database/sql"
	"time"
)

// NextWake returns the earliest pending timer of any kind (run waits,
// inactivity deadlines, segment jobs, scheduled entries), zero if none.
func (db *DB) NextWake(ctx context.Context) (time.Time, error) {
	var best time.Time
	for _, q := range []string{
		`SELECT MIN(wake_at) FROM runs WHERE wake_at IS NOT NULL`,
		`SELECT MIN(due_at) FROM inactivity_timers`,
		`SELECT MIN(due_at) FROM segment_jobs WHERE status = 'pending'`,
		`SELECT MIN(due_at) FROM scheduled_entries`,
	} {
		var v sql.NullInt64
		if err := db.queryRowRead(ctx, q).Scan(&v); err != nil {
			return time.Time{}, err
		}
		if v.Valid && (best.IsZero() || fromMicros(v.Int64).Before(best)) {
			best = fromMicros(v.Int64)
		}
	}
	return best, nil
}
