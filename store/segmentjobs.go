package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// SegmentJob is one scheduled scan for a segment trigger.
type SegmentJob struct {
	FlowID, Key string
	Version     int
	DueAt       time.Time
	Cursor      string
	Status      string
	Entered     int64
	// Base is the unsharded key of a shard's job ("" or Key: not a shard).
	// A shard is not created where a job with the base key exists (made
	// before segments were sharded), so no segment is scanned twice.
	Base string
}

// EnsureSegmentJob creates a job unless one with the key exists. A job of
// an older flow version that has not started scanning is moved to this
// version and due time (a flow edited after tomorrow's scan was made scans
// with the edit); a started or finished one is left alone.
func (db *DB) EnsureSegmentJob(ctx context.Context, j SegmentJob) error {
	base := j.Base
	if base == "" {
		base = j.Key
	}
	return db.WriteTx(ctx, func(t *Tx) error {
		_, err := t.exec(`INSERT INTO segment_jobs (flow_id, job_key, flow_version, due_at)
SELECT ?, ?, CAST(? AS BIGINT), CAST(? AS BIGINT) WHERE ? = ? OR NOT EXISTS (SELECT 1 FROM segment_jobs WHERE flow_id = ? AND job_key = ?)
ON CONFLICT (flow_id, job_key) DO UPDATE SET flow_version = excluded.flow_version, due_at = excluded.due_at
WHERE segment_jobs.status = 'pending' AND segment_jobs.cursor = '' AND segment_jobs.flow_version < excluded.flow_version`,
			j.FlowID, j.Key, j.Version, micros(j.DueAt), base, j.Key, j.FlowID, base)
		return err
	})
}

// DueSegmentJob claims the earliest pending job due at now, or nil.
func (t *Tx) DueSegmentJob(now time.Time) (*SegmentJob, error) {
	var j SegmentJob
	var due int64
	err := t.queryRow(`SELECT flow_id, job_key, flow_version, due_at, cursor, status, entered FROM segment_jobs WHERE status = 'pending' AND due_at <= ? ORDER BY due_at LIMIT 1`+t.db.dialect.SkipLocked(), micros(now)).
		Scan(&j.FlowID, &j.Key, &j.Version, &due, &j.Cursor, &j.Status, &j.Entered)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	j.DueAt = fromMicros(due)
	return &j, err
}

// UpdateSegmentJob stores a job's progress.
func (t *Tx) UpdateSegmentJob(j *SegmentJob) error {
	_, err := t.exec(`UPDATE segment_jobs SET cursor = ?, status = ?, entered = ? WHERE flow_id = ? AND job_key = ?`, j.Cursor, j.Status, j.Entered, j.FlowID, j.Key)
	return err
}
