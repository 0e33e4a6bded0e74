package report

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/smsflow/smsflow"
)

// StepDecisions counts, per send step and decision reason, the decisions
// other than "sent" of the flow's treatment runs entered in [from, to):
// the skipped and deferred figures the flow page shows on each node next to
// the report's counters (same cohort, same treatment-only rule as Step).
// Reasons are as stored ("skipped:cap(rule=daily)", "deferred:quiet_hours");
// a run deferred twice counts twice.
//
// Speed (D93): the (reason, step) pairs are found by a loose scan of index
// decisions_reasons, and each pair but "sent" and "skipped:holdout" is one
// range of it in the cohort's run-id range, joined to its runs. Those two
// are most of a flow's decisions and never count here: "sent" is not a
// skip or a deferral, and only holdout runs are skipped:holdout.
func StepDecisions(ctx context.Context, db Store, flowID string, from, to time.Time) (map[string]map[string]int64, error) {
	if !from.Before(to) {
		return nil, smsflow.FieldErrorf(smsflow.EINVALID, "from", "from must be before to")
	}
	q := &cohort{db: db, flowID: flowID, from: from.UnixMicro(), to: to.UnixMicro()}
	out := map[string]map[string]int64{}
	err := q.db.ReadQueryRow(ctx, `SELECT COUNT(*), COALESCE(MIN(r.id), 0), COALESCE(MAX(r.id), 0) FROM runs r WHERE `+q.where(),
		q.args()...).Scan(&q.n, &q.lo, &q.hi)
	if err != nil || q.n == 0 {
		return out, err
	}
	all, err := q.distinctKeys(ctx, "decisions", []string{"reason", "step_id"})
	if err != nil {
		return nil, fmt.Errorf("report decisions: %w", err)
	}
	var keys [][]any
	for _, k := range all {
		if r := asString(k[0]); r != smsflow.DecisionSent && r != smsflow.DecisionHoldout {
			keys = append(keys, k)
		}
	}
	err = q.perKey(ctx, "decisions", keys, 1, func(i int, k []any) (string, []any) {
		return fmt.Sprintf(`SELECT %d, COUNT(*) FROM decisions d JOIN runs r ON r.id = d.run_id
WHERE d.flow_id = ? AND d.reason = ? AND d.step_id = ? AND d.run_id >= ? AND d.run_id <= ?
AND r.entered_at >= ? AND r.entered_at < ? AND r.holdout = 0`, i),
			[]any{q.flowID, k[0], k[1], q.lo, q.hi, q.from, q.to}
	}, func(k []any, v []int64) {
		if v[0] == 0 {
			return
		}
		step, reason := asString(k[1]), asString(k[0])
		if out[step] == nil {
			out[step] = map[string]int64{}
		}
		out[step][reason] = v[0]
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FlowDay is one UTC day of a flow's cohort: the runs entered that day, and the
// conversions (with their revenue) of the cohort's runs that reached the
// goal that day.
type FlowDay struct {
	Day         time.Time `json:"day"`
	Entered     int64     `json:"entered"`
	Conversions int64     `json:"conversions"`
	Revenue     float64   `json:"revenue"`
}

// FlowDays is the flow's cohort of [from, to) day by day (UTC), every day
// of the window listed, for the report's charts: entries by entry day,
// conversions and revenue by goal day. Its sums equal the report's
// Totals.Entered, Conversions and Revenue (holdout runs included, as there).
func FlowDays(ctx context.Context, db Store, flowID string, from, to time.Time) ([]FlowDay, error) {
	if !from.Before(to) {
		return nil, smsflow.FieldErrorf(smsflow.EINVALID, "from", "from must be before to")
	}
	first := time.Date(from.UTC().Year(), from.UTC().Month(), from.UTC().Day(), 0, 0, 0, 0, time.UTC)
	var days []FlowDay
	for d := first; d.Before(to); d = d.AddDate(0, 0, 1) {
		days = append(days, FlowDay{Day: d})
	}
	index := func(us int64) int {
		i := int(time.UnixMicro(us).UTC().Sub(first) / (24 * time.Hour))
		return max(0, min(i, len(days)-1))
	}
	q := &cohort{db: db, flowID: flowID, from: from.UnixMicro(), to: to.UnixMicro()}
	// Entries: one count per day, each a range of index runs_flow (flow,
	// entered_at), UNION ALL'd: no sort of the cohort's runs.
	var keys [][]any
	for i := range days {
		keys = append(keys, []any{i})
	}
	err := q.perKey(ctx, "days", keys, 1, func(i int, _ []any) (string, []any) {
		lo, hi := max(days[i].Day.UnixMicro(), q.from), min(days[i].Day.Add(24*time.Hour).UnixMicro(), q.to)
		return fmt.Sprintf(`SELECT %d, COUNT(*) FROM runs r WHERE r.flow_id = ? AND r.entered_at >= ? AND r.entered_at < ?`, i),
			[]any{q.flowID, lo, hi}
	}, func(k []any, v []int64) { days[k[0].(int)].Entered += v[0] })
	if err != nil {
		return nil, err
	}
	// Conversions: index runs_goals holds only the runs with a goal.
	err = q.each(ctx, "days", `SELECT r.goal_at, r.goal_value FROM runs r WHERE `+q.where()+` AND r.goal_at > 0`, q.args(),
		func(scan func(...any) error) error {
			var at int64
			var v float64
			if err := scan(&at, &v); err != nil {
				return err
			}
			d := &days[index(at)]
			d.Conversions++
			d.Revenue += v
			return nil
		})
	if err != nil {
		return nil, err
	}
	for i := range days {
		days[i].Revenue = roundMoney(days[i].Revenue)
	}
	return days, nil
}

// Activity is one recent decision of a step, with the message it sent when
// it sent one.
type Activity struct {
	RunID     int64     `json:"run_id"`
	ContactID string    `json:"contact_id"`
	Decision  string    `json:"decision"`
	Detail    string    `json:"detail,omitempty"`
	At        time.Time `json:"at"`
	// MessageID and Status are the message of a "sent" decision (its
	// delivery status now); 0 and "" when there is none.
	MessageID int64  `json:"message_id,omitempty"`
	Status    string `json:"status,omitempty"`
	Holdout   bool   `json:"holdout,omitempty"`
}

// StepActivity lists the last limit decisions of a flow's step, newest run
// first (index decisions_report is ordered by run), each with its run's
// message at that step: what the flow page's node drill-down shows.
func StepActivity(ctx context.Context, db Store, flowID, stepID string, limit int) ([]Activity, error) {
	if limit <= 0 || limit > 500 {
		return nil, smsflow.Errorf(smsflow.EINVALID, "limit must be between 1 and 500")
	}
	rows, err := db.ReadQuery(ctx, fmt.Sprintf(`SELECT d.run_id, d.contact_id, d.reason, d.detail, d.at,
COALESCE((SELECT r.holdout FROM runs r WHERE r.id = d.run_id), 0)
FROM decisions d WHERE d.flow_id = ? AND d.step_id = ?
ORDER BY d.run_id DESC, d.id DESC LIMIT %d`, limit), flowID, stepID)
	if err != nil {
		return nil, fmt.Errorf("report step activity: %w", err)
	}
	var out []Activity
	func() {
		defer rows.Close()
		for rows.Next() {
			var a Activity
			var at, holdout int64
			if err = rows.Scan(&a.RunID, &a.ContactID, &a.Decision, &a.Detail, &at, &holdout); err != nil {
				return
			}
			a.At, a.Holdout = time.UnixMicro(at).UTC(), holdout != 0
			out = append(out, a)
		}
		err = rows.Err()
	}()
	if err != nil {
		return nil, fmt.Errorf("report step activity: %w", err)
	}
	// The messages of the sends, one lookup each (at most limit), on index
	// messages_report: every status is listed so the lookup is a few index
	// seeks, not a scan of the step's messages.
	for i := range out {
		if out[i].Decision != smsflow.DecisionSent {
			continue
		}
		err := db.ReadQueryRow(ctx, `SELECT m.id, m.status FROM messages m
WHERE m.flow_id = ? AND m.step_id = ? AND m.status IN `+everyStatus+` AND m.direction = 'out' AND m.run_id = ?
ORDER BY m.id DESC LIMIT 1`, flowID, stepID, out[i].RunID).Scan(&out[i].MessageID, &out[i].Status)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("report step activity: %w", err)
		}
	}
	return out, nil
}

// everyStatus lists every outbound message status, for index lookups by
// (flow, step, status, direction, run).
const everyStatus = `('queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'unknown', 'canceled')`
