package report

import (
	"context"
	"fmt"

	"github.com/smsflow/smsflow/store"
)

// The SQL below is shared by SQLite and PostgreSQL (? placeholders are
// rebound by the store). Sums are cast to BIGINT because PostgreSQL sums
// BIGINT columns into NUMERIC.

// sentCond is "the provider took the message": every status after a
// provider accepted it, and a failure reported by a receipt (the message has
// a provider id). A send the provider refused outright is failed, not sent.
const sentCond = `(m.status IN ('sent', 'delivered', 'undelivered', 'unknown') OR (m.status = 'failed' AND m.provider_id <> ''))`

// reachedStatuses are the outbound messages a contact may have received:
// replies, opt-outs and conversions are attributed only to these.
const reachedStatuses = `('sent', 'delivered', 'unknown')`

// attributionWindowMicros is how far back a reply or an opt-out looks for
// the message that caused it: 24 hours.
const attributionWindowMicros = int64(24 * 3600 * 1e6)

// cohort is the set of runs a flow report is about: one flow's runs entered
// in [from, to) (microseconds).
type cohort struct {
	db       *store.DB
	flowID   string
	from, to int64
}

// where is the cohort condition on runs r, and args its arguments.
func (q cohort) where() string { return `r.flow_id = ? AND r.entered_at >= ? AND r.entered_at < ?` }
func (q cohort) args() []any   { return []any{q.flowID, q.from, q.to} }

// runGroup is one row of the runs aggregate.
type runGroup struct {
	holdout            bool
	variant            string
	status, exitReason string
	n, conversions     int64
	revenue            float64
}

func (q cohort) runGroups(ctx context.Context) ([]runGroup, error) {
	rows, err := q.db.ReadQuery(ctx, `SELECT r.holdout, r.variant, r.status, r.exit_reason, COUNT(*),
CAST(SUM(CASE WHEN r.goal_at > 0 THEN 1 ELSE 0 END) AS BIGINT),
COALESCE(SUM(CASE WHEN r.goal_at > 0 THEN r.goal_value ELSE 0 END), 0)
FROM runs r WHERE `+q.where()+`
GROUP BY r.holdout, r.variant, r.status, r.exit_reason`, q.args()...)
	if err != nil {
		return nil, fmt.Errorf("report runs: %w", err)
	}
	defer rows.Close()
	var out []runGroup
	for rows.Next() {
		var g runGroup
		var holdout int64
		if err := rows.Scan(&holdout, &g.variant, &g.status, &g.exitReason, &g.n, &g.conversions, &g.revenue); err != nil {
			return nil, fmt.Errorf("report runs: %w", err)
		}
		g.holdout = holdout != 0
		out = append(out, g)
	}
	return out, rows.Err()
}

// stepFacts are the raw numbers of one send step.
type stepFacts struct {
	entered, sent, delivered, failed, segments int64
	clicks, replies, optOuts, conversions      int64
	revenue                                    float64
	clickDelays                                []int64 // first click − message time, µs, per clicked link
}

func (s *stepFacts) counters(price float64) Counters {
	c := Counters{Entered: s.entered, Sent: s.sent, Delivered: s.delivered, Failed: s.failed, Segments: s.segments,
		Cost: cost(s.segments, price), ClicksUnique: s.clicks, Replies: s.replies, OptOuts: s.optOuts,
		Conversions: s.conversions, Revenue: roundMoney(s.revenue)}
	c.CTR = ratio(float64(c.ClicksUnique), float64(c.Sent))
	c.OptOutRate = ratio(float64(c.OptOuts), float64(c.Sent))
	c.ConversionRate = ratio(float64(c.Conversions), float64(c.Entered))
	c.RevenuePerRecipient = ratio(c.Revenue, float64(c.Entered))
	c.AOV = ratio(c.Revenue, float64(c.Conversions))
	c.MessagesPerConversion = ratio(float64(c.Sent), float64(c.Conversions))
	c.MedianTimeToClickS = medianSeconds(s.clickDelays)
	return c
}

// steps gathers every per-step number of the cohort, keyed by step id.
func (q cohort) steps(ctx context.Context) (map[string]*stepFacts, error) {
	out := map[string]*stepFacts{}
	get := func(id string) *stepFacts {
		s := out[id]
		if s == nil {
			s = &stepFacts{}
			out[id] = s
		}
		return s
	}
	w, a := q.where(), q.args()
	type query struct {
		name, sql string
		args      []any
		scan      func(scan func(...any) error) error
	}
	queries := []query{
		{"messages", `SELECT m.step_id,
CAST(SUM(CASE WHEN ` + sentCond + ` THEN 1 ELSE 0 END) AS BIGINT),
CAST(SUM(CASE WHEN m.status = 'delivered' THEN 1 ELSE 0 END) AS BIGINT),
CAST(SUM(CASE WHEN m.status IN ('failed', 'undelivered') THEN 1 ELSE 0 END) AS BIGINT),
CAST(SUM(CASE WHEN ` + sentCond + ` THEN m.segments ELSE 0 END) AS BIGINT)
FROM runs r JOIN messages m ON m.run_id = r.id
WHERE ` + w + ` AND m.direction = 'out'
GROUP BY m.step_id`, a, func(scan func(...any) error) error {
			var id string
			var sent, delivered, failed, segments int64
			if err := scan(&id, &sent, &delivered, &failed, &segments); err != nil {
				return err
			}
			s := get(id)
			s.sent, s.delivered, s.failed, s.segments = sent, delivered, failed, segments
			return nil
		}},
		// Runs that reached the step: every send attempt writes a decision
		// (sent, deferred, skipped…); holdout runs are the control group.
		{"reached", `SELECT x.step_id, COUNT(*) FROM (
  SELECT DISTINCT d.run_id, d.step_id FROM runs r JOIN decisions d ON d.run_id = r.id WHERE ` + w + ` AND r.holdout = 0
) x GROUP BY x.step_id`, a, func(scan func(...any) error) error {
			var id string
			var n int64
			if err := scan(&id, &n); err != nil {
				return err
			}
			get(id).entered = n
			return nil
		}},
		// Unique clicks: a link code belongs to one contact, run and step,
		// so distinct codes are distinct (contact, link) pairs. The first
		// click of each gives the time to click.
		{"clicks", `SELECT lc.step_id, MIN(lc.at) - MIN(m.created_at)
FROM runs r JOIN link_clicks lc ON lc.run_id = r.id
JOIN messages m ON m.run_id = lc.run_id AND m.step_id = lc.step_id
WHERE ` + w + `
GROUP BY lc.code, lc.step_id`, a, func(scan func(...any) error) error {
			var id string
			var delay int64
			if err := scan(&id, &delay); err != nil {
				return err
			}
			s := get(id)
			s.clicks++
			s.clickDelays = append(s.clickDelays, max(delay, 0))
			return nil
		}},
		// Replies: inbound texts attributed to the last outbound message
		// the contact received in the 24 hours before; a message counts once
		// however many replies it got.
		{"replies", `SELECT m.step_id, COUNT(DISTINCT m.id)
FROM messages i
JOIN messages m ON m.id = (SELECT m2.id FROM messages m2
  WHERE m2.contact_id = i.contact_id AND m2.direction = 'out' AND m2.status IN ` + reachedStatuses + `
  AND m2.created_at <= i.created_at AND m2.created_at >= i.created_at - ?
  ORDER BY m2.created_at DESC, m2.id DESC LIMIT 1)
JOIN runs r ON r.id = m.run_id
WHERE i.direction = 'in' AND i.created_at >= ? AND ` + w + `
GROUP BY m.step_id`, append([]any{attributionWindowMicros, q.from}, a...), func(scan func(...any) error) error {
			var id string
			var n int64
			if err := scan(&id, &n); err != nil {
				return err
			}
			get(id).replies = n
			return nil
		}},
		// Opt-outs: unsubscribes in the consent ledger (keyed by phone)
		// attributed the same way; a message counts once.
		{"opt-outs", `SELECT m.step_id, COUNT(DISTINCT m.id)
FROM consent_ledger u
JOIN contacts c ON c.phone = u.phone
JOIN messages m ON m.id = (SELECT m2.id FROM messages m2
  WHERE m2.contact_id = c.id AND m2.direction = 'out' AND m2.status IN ` + reachedStatuses + `
  AND m2.created_at <= u.occurred_at AND m2.created_at >= u.occurred_at - ?
  ORDER BY m2.created_at DESC, m2.id DESC LIMIT 1)
JOIN runs r ON r.id = m.run_id
WHERE u.status = 'unsubscribed' AND u.occurred_at >= ? AND ` + w + `
GROUP BY m.step_id`, append([]any{attributionWindowMicros, q.from}, a...), func(scan func(...any) error) error {
			var id string
			var n int64
			if err := scan(&id, &n); err != nil {
				return err
			}
			get(id).optOuts = n
			return nil
		}},
		// Conversions by step: last touch — the run's last message the
		// contact received before the goal. Holdout runs received none.
		{"conversions", `SELECT m.step_id, COUNT(*), COALESCE(SUM(r.goal_value), 0)
FROM runs r
JOIN messages m ON m.id = (SELECT m2.id FROM messages m2
  WHERE m2.run_id = r.id AND m2.direction = 'out' AND m2.status IN ` + reachedStatuses + ` AND m2.created_at < r.goal_at
  ORDER BY m2.created_at DESC, m2.id DESC LIMIT 1)
WHERE ` + w + ` AND r.goal_at > 0
GROUP BY m.step_id`, a, func(scan func(...any) error) error {
			var id string
			var n int64
			var rev float64
			if err := scan(&id, &n, &rev); err != nil {
				return err
			}
			s := get(id)
			s.conversions, s.revenue = n, rev
			return nil
		}},
	}
	for _, qq := range queries {
		if err := q.each(ctx, qq.name, qq.sql, qq.args, qq.scan); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// each runs a read query and hands every row to fn.
func (q cohort) each(ctx context.Context, name, query string, args []any, fn func(scan func(...any) error) error) error {
	rows, err := q.db.ReadQuery(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("report %s: %w", name, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return fmt.Errorf("report %s: %w", name, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("report %s: %w", name, err)
	}
	return nil
}
