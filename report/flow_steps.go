package report

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/smsflow/smsflow"
)

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

// messageTally is one (step, status) cell of the message aggregate:
// messages, their segments, and those of them with a provider id.
type messageTally struct {
	n, segments, withProvider, withProviderSegments int64
}

// tallyMessages turns the (step, status) cells into a step's counters with
// the rules of sentCond: sent = accepted by the provider (sent, delivered,
// undelivered, unknown, or failed with a provider id), failed = failed or
// undelivered, segments of the sent ones. rows is the number of messages.
func tallyMessages(cells map[string]*messageTally, s *stepFacts) (rows int64) {
	for status, c := range cells {
		rows += c.n
		switch status {
		case smsflow.MessageSent, smsflow.MessageDelivered, smsflow.MessageUndelivered, smsflow.MessageUnknown:
			s.sent += c.n
			s.segments += c.segments
		case smsflow.MessageFailed:
			s.sent += c.withProvider
			s.segments += c.withProviderSegments
		}
		switch status {
		case smsflow.MessageDelivered:
			s.delivered += c.n
		case smsflow.MessageFailed, smsflow.MessageUndelivered:
			s.failed += c.n
		}
	}
	return rows
}

// steps gathers every per-step number of the cohort, keyed by step id. The
// queries are independent and run at the same time on the reader pool.
func (q *cohort) steps(ctx context.Context) (map[string]*stepFacts, error) {
	if q.n == 0 {
		return map[string]*stepFacts{}, nil // no runs: nothing to attribute
	}
	t := newStepTally()
	parts := []func(context.Context, *stepTally) error{
		q.messageCounts,
		q.reachedRuns,
		q.holdoutReached,
		q.uniqueClicks,
		q.replies,
		q.optOuts,
		q.conversionsByStep,
		q.outsideRuns,
	}
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, part := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = part(ctx, t)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t.result(), nil
}

// stepTally collects what the step queries find, as they run at the same
// time: message cells to add up, runs that reached each step, and the facts
// read whole (clicks, replies, opt-outs, conversions).
type stepTally struct {
	mu      sync.Mutex                          // guards the maps
	msgs    map[string]map[string]*messageTally // step → status → cell
	reached map[string]int64                    // step → runs
	facts   map[string]*stepFacts               // clicks, replies, opt-outs, conversions
}

func newStepTally() *stepTally {
	return &stepTally{msgs: map[string]map[string]*messageTally{}, reached: map[string]int64{}, facts: map[string]*stepFacts{}}
}

// message adds (sign 1) or subtracts (sign -1) messages, segments and those
// with a provider id, and their segments, to a (step, status) cell.
func (t *stepTally) message(step, status string, sign int64, v []int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.msgs[step] == nil {
		t.msgs[step] = map[string]*messageTally{}
	}
	c := t.msgs[step][status]
	if c == nil {
		c = &messageTally{}
		t.msgs[step][status] = c
	}
	c.n += sign * v[0]
	c.segments += sign * v[1]
	c.withProvider += sign * v[2]
	c.withProviderSegments += sign * v[3]
}

// reach adds n runs (negative: subtracts) to those that reached a step.
func (t *stepTally) reach(step string, n int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.reached[step] += n
}

// unreach reads a (step, runs) row and subtracts its runs from those that
// reached the step.
func (t *stepTally) unreach(scan func(...any) error) error {
	var step string
	var n int64
	if err := scan(&step, &n); err != nil {
		return err
	}
	t.reach(step, -n)
	return nil
}

// fact sets facts of a step.
func (t *stepTally) fact(step string, set func(*stepFacts)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.facts[step]
	if s == nil {
		s = &stepFacts{}
		t.facts[step] = s
	}
	set(s)
}

// result is every step's numbers. A step is in it when some row of the
// plain join names it.
func (t *stepTally) result() map[string]*stepFacts {
	out := map[string]*stepFacts{}
	get := func(id string) *stepFacts {
		s := out[id]
		if s == nil {
			s = &stepFacts{}
			out[id] = s
		}
		return s
	}
	for step, cells := range t.msgs {
		var s stepFacts
		if tallyMessages(cells, &s) > 0 {
			f := get(step)
			f.sent, f.delivered, f.failed, f.segments = s.sent, s.delivered, s.failed, s.segments
		}
	}
	for step, n := range t.reached {
		if n > 0 {
			get(step).entered = n
		}
	}
	for step, f := range t.facts {
		s := get(step)
		s.clicks, s.clickDelays = f.clicks, f.clickDelays
		s.replies, s.optOuts = f.replies, f.optOuts
		s.conversions, s.revenue = f.conversions, f.revenue
	}
	return out
}

// messageCounts counts, per (step, status), the flow's outbound messages in
// the cohort's run-id range (index messages_report); outsideRuns subtracts
// those of runs not in the cohort.
func (q *cohort) messageCounts(ctx context.Context, t *stepTally) error {
	keys, err := q.distinctKeys(ctx, "messages", []string{"step_id", "status"})
	if err != nil {
		return fmt.Errorf("report messages: %w", err)
	}
	return q.perKey(ctx, "messages", keys, 4, func(i int, k []any) (string, []any) {
		provider := `CAST(0 AS BIGINT), CAST(0 AS BIGINT)`
		if asString(k[1]) == smsflow.MessageFailed {
			provider = `CAST(COALESCE(SUM(CASE WHEN m.provider_id <> '' THEN 1 ELSE 0 END), 0) AS BIGINT),
CAST(COALESCE(SUM(CASE WHEN m.provider_id <> '' THEN m.segments ELSE 0 END), 0) AS BIGINT)`
		}
		return fmt.Sprintf(`SELECT %d, COUNT(*), CAST(COALESCE(SUM(m.segments), 0) AS BIGINT), %s FROM messages m
WHERE m.flow_id = ? AND m.step_id = ? AND m.status = ? AND m.direction = 'out' AND m.run_id >= ? AND m.run_id <= ?`, i, provider),
			[]any{q.flowID, k[0], k[1], q.lo, q.hi}
	}, func(k []any, v []int64) { t.message(asString(k[0]), asString(k[1]), 1, v) })
}

// reachedRuns counts the runs that reached each step: every send attempt
// writes a decision (sent, deferred, skipped…). Per step, the distinct runs
// with a decision in the cohort's run-id range (index decisions_report);
// holdoutReached and outsideRuns subtract the runs that do not count.
func (q *cohort) reachedRuns(ctx context.Context, t *stepTally) error {
	keys, err := q.distinctKeys(ctx, "decisions", []string{"step_id"})
	if err != nil {
		return fmt.Errorf("report reached: %w", err)
	}
	return q.perKey(ctx, "reached", keys, 1, func(i int, k []any) (string, []any) {
		return fmt.Sprintf(`SELECT %d, COUNT(*) FROM (SELECT DISTINCT d.run_id FROM decisions d
WHERE d.flow_id = ? AND d.step_id = ? AND d.run_id >= ? AND d.run_id <= ?) x`, i), []any{q.flowID, k[0], q.lo, q.hi}
	}, func(k []any, v []int64) { t.reach(asString(k[0]), v[0]) })
}

// holdoutReached subtracts the cohort's holdout runs, the control group,
// from the runs that reached each step (one range per holdout group key).
func (q *cohort) holdoutReached(ctx context.Context, t *stepTally) error {
	var holdout [][]any
	for _, k := range q.keys {
		if asInt(k[0]) != 0 {
			holdout = append(holdout, k)
		}
	}
	for lo := 0; lo < len(holdout); lo += keysPerQuery {
		var ranges []string
		var args []any
		for _, k := range holdout[lo:min(lo+keysPerQuery, len(holdout))] {
			ranges = append(ranges, `SELECT r.id FROM runs r WHERE r.flow_id = ? AND r.holdout = ? AND r.variant = ?
AND r.status = ? AND r.exit_reason = ? AND r.entered_at >= ? AND r.entered_at < ?`)
			args = append(args, q.flowID, k[0], k[1], k[2], k[3], q.from, q.to)
		}
		err := q.each(ctx, "reached", `SELECT x.step_id, COUNT(*) FROM (
  SELECT DISTINCT d.run_id, d.step_id FROM (`+strings.Join(ranges, "\nUNION ALL\n")+`) h JOIN decisions d ON d.run_id = h.id
) x GROUP BY x.step_id`, args, t.unreach)
		if err != nil {
			return err
		}
	}
	return nil
}

// uniqueClicks counts unique clicks: a link code belongs to one contact,
// run and step, so distinct codes are distinct (contact, link) pairs. The
// first click of each gives the time to click. Read from the clicks in the
// run-id range (index link_clicks_report, whose order is the grouping: a
// code has one run and step), each checked against its run.
func (q *cohort) uniqueClicks(ctx context.Context, t *stepTally) error {
	return q.each(ctx, "clicks", `SELECT lc.step_id, MIN(lc.at) - MIN(m.created_at)
FROM link_clicks lc CROSS JOIN runs r CROSS JOIN messages m
WHERE lc.run_id >= ? AND lc.run_id <= ? AND r.id = lc.run_id AND `+q.where()+`
AND m.run_id = lc.run_id AND m.step_id = lc.step_id
GROUP BY lc.run_id, lc.step_id, lc.code`, append([]any{q.lo, q.hi}, q.args()...), func(scan func(...any) error) error {
		var step string
		var delay int64
		if err := scan(&step, &delay); err != nil {
			return err
		}
		t.fact(step, func(s *stepFacts) {
			s.clicks++
			s.clickDelays = append(s.clickDelays, max(delay, 0))
		})
		return nil
	})
}

// replies counts inbound texts attributed to the last flow message the
// contact received in the 24 hours before (an automatic reply — a keyword's
// answer, queued at the very instant of the text it answers — belongs to no
// run and takes no attribution); a message counts once however many replies
// it got.
//
// The attributed messages' ids are found first, as a DISTINCT derived
// table, and then read by id. Joined directly ON m.id = (SELECT …),
// PostgreSQL hashed the whole messages table to match the subquery's
// results (D99); the DISTINCT keeps the derived table from being merged
// back into that join, and is what COUNT(DISTINCT m.id) counts anyway.
func (q *cohort) replies(ctx context.Context, t *stepTally) error {
	return q.each(ctx, "replies", `SELECT m.step_id, COUNT(DISTINCT m.id)
FROM (SELECT DISTINCT (SELECT m2.id FROM messages m2
  WHERE m2.contact_id = i.contact_id AND m2.direction = 'out' AND m2.run_id IS NOT NULL AND m2.status IN `+reachedStatuses+`
  AND m2.created_at <= i.created_at AND m2.created_at >= i.created_at - ?
  ORDER BY m2.created_at DESC, m2.id DESC LIMIT 1) AS id
  FROM messages i WHERE i.direction = 'in' AND i.created_at >= ?) a
JOIN messages m ON m.id = a.id
JOIN runs r ON r.id = m.run_id
WHERE `+q.where()+`
GROUP BY m.step_id`, append([]any{attributionWindowMicros, q.from}, q.args()...), func(scan func(...any) error) error {
		var step string
		var n int64
		if err := scan(&step, &n); err != nil {
			return err
		}
		t.fact(step, func(s *stepFacts) { s.replies = n })
		return nil
	})
}

// optOuts counts unsubscribes in the consent ledger (keyed by phone),
// attributed as replies are (and read as they are); a message counts once.
func (q *cohort) optOuts(ctx context.Context, t *stepTally) error {
	return q.each(ctx, "opt-outs", `SELECT m.step_id, COUNT(DISTINCT m.id)
FROM (SELECT DISTINCT (SELECT m2.id FROM messages m2
  WHERE m2.contact_id = c.id AND m2.direction = 'out' AND m2.run_id IS NOT NULL AND m2.status IN `+reachedStatuses+`
  AND m2.created_at <= u.occurred_at AND m2.created_at >= u.occurred_at - ?
  ORDER BY m2.created_at DESC, m2.id DESC LIMIT 1) AS id
  FROM consent_ledger u JOIN contacts c ON c.phone = u.phone
  WHERE u.status = 'unsubscribed' AND u.occurred_at >= ?) a
JOIN messages m ON m.id = a.id
JOIN runs r ON r.id = m.run_id
WHERE `+q.where()+`
GROUP BY m.step_id`, append([]any{attributionWindowMicros, q.from}, q.args()...), func(scan func(...any) error) error {
		var step string
		var n int64
		if err := scan(&step, &n); err != nil {
			return err
		}
		t.fact(step, func(s *stepFacts) { s.optOuts = n })
		return nil
	})
}

// conversionsByStep attributes conversions by last touch: the run's last
// message the contact received before the goal. Holdout runs received none.
// Index runs_goals holds only the runs with a goal. The subquery gives the
// message's step itself: joined to messages ON m.id = (SELECT …),
// PostgreSQL hashed the whole table to match it (D99). Runs with no such
// message give a NULL step, and no conversion by step.
func (q *cohort) conversionsByStep(ctx context.Context, t *stepTally) error {
	return q.each(ctx, "conversions by step", `SELECT x.step_id, COUNT(*), COALESCE(SUM(x.goal_value), 0)
FROM (SELECT (SELECT m2.step_id FROM messages m2
  WHERE m2.run_id = r.id AND m2.direction = 'out' AND m2.status IN `+reachedStatuses+` AND m2.created_at < r.goal_at
  ORDER BY m2.created_at DESC, m2.id DESC LIMIT 1) AS step_id, r.goal_value
  FROM runs r WHERE `+q.where()+` AND r.goal_at > 0) x
GROUP BY x.step_id`, q.args(), func(scan func(...any) error) error {
		var step sql.NullString
		var n int64
		var rev float64
		if err := scan(&step, &n, &rev); err != nil {
			return err
		}
		if step.Valid {
			t.fact(step.String, func(s *stepFacts) { s.conversions, s.revenue = n, rev })
		}
		return nil
	})
}

// outsideRuns subtracts the messages and decisions of the runs in the
// cohort's id range that are not in it (entered outside the window), read
// with the row-by-row join. Usually there are none, as run ids grow with
// entry time.
func (q *cohort) outsideRuns(ctx context.Context, t *stepTally) error {
	var inRange int64
	if err := q.db.ReadQueryRow(ctx, `SELECT COUNT(*) FROM runs r WHERE r.flow_id = ? AND r.id >= ? AND r.id <= ?`,
		q.flowID, q.lo, q.hi).Scan(&inRange); err != nil {
		return fmt.Errorf("report runs: %w", err)
	}
	if inRange == q.n {
		return nil
	}
	err := q.each(ctx, "reached", `SELECT x.step_id, COUNT(*) FROM (
  SELECT DISTINCT d.run_id, d.step_id FROM runs r JOIN decisions d ON d.run_id = r.id WHERE `+q.outside()+`
) x GROUP BY x.step_id`, q.outsideArgs(), t.unreach)
	if err != nil {
		return err
	}
	return q.each(ctx, "messages", `SELECT m.step_id, m.status, COUNT(*), CAST(COALESCE(SUM(m.segments), 0) AS BIGINT),
CAST(COALESCE(SUM(CASE WHEN m.provider_id <> '' THEN 1 ELSE 0 END), 0) AS BIGINT),
CAST(COALESCE(SUM(CASE WHEN m.provider_id <> '' THEN m.segments ELSE 0 END), 0) AS BIGINT)
FROM runs r JOIN messages m ON m.run_id = r.id
WHERE `+q.outside()+` AND m.direction = 'out'
GROUP BY m.step_id, m.status`, q.outsideArgs(), func(scan func(...any) error) error {
		var step, status string
		v := make([]int64, 4)
		if err := scan(&step, &status, &v[0], &v[1], &v[2], &v[3]); err != nil {
			return err
		}
		t.message(step, status, -1, v)
		return nil
	})
}
