package store

import (
	"context"

	"github.com/smsflow/smsflow"
)

// InsertDecision records a policy decision (one statement; a batch writes
// many with InsertDecisions). d.ID stays 0.
func (t *Tx) InsertDecision(d *smsflow.Decision) error {
	return t.InsertDecisions([]*smsflow.Decision{d})
}

func decisionArgs(d *smsflow.Decision) []any {
	return []any{d.RunID, d.StepID, d.FlowID, d.ContactID, d.Reason, d.Detail, micros(d.At)}
}

// Decisions returns a contact's decisions, oldest first.
func (db *DB) Decisions(ctx context.Context, contactID string, limit int) ([]smsflow.Decision, error) {
	rows, err := db.queryRead(ctx, `SELECT id, run_id, step_id, flow_id, contact_id, reason, detail, at FROM decisions WHERE contact_id = ? ORDER BY at, id LIMIT ?`, contactID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []smsflow.Decision
	for rows.Next() {
		var d smsflow.Decision
		var at int64
		if err := rows.Scan(&d.ID, &d.RunID, &d.StepID, &d.FlowID, &d.ContactID, &d.Reason, &d.Detail, &at); err != nil {
			return nil, err
		}
		d.At = fromMicros(at)
		out = append(out, d)
	}
	return out, rows.Err()
}
