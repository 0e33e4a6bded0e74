package store

import (
	"context"
	"database/sql"
	"time"
)

// Wakes is when each kind of timer is next due, zero where none is
// pending.
type Wakes struct {
	Runs        time.Time // a run's wait (runs.wake_at)
	Inactivity  time.Time // an inactivity deadline
	SegmentJobs time.Time // a pending segment job
	Entries     time.Time // a scheduled entry
}

// Next is the earliest of w's times, zero if none.
func (w Wakes) Next() time.Time {
	var best time.Time
	for _, t := range []time.Time{w.Runs, w.Inactivity, w.SegmentJobs, w.Entries} {
		if !t.IsZero() && (best.IsZero() || t.Before(best)) {
			best = t
		}
	}
	return best
}

// Wakes reads when each kind of timer is next due, in one statement: the
// engine asks it before its batches of timers, and runs a batch (a
// transaction) only for a kind with something due (D105).
func (db *DB) Wakes(ctx context.Context) (Wakes, error) {
	var runs, inactivity, jobs, entries sql.NullInt64
	err := db.queryRowRead(ctx, `SELECT
 (SELECT MIN(wake_at) FROM runs WHERE wake_at IS NOT NULL),
 (SELECT MIN(due_at) FROM inactivity_timers),
 (SELECT MIN(due_at) FROM segment_jobs WHERE status = 'pending'),
 (SELECT MIN(due_at) FROM scheduled_entries)`).Scan(&runs, &inactivity, &jobs, &entries)
	if err != nil {
		return Wakes{}, err
	}
	at := func(v sql.NullInt64) time.Time {
		if !v.Valid {
			return time.Time{}
		}
		return fromMicros(v.Int64)
	}
	return Wakes{Runs: at(runs), Inactivity: at(inactivity), SegmentJobs: at(jobs), Entries: at(entries)}, nil
}

// NextWake returns the earliest pending timer of any kind (run waits,
// inactivity deadlines, segment jobs, scheduled entries), zero if none.
func (db *DB) NextWake(ctx context.Context) (time.Time, error) {
	w, err := db.Wakes(ctx)
	return w.Next(), err
}
