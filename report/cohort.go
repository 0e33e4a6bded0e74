package report

import (
	"context"
	"fmt"
	"strings"
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
// them, on random histories, against a reference computed in Go from every
// row).
type cohort struct {
	db       Store
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
