package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// PacingState is one sender's shared pacer (table pacing): the instant from
// which its next segment may start, and the segments its daily cap counted
// on one UTC day. Every node sending as the sender reads and moves the same
// row, so together they keep one rate.
type PacingState struct {
	Sender   string
	NextFree time.Time // zero: never used
	Day      int64     // UTC days since 1970-01-01 that DayUsed counts
	DayUsed  int
}

// LockPacing returns a sender's pacer, created when new, locked until the
// transaction ends (FOR UPDATE on PostgreSQL; SQLite has one writer): the
// look at the daily cap and the reservation that follows are one step for
// every node.
func (t *Tx) LockPacing(sender string) (PacingState, error) {
	st := PacingState{Sender: sender}
	if _, err := t.exec(`INSERT INTO pacing (sender, next_free, day, day_used) VALUES (?, 0, 0, 0) ON CONFLICT DO NOTHING`, sender); err != nil {
		return st, fmt.Errorf("pacing %s: %w", sender, err)
	}
	var next int64
	err := t.queryRow(`SELECT next_free, day, day_used FROM pacing WHERE sender = ?`+t.db.dialect.LockRow(), sender).Scan(&next, &st.Day, &st.DayUsed)
	if err != nil {
		return st, fmt.Errorf("pacing %s: %w", sender, err)
	}
	st.NextFree = fromMicros(next)
	return st, nil
}

// ReservePacing reserves span from the sender's next free instant (or from
// now, when that has passed) with one atomic UPDATE … RETURNING, counts
// segments on the UTC day day (starting the day's count over when the row
// counted another day), and returns where the reservation starts.
func (t *Tx) ReservePacing(sender string, now time.Time, span time.Duration, day int64, segments int) (time.Time, error) {
	n, d := micros(now), (span+time.Microsecond-1)/time.Microsecond // rounded up: never early
	var next int64
	err := t.queryRow(`UPDATE pacing SET next_free = CASE WHEN next_free > ? THEN next_free ELSE ? END + ?,
day_used = CASE WHEN day = ? THEN day_used ELSE 0 END + ?, day = ? WHERE sender = ? RETURNING next_free`,
		n, n, int64(d), day, segments, day, sender).Scan(&next)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, fmt.Errorf("pacing %s: no such sender (LockPacing creates it)", sender)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("pacing %s: %w", sender, err)
	}
	return fromMicros(next - int64(d)), nil
}

// RefundPacing gives back to the daily count of day segments that were
// reserved and certainly not sent (the provider throttled, the send expired,
// the sender stopped). The next-free instant is not moved back: another node
// may already have reserved after it.
func (t *Tx) RefundPacing(sender string, day int64, segments int) error {
	_, err := t.exec(`UPDATE pacing SET day_used = CASE WHEN day_used > ? THEN day_used - ? ELSE 0 END WHERE sender = ? AND day = ?`,
		segments, segments, sender, day)
	if err != nil {
		return fmt.Errorf("pacing %s: refund: %w", sender, err)
	}
	return nil
}

// Pacing returns a sender's pacer as stored (zero state when it has none).
func (db *DB) Pacing(ctx context.Context, sender string) (PacingState, error) {
	st := PacingState{Sender: sender}
	var next int64
	err := db.queryRowRead(ctx, `SELECT next_free, day, day_used FROM pacing WHERE sender = ?`, sender).Scan(&next, &st.Day, &st.DayUsed)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	st.NextFree = fromMicros(next)
	return st, err
}
