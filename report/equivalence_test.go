package report

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// refCohort computes the report's raw numbers with the plain row-by-row
// joins the fast queries (queries.go) replace: the reference they must match
// exactly.
type refCohort struct {
	db       *store.DB
	flowID   string
	from, to int64
}

func (q refCohort) where() string { return `r.flow_id = ? AND r.entered_at >= ? AND r.entered_at < ?` }
func (q refCohort) args() []any   { return []any{q.flowID, q.from, q.to} }
func (q refCohort) each(ctx context.Context, name, query string, args []any, fn func(scan func(...any) error) error) error {
	c := &cohort{db: q.db}
	return c.each(ctx, name, query, args, fn)
}

func (q refCohort) runGroups(ctx context.Context) ([]runGroup, error) {
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

// steps is the plain join, as first written: the reference.
func (q refCohort) steps(ctx context.Context) (map[string]*stepFacts, error) {
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
  WHERE m2.contact_id = i.contact_id AND m2.direction = 'out' AND m2.run_id IS NOT NULL AND m2.status IN ` + reachedStatuses + `
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
  WHERE m2.contact_id = c.id AND m2.direction = 'out' AND m2.run_id IS NOT NULL AND m2.status IN ` + reachedStatuses + `
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

// TestReportFastQueriesMatchPlainJoin builds random histories where run ids do not
// follow entry time (late entries, several flows interleaved, holdout runs,
// repeated decisions, every message status) and checks, for many windows,
// that the index-range queries give exactly the numbers of the plain join.
func TestReportFastQueriesMatchPlainJoin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(11, 7))
		base := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			b := &builder{tx: tx}
			statuses := []string{smsflow.MessageQueued, smsflow.MessageSent, smsflow.MessageDelivered, smsflow.MessageUndelivered,
				smsflow.MessageFailed, smsflow.MessageUnknown, smsflow.MessageCanceled}
			for i := range 300 {
				id := fmt.Sprintf("c%03d", i)
				phone := b.contact(id)
				flowID := []string{"f1", "f1", "f2"}[rng.IntN(3)]
				at := base.Add(time.Duration(rng.IntN(10*24*60)) * time.Minute) // random entry: ids do not follow time
				holdout := rng.IntN(5) == 0
				variant := []string{"", "A", "B"}[rng.IntN(3)]
				status, reason := smsflow.RunCompleted, ""
				switch rng.IntN(4) {
				case 0:
					status = smsflow.RunWaiting
				case 1:
					status, reason = smsflow.RunExited, []string{"goal", "opt_out", "event"}[rng.IntN(3)]
				}
				var goalAt time.Time
				var value float64
				if rng.IntN(3) == 0 {
					goalAt, value = at.Add(time.Duration(1+rng.IntN(300))*time.Minute), float64(rng.IntN(100))+0.25
				}
				runID := b.run(flowID, id, at, holdout, variant, status, reason, goalAt, value)
				if holdout {
					b.decision(runID, flowID, "s1", id, smsflow.DecisionHoldout, at)
					if rng.IntN(2) == 0 {
						b.decision(runID, flowID, "s2", id, smsflow.DecisionHoldout, at)
					}
					continue
				}
				for k, step := range []string{"s1", "s2", "s3"} {
					if rng.IntN(4) == 0 {
						b.decision(runID, flowID, step, id, "skipped:cap(rule=daily)", at)
						continue
					}
					if rng.IntN(5) == 0 {
						b.decision(runID, flowID, step, id, "deferred:quiet_hours", at) // a second decision for the step
					}
					st := statuses[rng.IntN(len(statuses))]
					pid := ""
					if rng.IntN(3) > 0 {
						pid = fmt.Sprintf("p%d-%d", i, k)
					}
					mAt := at.Add(time.Duration(k*60+rng.IntN(30)) * time.Minute)
					b.message(runID, flowID, step, id, phone, st, pid, 1+rng.IntN(3), mAt)
					if rng.IntN(3) == 0 {
						code := fmt.Sprintf("k%d%s", i, step)
						b.click(code, runID, step, id, mAt.Add(time.Duration(rng.IntN(600))*time.Second), mAt.Add(time.Hour))
					}
					if rng.IntN(6) == 0 {
						b.inbound(id, phone, mAt.Add(time.Duration(rng.IntN(120))*time.Minute))
					}
					if rng.IntN(10) == 0 {
						b.consent(phone, id, smsflow.ConsentUnsubscribed, smsflow.SourceKeyword, mAt.Add(time.Duration(rng.IntN(120))*time.Minute))
					}
				}
			}
			return b.err
		})
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for w := range 40 {
			from := base.Add(time.Duration(rng.IntN(10*24)) * time.Hour)
			to := from.Add(time.Duration(1+rng.IntN(5*24)) * time.Hour)
			if w == 0 {
				from, to = base.Add(-time.Hour), base.Add(11*24*time.Hour) // everything
			}
			for _, flowID := range []string{"f1", "f2", "none"} {
				fast := &cohort{db: db, flowID: flowID, from: from.UnixMicro(), to: to.UnixMicro()}
				if err := fast.span(ctx); err != nil {
					t.Fatal(err)
				}
				gotGroups, err := fast.runGroups(ctx)
				if err != nil {
					t.Fatal(err)
				}
				gotSteps, err := fast.steps(ctx)
				if err != nil {
					t.Fatal(err)
				}
				ref := refCohort{db: db, flowID: flowID, from: from.UnixMicro(), to: to.UnixMicro()}
				wantGroups, err := ref.runGroups(ctx)
				if err != nil {
					t.Fatal(err)
				}
				wantSteps, err := ref.steps(ctx)
				if err != nil {
					t.Fatal(err)
				}
				sortGroups(gotGroups)
				sortGroups(wantGroups)
				for i := range wantGroups {
					wantGroups[i].revenue = roundMoney(wantGroups[i].revenue)
				}
				for i := range gotGroups {
					gotGroups[i].revenue = roundMoney(gotGroups[i].revenue)
				}
				if !reflect.DeepEqual(gotGroups, wantGroups) && !(len(gotGroups) == 0 && len(wantGroups) == 0) {
					t.Fatalf("%s [%v, %v): groups\n got %+v\nwant %+v", flowID, from, to, gotGroups, wantGroups)
				}
				for _, s := range wantSteps {
					slices.Sort(s.clickDelays)
					s.revenue = roundMoney(s.revenue)
				}
				for _, s := range gotSteps {
					slices.Sort(s.clickDelays)
					s.revenue = roundMoney(s.revenue)
				}
				if !reflect.DeepEqual(gotSteps, wantSteps) {
					for id := range wantSteps {
						if !reflect.DeepEqual(gotSteps[id], wantSteps[id]) {
							t.Errorf("step %s: got %+v, want %+v", id, gotSteps[id], wantSteps[id])
						}
					}
					t.Fatalf("%s [%v, %v): steps differ (got %d, want %d)", flowID, from, to, len(gotSteps), len(wantSteps))
				}
				if fast.n > 0 {
					checked++
				}
			}
		}
		if checked < 40 {
			t.Fatalf("only %d windows had runs", checked)
		}
	})
}

func sortGroups(g []runGroup) {
	sort.Slice(g, func(i, j int) bool { return fmt.Sprint(g[i]) < fmt.Sprint(g[j]) })
}
