package store

import (
	"context"
	"time"
)

// LogOut records that the web UI session whose id hashes to sessionHash
// logged out: SessionLoggedOut answers true for it until expires (the
// latest its cookie could be live), after which the row is deleted at a
// later logout (D100). Logging out twice is fine.
func (db *DB) LogOut(ctx context.Context, sessionHash string, expires, now time.Time) error {
	return db.WriteTx(ctx, func(t *Tx) error {
		// An hour's margin: another node whose clock is behind still
		// refuses the cookie until it has expired by that node's clock.
		if _, err := t.exec(`DELETE FROM web_logouts WHERE expires_at < ?`, micros(now.Add(-time.Hour))); err != nil {
			return err
		}
		_, err := t.exec(`INSERT INTO web_logouts (session_hash, expires_at) VALUES (?, ?)
ON CONFLICT (session_hash) DO UPDATE SET expires_at = excluded.expires_at`, sessionHash, micros(expires))
		return err
	})
}

// SessionLoggedOut reports whether the session whose id hashes to
// sessionHash logged out: one primary-key read per request with a session.
func (db *DB) SessionLoggedOut(ctx context.Context, sessionHash string) (bool, error) {
	var n int
	err := db.queryRowRead(ctx, `SELECT COUNT(*) FROM web_logouts WHERE session_hash = ?`, sessionHash).Scan(&n)
	return n > 0, err
}
