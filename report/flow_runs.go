package report

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// runGroup is one row of the runs aggregate.
type runGroup struct {
	holdout            bool
	variant            string
	status, exitReason string
	n, conversions     int64
	revenue            float64
}

// goals are the conversions and revenue of one run group.
type goals struct {
	n   int64
	rev float64
}

// groupKey identifies a run group in goalsByGroup's map.
func groupKey(holdout int64, variant, status, reason string) string {
	return fmt.Sprint(holdout, "\x00", variant, "\x00", status, "\x00", reason)
}

// runGroups aggregates the cohort's runs by holdout, variant, status and
// exit reason (index runs_report, one range per key), with the conversions
// and revenue from the runs that have a goal (index runs_goals).
func (q *cohort) runGroups(ctx context.Context) ([]runGroup, error) {
	var (
		counts []runGroup
		byKey  map[string]goals
		errs   [2]error
		wg     sync.WaitGroup
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		counts, errs[0] = q.runCounts(ctx)
	}()
	go func() {
		defer wg.Done()
		byKey, errs[1] = q.goalsByGroup(ctx)
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
		c := byKey[groupKey(h, g.variant, g.status, g.exitReason)]
		g.conversions, g.revenue = c.n, c.rev
	}
	return counts, nil
}

// runCounts counts the cohort's runs per group key found by span, one
// index range each; groups with no run in the window are left out.
func (q *cohort) runCounts(ctx context.Context) ([]runGroup, error) {
	var counts []runGroup
	err := q.perKey(ctx, "runs", q.keys, 1, func(i int, k []any) (string, []any) {
		return fmt.Sprintf(`SELECT %d, COUNT(*) FROM runs r
WHERE r.flow_id = ? AND r.holdout = ? AND r.variant = ? AND r.status = ? AND r.exit_reason = ? AND r.entered_at >= ? AND r.entered_at < ?`, i),
			[]any{q.flowID, k[0], k[1], k[2], k[3], q.from, q.to}
	}, func(k []any, v []int64) {
		if v[0] == 0 {
			return
		}
		counts = append(counts, runGroup{holdout: asInt(k[0]) != 0, variant: asString(k[1]), status: asString(k[2]), exitReason: asString(k[3]), n: v[0]})
	})
	return counts, err
}

// goalsByGroup sums the conversions and revenue of the cohort's runs with
// a goal, per group (by groupKey).
func (q *cohort) goalsByGroup(ctx context.Context) (map[string]goals, error) {
	byKey := map[string]goals{}
	err := q.each(ctx, "conversions", `SELECT r.holdout, r.variant, r.status, r.exit_reason, COUNT(*), COALESCE(SUM(r.goal_value), 0)
FROM runs r WHERE `+q.where()+` AND r.goal_at > 0
GROUP BY r.holdout, r.variant, r.status, r.exit_reason`, q.args(), func(scan func(...any) error) error {
		var h int64
		var variant, status, reason string
		var g goals
		if err := scan(&h, &variant, &status, &reason, &g.n, &g.rev); err != nil {
			return err
		}
		byKey[groupKey(h, variant, status, reason)] = g
		return nil
	})
	return byKey, err
}
