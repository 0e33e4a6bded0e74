package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/smsflow/smsflow"
)

// Link is a tracked short link.
type Link struct {
	Code      string
	URL       string
	RunID     int64
	StepID    string
	FlowID    string
	ContactID string
	CreatedAt time.Time
}

// InsertLink stores a tracked link; false if the code is taken.
func (t *Tx) InsertLink(l *Link) (bool, error) {
	res, err := t.exec(`INSERT INTO links (code, url, run_id, step_id, flow_id, contact_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		l.Code, l.URL, l.RunID, l.StepID, l.FlowID, l.ContactID, micros(l.CreatedAt))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// LinkByCode returns a link, or ENOTFOUND.
func (db *DB) LinkByCode(ctx context.Context, code string) (*Link, error) {
	var l Link
	var created int64
	err := db.queryRowRead(ctx, `SELECT code, url, run_id, step_id, flow_id, contact_id, created_at FROM links WHERE code = ?`, code).
		Scan(&l.Code, &l.URL, &l.RunID, &l.StepID, &l.FlowID, &l.ContactID, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, smsflow.Errorf(smsflow.ENOTFOUND, "no link %q", code)
	}
	l.CreatedAt = fromMicros(created)
	return &l, err
}

// InsertClick records a click on a tracked link.
func (t *Tx) InsertClick(l *Link, at time.Time) error {
	_, err := t.exec(`INSERT INTO link_clicks (code, run_id, step_id, contact_id, at) VALUES (?, ?, ?, ?, ?)`, l.Code, l.RunID, l.StepID, l.ContactID, micros(at))
	return err
}

// StepClicked reports whether a tracked link of a run's send step was clicked.
func (t *Tx) StepClicked(runID int64, stepID string) (bool, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM link_clicks WHERE run_id = ? AND step_id = ?`, runID, stepID).Scan(&n)
	return n > 0, err
}
