package store

import "time"

// SetInactivityTimer (re)arms a contact's inactivity deadline for a flow:
// each new qualifying event pushes it back.
func (t *Tx) SetInactivityTimer(flowID, contactID string, due time.Time, eventSeq int64) error {
	_, err := t.exec(`INSERT INTO inactivity_timers (flow_id, contact_id, due_at, event_seq) VALUES (?, ?, ?, ?)
ON CONFLICT (flow_id, contact_id) DO UPDATE SET due_at = excluded.due_at, event_seq = excluded.event_seq
WHERE excluded.due_at > inactivity_timers.due_at`, flowID, contactID, micros(due), eventSeq)
	return err
}

// InactivityTimer is one due inactivity deadline.
type InactivityTimer struct {
	FlowID, ContactID string
	DueAt             time.Time
	EventSeq          int64
}

// DueInactivity returns up to limit deadlines due at now.
func (t *Tx) DueInactivity(now time.Time, limit int) ([]InactivityTimer, error) {
	rows, err := t.query(`SELECT flow_id, contact_id, due_at, event_seq FROM inactivity_timers WHERE due_at <= ? ORDER BY due_at, contact_id LIMIT ?`+t.db.dialect.SkipLocked(), micros(now), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []InactivityTimer
	for rows.Next() {
		var it InactivityTimer
		var due int64
		if err := rows.Scan(&it.FlowID, &it.ContactID, &due, &it.EventSeq); err != nil {
			return nil, err
		}
		it.DueAt = fromMicros(due)
		out = append(out, it)
	}
	return out, rows.Err()
}

// TakeInactivity deletes a deadline if it is still the one given (not
// pushed back meanwhile) and reports whether it did.
func (t *Tx) TakeInactivity(it InactivityTimer) (bool, error) {
	res, err := t.exec(`DELETE FROM inactivity_timers WHERE flow_id = ? AND contact_id = ? AND due_at = ?`, it.FlowID, it.ContactID, micros(it.DueAt))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
