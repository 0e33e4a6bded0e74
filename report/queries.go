package report

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/smsflow/smsflow"
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
//
// Speed (README "Reports", docs/decisions.md D25): the big tables are read
// as index ranges, never row by row from the runs, and no big aggregate is
// sorted. The group keys of every aggregate (a run's holdout, variant,
// status and exit reason; a message's step and status; a decision's step)
// are found first by a loose index scan — one seek per distinct key over
// the flow's whole history — and each key is then one index range, its
// aggregate computed while the range is read. span finds the cohort's
// smallest and largest run id; the message and decision counts read the
// flow's rows in that run-id range (messages and decisions carry their
// run's flow, as the engine writes them) and subtract, with the row-by-row
// join, the runs in the range that are not counted: entered outside the
// window (rare: run ids grow with entry time) and, for "reached", holdout
// runs. The independent queries run at the same time on the reader pool.
// The numbers are the plain join's, row for row (equivalence_test.go checks
// them against it on random histories).
type cohort struct {
	db       *store.DB
	flowID   string
	from, to int64
	// n is the number of runs in the cohort, lo and hi their smallest and
	// largest id; keys are the flow's run group keys (holdout, variant,
	// status, exit reason). span sets them.
	n, lo, hi int64
	keys      [][]any
}

// span counts the cohort's runs and finds their id range (index runs_flow),
// and the flow's run group keys (a loose scan of runs_report).
func (q *cohort) span(ctx context.Context) error {
	err := q.db.ReadQueryRow(ctx, `SELECT COUNT(*), COALESCE(MIN(r.id), 0), COALESCE(MAX(r.id), 0) FROM runs r WHERE `+q.where(),
		q.args()...).Scan(&q.n, &q.lo, &q.hi)
	if err != nil {
		return fmt.Errorf("report runs: %w", err)
	}
	if q.n == 0 {
		return nil
	}
	if q.keys, err = q.distinctKeys(ctx, "runs", []string{"holdout", "variant", "status", "exit_reason"}); err != nil {
		return fmt.Errorf("report runs: %w", err)
	}
	return nil
}

// where is the cohort condition on runs r, and args its arguments.
func (q *cohort) where() string { return `r.flow_id = ? AND r.entered_at >= ? AND r.entered_at < ?` }
func (q *cohort) args() []any   { return []any{q.flowID, q.from, q.to} }

// outside is the condition on runs r for the flow's runs in the cohort's id
// range that are not in the cohort (entered before or after the window), and
// outsideArgs its arguments.
func (q *cohort) outside() string {
	return `r.flow_id = ? AND r.id >= ? AND r.id <= ? AND (r.entered_at < ? OR r.entered_at >= ?)`
}
func (q *cohort) outsideArgs() []any { return []any{q.flowID, q.lo, q.hi, q.from, q.to} }

// runGroup is one row of the runs aggregate.
type runGroup struct {
	holdout            bool
	variant            string
	status, exitReason string
	n, conversions     int64
	revenue            float64
}

// runGroups aggregates the cohort's runs by holdout, variant, status and
// exit reason (index runs_report, one range per key), with the conversions
// and revenue from the runs that have a goal (index runs_goals).
func (q *cohort) runGroups(ctx context.Context) ([]runGroup, error) {
	type goals struct {
		n   int64
		rev float64
	}
	var (
		counts []runGroup
		byKey  = map[string]goals{}
		errs   [2]error
		wg     sync.WaitGroup
		keyOf  = func(holdout int64, variant, status, reason string) string {
			return fmt.Sprint(holdout, "\x00", variant, "\x00", status, "\x00", reason)
		}
		keyArgs = func(k []any) (int64, string, string, string) {
			return asInt(k[0]), asString(k[1]), asString(k[2]), asString(k[3])
		}
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		errs[0] = q.perKey(ctx, "runs", q.keys, 1, func(i int, k []any) (string, []any) {
			return fmt.Sprintf(`SELECT %d, COUNT(*) FROM runs r
WHERE r.flow_id = ? AND r.holdout = ? AND r.variant = ? AND r.status = ? AND r.exit_reason = ? AND r.entered_at >= ? AND r.entered_at < ?`, i),
				[]any{q.flowID, k[0], k[1], k[2], k[3], q.from, q.to}
		}, func(k []any, v []int64) {
			if v[0] == 0 {
				return
			}
			h, variant, status, reason := keyArgs(k)
			counts = append(counts, runGroup{holdout: h != 0, variant: variant, status: status, exitReason: reason, n: v[0]})
		})
	}()
	go func() {
		defer wg.Done()
		errs[1] = q.each(ctx, "conversions", `SELECT r.holdout, r.variant, r.status, r.exit_reason, COUNT(*), COALESCE(SUM(r.goal_value), 0)
FROM runs r WHERE `+q.where()+` AND r.goal_at > 0
GROUP BY r.holdout, r.variant, r.status, r.exit_reason`, q.args(), func(scan func(...any) error) error {
			var h int64
			var variant, status, reason string
			var g goals
			if err := scan(&h, &variant, &status, &reason, &g.n, &g.rev); err != nil {
				return err
			}
			byKey[keyOf(h, variant, status, reason)] = g
			return nil
		})
	}()
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	for i := range counts {
		g := &counts[i]
		h := int64(0)
		if g.holdout {
			h = 1
		}
		c := byKey[keyOf(h, g.variant, g.status, g.exitReason)]
		g.conversions, g.revenue = c.n, c.rev
	}
	return counts, nil
}

// keysPerQuery bounds how many per-key aggregates one UNION ALL statement
// holds (and so its number of arguments).
const keysPerQuery = 40

// perKey runs one aggregate per key, UNION ALL'd keysPerQuery at a time.
// sel gives the SELECT for key i: its first column must be i, followed by
// n integer columns, which row receives with the key.
func (q *cohort) perKey(ctx context.Context, name string, keys [][]any, n int, sel func(i int, key []any) (string, []any), row func(key []any, v []int64)) error {
	for lo := 0; lo < len(keys); lo += keysPerQuery {
		var sb strings.Builder
		var args []any
		for i := lo; i < min(lo+keysPerQuery, len(keys)); i++ {
			if i > lo {
				sb.WriteString("\nUNION ALL\n")
			}
			query, a := sel(i, keys[i])
			sb.WriteString(query)
			args = append(args, a...)
		}
		err := q.each(ctx, name, sb.String(), args, func(scan func(...any) error) error {
			var i int
			v := make([]int64, n)
			dest := []any{&i}
			for j := range v {
				dest = append(dest, &v[j])
			}
			if err := scan(dest...); err != nil {
				return err
			}
			if i < 0 || i >= len(keys) {
				return fmt.Errorf("key %d out of range", i)
			}
			row(keys[i], v)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// distinctKeys lists the distinct values of cols among the flow's rows of
// table, in index order, by a loose index scan: each value is one
// "MIN(col) … > previous" seek on an index that starts with flow_id, cols.
func (q *cohort) distinctKeys(ctx context.Context, table string, cols []string) ([][]any, error) {
	var out [][]any
	var walk func(prefix []any) error
	walk = func(prefix []any) error {
		col := cols[len(prefix)]
		cond := "flow_id = ?"
		args := []any{q.flowID}
		for i, v := range prefix {
			cond += " AND " + cols[i] + " = ?"
			args = append(args, v)
		}
		var last any
		for {
			query, a := `SELECT MIN(`+col+`) FROM `+table+` WHERE `+cond, args
			if last != nil {
				query += ` AND ` + col + ` > ?`
				a = append(append([]any(nil), args...), last)
			}
			var v any
			if err := q.db.ReadQueryRow(ctx, query, a...).Scan(&v); err != nil {
				return err
			}
			if v == nil {
				return nil
			}
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			key := append(append([]any(nil), prefix...), v)
			if len(key) == len(cols) {
				out = append(out, key)
			} else if err := walk(key); err != nil {
				return err
			}
			last = v
		}
	}
	return out, walk(nil)
}

// asInt and asString read a key value as the database returned it.
func asInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case bool:
		if x {
			return 1
		}
	}
	return 0
}

func asString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
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
	out := map[string]*stepFacts{}
	if q.n == 0 {
		return out, nil // no runs: nothing to attribute
	}
	get := func(id string) *stepFacts {
		s := out[id]
		if s == nil {
			s = &stepFacts{}
			out[id] = s
		}
		return s
	}
	w, a := q.where(), q.args()

	var mu sync.Mutex // guards the maps below
	msgs := map[string]map[string]*messageTally{}
	tally := func(step, status string, sign int64, v []int64) {
		mu.Lock()
		defer mu.Unlock()
		if msgs[step] == nil {
			msgs[step] = map[string]*messageTally{}
		}
		c := msgs[step][status]
		if c == nil {
			c = &messageTally{}
			msgs[step][status] = c
		}
		c.n += sign * v[0]
		c.segments += sign * v[1]
		c.withProvider += sign * v[2]
		c.withProviderSegments += sign * v[3]
	}
	reached := map[string]int64{}
	reach := func(step string, n int64) {
		mu.Lock()
		defer mu.Unlock()
		reached[step] += n
	}
	facts := map[string]*stepFacts{} // clicks, replies, opt-outs, conversions
	fact := func(step string, set func(*stepFacts)) {
		mu.Lock()
		defer mu.Unlock()
		s := facts[step]
		if s == nil {
			s = &stepFacts{}
			facts[step] = s
		}
		set(s)
	}

	scanReached := func(scan func(...any) error) error {
		var step string
		var n int64
		if err := scan(&step, &n); err != nil {
			return err
		}
		reach(step, -n)
		return nil
	}

	tasks := []func() error{
		// Messages: per (step, status), the flow's messages in the run-id
		// range (index messages_report)…
		func() error {
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
			}, func(k []any, v []int64) { tally(asString(k[0]), asString(k[1]), 1, v) })
		},
		// Runs that reached the step: every send attempt writes a decision
		// (sent, deferred, skipped…); holdout runs are the control group.
		// Per step, the distinct runs with a decision in the run-id range
		// (index decisions_report)…
		func() error {
			keys, err := q.distinctKeys(ctx, "decisions", []string{"step_id"})
			if err != nil {
				return fmt.Errorf("report reached: %w", err)
			}
			return q.perKey(ctx, "reached", keys, 1, func(i int, k []any) (string, []any) {
				return fmt.Sprintf(`SELECT %d, COUNT(*) FROM (SELECT DISTINCT d.run_id FROM decisions d
WHERE d.flow_id = ? AND d.step_id = ? AND d.run_id >= ? AND d.run_id <= ?) x`, i), []any{q.flowID, k[0], q.lo, q.hi}
			}, func(k []any, v []int64) { reach(asString(k[0]), v[0]) })
		},
		// … minus the cohort's holdout runs (one range per holdout group
		// key; the runs outside the cohort are subtracted below).
		func() error {
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
) x GROUP BY x.step_id`, args, scanReached)
				if err != nil {
					return err
				}
			}
			return nil
		},
		// Unique clicks: a link code belongs to one contact, run and step,
		// so distinct codes are distinct (contact, link) pairs. The first
		// click of each gives the time to click. Read from the clicks in the
		// run-id range (index link_clicks_report, whose order is the
		// grouping: a code has one run and step), each checked against its
		// run.
		func() error {
			return q.each(ctx, "clicks", `SELECT lc.step_id, MIN(lc.at) - MIN(m.created_at)
FROM link_clicks lc CROSS JOIN runs r CROSS JOIN messages m
WHERE lc.run_id >= ? AND lc.run_id <= ? AND r.id = lc.run_id AND `+w+`
AND m.run_id = lc.run_id AND m.step_id = lc.step_id
GROUP BY lc.run_id, lc.step_id, lc.code`, append([]any{q.lo, q.hi}, a...), func(scan func(...any) error) error {
				var step string
				var delay int64
				if err := scan(&step, &delay); err != nil {
					return err
				}
				fact(step, func(s *stepFacts) {
					s.clicks++
					s.clickDelays = append(s.clickDelays, max(delay, 0))
				})
				return nil
			})
		},
		// Replies: inbound texts attributed to the last flow message the
		// contact received in the 24 hours before (an automatic reply —
		// a keyword's answer, queued at the very instant of the text it
		// answers — belongs to no run and takes no attribution); a message
		// counts once however many replies it got.
		func() error {
			return q.each(ctx, "replies", `SELECT m.step_id, COUNT(DISTINCT m.id)
FROM messages i
JOIN messages m ON m.id = (SELECT m2.id FROM messages m2
  WHERE m2.contact_id = i.contact_id AND m2.direction = 'out' AND m2.run_id IS NOT NULL AND m2.status IN `+reachedStatuses+`
  AND m2.created_at <= i.created_at AND m2.created_at >= i.created_at - ?
  ORDER BY m2.created_at DESC, m2.id DESC LIMIT 1)
JOIN runs r ON r.id = m.run_id
WHERE i.direction = 'in' AND i.created_at >= ? AND `+w+`
GROUP BY m.step_id`, append([]any{attributionWindowMicros, q.from}, a...), func(scan func(...any) error) error {
				var step string
				var n int64
				if err := scan(&step, &n); err != nil {
					return err
				}
				fact(step, func(s *stepFacts) { s.replies = n })
				return nil
			})
		},
		// Opt-outs: unsubscribes in the consent ledger (keyed by phone)
		// attributed the same way; a message counts once.
		func() error {
			return q.each(ctx, "opt-outs", `SELECT m.step_id, COUNT(DISTINCT m.id)
FROM consent_ledger u
JOIN contacts c ON c.phone = u.phone
JOIN messages m ON m.id = (SELECT m2.id FROM messages m2
  WHERE m2.contact_id = c.id AND m2.direction = 'out' AND m2.run_id IS NOT NULL AND m2.status IN `+reachedStatuses+`
  AND m2.created_at <= u.occurred_at AND m2.created_at >= u.occurred_at - ?
  ORDER BY m2.created_at DESC, m2.id DESC LIMIT 1)
JOIN runs r ON r.id = m.run_id
WHERE u.status = 'unsubscribed' AND u.occurred_at >= ? AND `+w+`
GROUP BY m.step_id`, append([]any{attributionWindowMicros, q.from}, a...), func(scan func(...any) error) error {
				var step string
				var n int64
				if err := scan(&step, &n); err != nil {
					return err
				}
				fact(step, func(s *stepFacts) { s.optOuts = n })
				return nil
			})
		},
		// Conversions by step: last touch — the run's last message the
		// contact received before the goal. Holdout runs received none.
		// Index runs_goals holds only the runs with a goal.
		func() error {
			return q.each(ctx, "conversions by step", `SELECT m.step_id, COUNT(*), COALESCE(SUM(r.goal_value), 0)
FROM runs r
JOIN messages m ON m.id = (SELECT m2.id FROM messages m2
  WHERE m2.run_id = r.id AND m2.direction = 'out' AND m2.status IN `+reachedStatuses+` AND m2.created_at < r.goal_at
  ORDER BY m2.created_at DESC, m2.id DESC LIMIT 1)
WHERE `+w+` AND r.goal_at > 0
GROUP BY m.step_id`, a, func(scan func(...any) error) error {
				var step string
				var n int64
				var rev float64
				if err := scan(&step, &n, &rev); err != nil {
					return err
				}
				fact(step, func(s *stepFacts) { s.conversions, s.revenue = n, rev })
				return nil
			})
		},
		// The runs in the cohort's id range that are not in it (entered
		// outside the window): their messages and decisions are subtracted
		// with the row-by-row join. Usually there are none, as run ids grow
		// with entry time.
		func() error {
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
) x GROUP BY x.step_id`, q.outsideArgs(), scanReached)
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
				tally(step, status, -1, v)
				return nil
			})
		},
	}
	errs := make([]error, len(tasks))
	var wg sync.WaitGroup
	for i, task := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = task()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	// A step is in the report when some row of the plain join names it.
	for step, cells := range msgs {
		var s stepFacts
		if tallyMessages(cells, &s) > 0 {
			f := get(step)
			f.sent, f.delivered, f.failed, f.segments = s.sent, s.delivered, s.failed, s.segments
		}
	}
	for step, n := range reached {
		if n > 0 {
			get(step).entered = n
		}
	}
	for step, f := range facts {
		s := get(step)
		s.clicks, s.clickDelays = f.clicks, f.clickDelays
		s.replies, s.optOuts = f.replies, f.optOuts
		s.conversions, s.revenue = f.conversions, f.revenue
	}
	return out, nil
}

// each runs a read query and hands every row to fn.
func (q *cohort) each(ctx context.Context, name, query string, args []any, fn func(scan func(...any) error) error) error {
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
