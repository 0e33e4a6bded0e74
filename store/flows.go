package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/smsflow/smsflow"
)

// FlowHead is a flow's current version and state.
type FlowHead struct {
	ID        string
	Version   int
	Origin    string // "file", "example" (the bundled examples) or "api"
	Status    string // "active", "paused" or "archived" ("deleted": archived before archive had its name)
	Hash      string
	Source    string
	File      string
	UpdatedAt time.Time
}

// SaveFlow stores a flow definition. Content identical to the current
// version (same hash) makes no new version; otherwise the version number goes
// up by one. status applies to a new head only when the flow is new or was
// archived (an archived flow saved again comes back as a new version, even
// with the same content); an existing flow keeps its status. It returns the
// head.
func (db *DB) SaveFlow(ctx context.Context, id, hash, source, file, origin, status string, now time.Time) (FlowHead, bool, error) {
	var head FlowHead
	var created bool
	err := db.WriteTx(ctx, func(t *Tx) error {
		cur, err := t.flowHead(id)
		if err != nil {
			return err
		}
		if cur != nil && cur.Hash == hash && !archived(cur.Status) {
			if cur.Origin != origin {
				if _, err := t.exec(`UPDATE flow_heads SET origin = ?, updated_at = ? WHERE id = ?`, origin, micros(now), id); err != nil {
					return err
				}
				cur.Origin = origin
			}
			head = *cur
			return nil
		}
		version := 1
		if cur != nil {
			version = cur.Version + 1
			if !archived(cur.Status) {
				status = cur.Status
			}
		}
		// Several nodes may store the same file flow at once: the same version
		// with the same content is not a conflict.
		if _, err := t.exec(`INSERT INTO flows (id, version, hash, source, file, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id, version) DO NOTHING`, id, version, hash, source, file, micros(now)); err != nil {
			return err
		}
		if _, err := t.exec(`INSERT INTO flow_heads (id, version, origin, status, updated_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET version = excluded.version, origin = excluded.origin, status = excluded.status, updated_at = excluded.updated_at`,
			id, version, origin, status, micros(now)); err != nil {
			return err
		}
		created = true
		head = FlowHead{ID: id, Version: version, Origin: origin, Status: status, Hash: hash, Source: source, File: file, UpdatedAt: now}
		return nil
	})
	return head, created, err
}

func (t *Tx) flowHead(id string) (*FlowHead, error) {
	var h FlowHead
	var updated int64
	err := t.queryRow(`SELECT h.id, h.version, h.origin, h.status, h.updated_at, f.hash, f.source, f.file FROM flow_heads h JOIN flows f ON f.id = h.id AND f.version = h.version WHERE h.id = ?`, id).
		Scan(&h.ID, &h.Version, &h.Origin, &h.Status, &updated, &h.Hash, &h.Source, &h.File)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	h.UpdatedAt = fromMicros(updated)
	return &h, err
}

// archived reports whether a stored head status is archived ("deleted" is
// the name rows written before archive had its own keep).
func archived(status string) bool { return status == "archived" || status == "deleted" }

// SetFlowStatus pauses or resumes a flow (an archived one is not found).
func (db *DB) SetFlowStatus(ctx context.Context, id, status string, now time.Time) error {
	return db.WriteTx(ctx, func(t *Tx) error {
		res, err := t.exec(`UPDATE flow_heads SET status = ?, updated_at = ? WHERE id = ? AND status NOT IN ('archived', 'deleted')`, status, micros(now), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return smsflow.Errorf(smsflow.ENOTFOUND, "no flow %q", id)
		}
		return nil
	})
}

// FlowHeads returns every flow's head, archived ones included.
func (db *DB) FlowHeads(ctx context.Context) ([]FlowHead, error) {
	rows, err := db.queryRead(ctx, `SELECT h.id, h.version, h.origin, h.status, h.updated_at, f.hash, f.source, f.file FROM flow_heads h JOIN flows f ON f.id = h.id AND f.version = h.version ORDER BY h.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []FlowHead
	for rows.Next() {
		var h FlowHead
		var updated int64
		if err := rows.Scan(&h.ID, &h.Version, &h.Origin, &h.Status, &updated, &h.Hash, &h.Source, &h.File); err != nil {
			return nil, err
		}
		h.UpdatedAt = fromMicros(updated)
		out = append(out, h)
	}
	return out, rows.Err()
}

// FlowSource returns the source of one version of a flow.
func (db *DB) FlowSource(ctx context.Context, id string, version int) (source, file string, err error) {
	err = db.queryRowRead(ctx, `SELECT source, file FROM flows WHERE id = ? AND version = ?`, id, version).Scan(&source, &file)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", smsflow.Errorf(smsflow.ENOTFOUND, "no version %d of flow %q", version, id)
	}
	return source, file, err
}

// FlowVersion names one stored version.
type FlowVersion struct {
	ID      string
	Version int
}

// FlowVersions lists every stored version of every flow.
func (db *DB) FlowVersions(ctx context.Context) ([]FlowVersion, error) {
	rows, err := db.queryRead(ctx, `SELECT id, version FROM flows ORDER BY id, version`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []FlowVersion
	for rows.Next() {
		var v FlowVersion
		if err := rows.Scan(&v.ID, &v.Version); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Archived is what archiving a flow ended.
type Archived struct {
	Runs     int64 // open runs ended with exit reason flow_archived
	Messages int64 // queued messages canceled (canceled:flow_archived)
}

// ArchiveFlow archives a flow in one transaction: the head's status becomes
// archived, its queued messages are canceled (error code flow_archived, and
// for a run's message the decision canceled:flow_archived), and its open
// runs end with exit reason flow_archived. Runs, messages, decisions and
// links stay for the reports. A flow already archived, or none, is
// ENOTFOUND.
func (db *DB) ArchiveFlow(ctx context.Context, id string, now time.Time) (Archived, error) {
	var out Archived
	err := db.WriteTx(ctx, func(t *Tx) error {
		out = Archived{}
		res, err := t.exec(`UPDATE flow_heads SET status = 'archived', updated_at = ? WHERE id = ? AND status NOT IN ('archived', 'deleted')`, micros(now), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return smsflow.Errorf(smsflow.ENOTFOUND, "no flow %q", id)
		}
		rows, err := t.query(`UPDATE messages SET status = 'canceled', error_code = 'flow_archived', updated_at = ? WHERE flow_id = ? AND status = 'queued' AND claim = 0
RETURNING run_id, step_id, contact_id`, micros(now), id)
		if err != nil {
			return err
		}
		var canceled []smsflow.Decision
		for rows.Next() {
			var runID sql.NullInt64
			var step sql.NullString
			var contact string
			if err := rows.Scan(&runID, &step, &contact); err != nil {
				rows.Close()
				return err
			}
			out.Messages++
			if runID.Valid {
				canceled = append(canceled, smsflow.Decision{RunID: runID.Int64, StepID: step.String, FlowID: id, ContactID: contact,
					Reason: smsflow.DecisionCanceledFlowArchived, Detail: "the flow was archived", At: now})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range canceled {
			if err := t.InsertDecision(&canceled[i]); err != nil {
				return err
			}
		}
		res, err = t.exec(`UPDATE runs SET status = 'exited', exit_reason = 'flow_archived', wake_at = NULL, ended_at = ?, updated_at = ? WHERE flow_id = ? AND status IN ('active', 'waiting')`,
			micros(now), micros(now), id)
		if err != nil {
			return err
		}
		out.Runs, err = res.RowsAffected()
		return err
	})
	return out, err
}

// FlowEntries counts, for every flow with a head, the runs that entered it
// at or after since — holdout runs too (they entered) and across versions —
// in one query whose per-flow count reads that flow's slice of the
// runs_flow index (flow_id, entered_at), so its cost follows the entries
// in the window, not the table. A flow without such runs counts 0.
func (db *DB) FlowEntries(ctx context.Context, since time.Time) (map[string]int64, error) {
	rows, err := db.queryRead(ctx, `SELECT h.id, (SELECT COUNT(*) FROM runs r WHERE r.flow_id = h.id AND r.entered_at >= ?) FROM flow_heads h`, micros(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}
