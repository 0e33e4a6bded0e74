package report

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// The reference below reads every row of the tables a flow report looks at
// with plain SELECTs and computes the report's raw numbers in Go, one rule at
// a time, in the words of the report's definitions (docs/reports.md). It
// shares nothing with the production queries but the result types, so a
// mistake in an index range, a subtraction or an attribution subquery shows
// up as a difference.

type refRun struct {
	id, enteredAt, goalAt int64
	flowID, contactID     string
	holdout               bool
	variant, status, exit string
	goalValue             float64
}

type refMessage struct {
	id, createdAt int64
	runID         int64 // 0: no run (an inbound text, an automatic reply)
	direction     string
	stepID        string
	contactID     string
	status        string
	providerID    string
	segments      int64
}

type refDecision struct {
	runID  int64
	stepID string
}

type refClick struct {
	code, stepID string
	runID, at    int64
}

type refOptOut struct {
	phone      string
	occurredAt int64
}

// refTables is every row the report may read.
type refTables struct {
	runs           []refRun
	messages       []refMessage
	decisions      []refDecision
	clicks         []refClick
	unsubscribes   []refOptOut
	contactByPhone map[string][]string
}

func readTables(t *testing.T, db *store.DB) *refTables {
	t.Helper()
	ctx := context.Background()
	tb := &refTables{contactByPhone: map[string][]string{}}
	each := func(query string, fn func(scan func(...any) error) error) {
		t.Helper()
		rows, err := db.ReadQuery(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := fn(rows.Scan); err != nil {
				t.Fatal(err)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	each(`SELECT id, flow_id, contact_id, entered_at, holdout, variant, status, exit_reason, goal_at, goal_value FROM runs`, func(scan func(...any) error) error {
		var r refRun
		var holdout int64
		err := scan(&r.id, &r.flowID, &r.contactID, &r.enteredAt, &holdout, &r.variant, &r.status, &r.exit, &r.goalAt, &r.goalValue)
		r.holdout = holdout != 0
		tb.runs = append(tb.runs, r)
		return err
	})
	each(`SELECT id, direction, run_id, step_id, contact_id, status, provider_id, segments, created_at FROM messages`, func(scan func(...any) error) error {
		var m refMessage
		var runID sql.NullInt64
		var step sql.NullString
		err := scan(&m.id, &m.direction, &runID, &step, &m.contactID, &m.status, &m.providerID, &m.segments, &m.createdAt)
		m.runID, m.stepID = runID.Int64, step.String
		tb.messages = append(tb.messages, m)
		return err
	})
	each(`SELECT run_id, step_id FROM decisions`, func(scan func(...any) error) error {
		var d refDecision
		err := scan(&d.runID, &d.stepID)
		tb.decisions = append(tb.decisions, d)
		return err
	})
	each(`SELECT code, run_id, step_id, at FROM link_clicks`, func(scan func(...any) error) error {
		var c refClick
		err := scan(&c.code, &c.runID, &c.stepID, &c.at)
		tb.clicks = append(tb.clicks, c)
		return err
	})
	each(`SELECT phone, status, occurred_at FROM consent_ledger`, func(scan func(...any) error) error {
		var u refOptOut
		var status string
		err := scan(&u.phone, &status, &u.occurredAt)
		if status == string(smsflow.ConsentUnsubscribed) {
			tb.unsubscribes = append(tb.unsubscribes, u)
		}
		return err
	})
	each(`SELECT id, phone FROM contacts`, func(scan func(...any) error) error {
		var id string
		var phone sql.NullString
		err := scan(&id, &phone)
		if phone.Valid {
			tb.contactByPhone[phone.String] = append(tb.contactByPhone[phone.String], id)
		}
		return err
	})
	return tb
}

// refReport computes the cohort's run groups and step numbers from the rows:
// the cohort is the flow's runs entered in [from, to), and every number is
// about those runs, whenever it happened.
func (tb *refTables) refReport(flowID string, from, to int64) ([]runGroup, map[string]*stepFacts) {
	cohort := map[int64]refRun{}
	for _, r := range tb.runs {
		if r.flowID == flowID && r.enteredAt >= from && r.enteredAt < to {
			cohort[r.id] = r
		}
	}

	// Run groups: the cohort by holdout, variant, status and exit reason;
	// a conversion is a run with a goal, its revenue the goal's value.
	type groupKey struct {
		holdout                 bool
		variant, status, reason string
	}
	groups := map[groupKey]*runGroup{}
	for _, r := range cohort {
		k := groupKey{r.holdout, r.variant, r.status, r.exit}
		g := groups[k]
		if g == nil {
			g = &runGroup{holdout: r.holdout, variant: r.variant, status: r.status, exitReason: r.exit}
			groups[k] = g
		}
		g.n++
		if r.goalAt > 0 {
			g.conversions++
			g.revenue += r.goalValue
		}
	}
	var outGroups []runGroup
	for _, g := range groups {
		outGroups = append(outGroups, *g)
	}

	steps := map[string]*stepFacts{}
	step := func(id string) *stepFacts {
		if steps[id] == nil {
			steps[id] = &stepFacts{}
		}
		return steps[id]
	}

	// Messages: the cohort's outbound messages. Sent means the provider
	// took it: a status after acceptance, or a failure with a provider id.
	// Failed is failed or undelivered; segments are the sent messages'.
	for _, m := range tb.messages {
		if _, in := cohort[m.runID]; !in || m.direction != "out" {
			continue
		}
		s := step(m.stepID)
		switch {
		case m.status == smsflow.MessageSent, m.status == smsflow.MessageDelivered,
			m.status == smsflow.MessageUndelivered, m.status == smsflow.MessageUnknown,
			m.status == smsflow.MessageFailed && m.providerID != "":
			s.sent++
			s.segments += m.segments
		}
		if m.status == smsflow.MessageDelivered {
			s.delivered++
		}
		if m.status == smsflow.MessageFailed || m.status == smsflow.MessageUndelivered {
			s.failed++
		}
	}

	// Entered: the cohort's treatment runs with a decision for the step,
	// each run once.
	reached := map[refDecision]bool{}
	for _, d := range tb.decisions {
		if r, in := cohort[d.runID]; in && !r.holdout {
			reached[d] = true
		}
	}
	for d := range reached {
		step(d.stepID).entered++
	}

	// Unique clicks: one per link code of the step's message; the time to
	// click runs from the message to the code's first click.
	messageAt := map[refDecision]int64{} // (run, step) → the message's time
	for _, m := range tb.messages {
		if m.runID != 0 {
			messageAt[refDecision{m.runID, m.stepID}] = m.createdAt
		}
	}
	type clickKey struct {
		run        int64
		step, code string
	}
	firstClick := map[clickKey]int64{}
	for _, c := range tb.clicks {
		if _, in := cohort[c.runID]; !in {
			continue
		}
		if _, sent := messageAt[refDecision{c.runID, c.stepID}]; !sent {
			continue
		}
		k := clickKey{c.runID, c.stepID, c.code}
		if at, seen := firstClick[k]; !seen || c.at < at {
			firstClick[k] = c.at
		}
	}
	for k, at := range firstClick {
		s := step(k.step)
		s.clicks++
		s.clickDelays = append(s.clickDelays, max(at-messageAt[refDecision{k.run, k.step}], 0))
	}

	// Attribution: a reply or an opt-out at time at belongs to the last
	// outbound flow message (of a run, reached the contact) the contact got
	// in the 24 hours up to at; the latest id wins a tie.
	lastTouch := func(contact string, at int64) (refMessage, bool) {
		var best refMessage
		found := false
		for _, m := range tb.messages {
			if m.contactID != contact || m.direction != "out" || m.runID == 0 || !reachedStatus(m.status) ||
				m.createdAt > at || m.createdAt < at-attributionWindowMicros {
				continue
			}
			if !found || m.createdAt > best.createdAt || m.createdAt == best.createdAt && m.id > best.id {
				best, found = m, true
			}
		}
		return best, found
	}
	attribute := func(contact string, at int64, into map[string]map[int64]bool) {
		if at < from {
			return
		}
		m, ok := lastTouch(contact, at)
		if _, in := cohort[m.runID]; !ok || !in {
			return
		}
		if into[m.stepID] == nil {
			into[m.stepID] = map[int64]bool{}
		}
		into[m.stepID][m.id] = true // a message counts once
	}
	replied := map[string]map[int64]bool{}
	for _, i := range tb.messages {
		if i.direction == "in" {
			attribute(i.contactID, i.createdAt, replied)
		}
	}
	for id, msgs := range replied {
		step(id).replies = int64(len(msgs))
	}
	optedOut := map[string]map[int64]bool{}
	for _, u := range tb.unsubscribes {
		for _, contact := range tb.contactByPhone[u.phone] {
			attribute(contact, u.occurredAt, optedOut)
		}
	}
	for id, msgs := range optedOut {
		step(id).optOuts = int64(len(msgs))
	}

	// Conversions: last touch within the run — its last outbound message
	// that reached the contact before the goal (latest id on a tie).
	for _, r := range cohort {
		if r.goalAt <= 0 {
			continue
		}
		var last refMessage
		found := false
		for _, m := range tb.messages {
			if m.runID != r.id || m.direction != "out" || !reachedStatus(m.status) || m.createdAt >= r.goalAt {
				continue
			}
			if !found || m.createdAt > last.createdAt || m.createdAt == last.createdAt && m.id > last.id {
				last, found = m, true
			}
		}
		if found {
			s := step(last.stepID)
			s.conversions++
			s.revenue += r.goalValue
		}
	}
	return outGroups, steps
}

// reachedStatus reports whether an outbound message may have reached the
// contact: only those take replies, opt-outs and conversions.
func reachedStatus(status string) bool {
	return status == smsflow.MessageSent || status == smsflow.MessageDelivered || status == smsflow.MessageUnknown
}

// TestReportQueriesMatchReference builds random histories where run ids do
// not follow entry time (late entries, several flows interleaved, contacts in
// several runs, holdout runs, repeated decisions, every message status, ties
// in time) and checks, for many windows, that the report's index-range
// queries give exactly the numbers the reference computes from the rows.
func TestReportQueriesMatchReference(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(11, 7))
		base := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			b := &builder{tx: tx}
			statuses := []string{smsflow.MessageQueued, smsflow.MessageSent, smsflow.MessageDelivered, smsflow.MessageUndelivered,
				smsflow.MessageFailed, smsflow.MessageUnknown, smsflow.MessageCanceled}
			type person struct{ id, phone string }
			var people []person
			for i := range 300 {
				// A third of the runs are of a contact already in another
				// run: attribution must pick the right run's message.
				var p person
				if len(people) > 0 && rng.IntN(3) == 0 {
					p = people[rng.IntN(len(people))]
				} else {
					p.id = fmt.Sprintf("c%03d", i)
					p.phone = b.contact(p.id)
					people = append(people, p)
				}
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
				runID := b.run(flowID, p.id, at, holdout, variant, status, reason, goalAt, value)
				if holdout {
					b.decision(runID, flowID, "s1", p.id, smsflow.DecisionHoldout, at)
					if rng.IntN(2) == 0 {
						b.decision(runID, flowID, "s2", p.id, smsflow.DecisionHoldout, at)
					}
					continue
				}
				for k, step := range []string{"s1", "s2", "s3"} {
					if rng.IntN(4) == 0 {
						b.decision(runID, flowID, step, p.id, "skipped:cap(rule=daily)", at)
						continue
					}
					if rng.IntN(5) == 0 {
						b.decision(runID, flowID, step, p.id, "deferred:quiet_hours", at) // a second decision for the step
					}
					st := statuses[rng.IntN(len(statuses))]
					pid := ""
					if rng.IntN(3) > 0 {
						pid = fmt.Sprintf("p%d-%d", i, k)
					}
					mAt := at.Add(time.Duration(k*60+rng.IntN(30)) * time.Minute)
					switch {
					case rng.IntN(8) == 0:
						mAt = at // several steps at the same instant: the later id is the last touch
					case !goalAt.IsZero() && rng.IntN(4) == 0:
						mAt = goalAt // sent at the goal's instant: not before the goal
					}
					b.message(runID, flowID, step, p.id, p.phone, st, pid, 1+rng.IntN(3), mAt)
					if rng.IntN(3) == 0 {
						code := fmt.Sprintf("k%d%s", i, step)
						b.click(code, runID, step, p.id, mAt.Add(time.Duration(rng.IntN(600))*time.Second), mAt.Add(time.Hour))
					}
					if rng.IntN(12) == 0 {
						// A click on a step whose message was never written.
						b.click(fmt.Sprintf("z%d%s", i, step), runID, "s9", p.id, mAt.Add(time.Minute))
					}
					if rng.IntN(6) == 0 {
						b.inbound(p.id, p.phone, mAt.Add(time.Duration(rng.IntN(36*60))*time.Minute)) // some after the 24 h window
					}
					if rng.IntN(10) == 0 {
						b.consent(p.phone, p.id, smsflow.ConsentUnsubscribed, smsflow.SourceKeyword, mAt.Add(time.Duration(rng.IntN(120))*time.Minute))
					}
				}
			}
			return b.err
		})
		if err != nil {
			t.Fatal(err)
		}
		tables := readTables(t, db)
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
				wantGroups, wantSteps := tables.refReport(flowID, from.UnixMicro(), to.UnixMicro())
				normalizeGroups(gotGroups)
				normalizeGroups(wantGroups)
				if !reflect.DeepEqual(gotGroups, wantGroups) && !(len(gotGroups) == 0 && len(wantGroups) == 0) {
					t.Fatalf("%s [%v, %v): groups\n got %+v\nwant %+v", flowID, from, to, gotGroups, wantGroups)
				}
				normalizeSteps(gotSteps)
				normalizeSteps(wantSteps)
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

// normalizeGroups orders run groups and rounds their revenue (sums in a
// different order differ in the last bits).
func normalizeGroups(g []runGroup) {
	for i := range g {
		g[i].revenue = roundMoney(g[i].revenue)
	}
	slices.SortFunc(g, func(a, b runGroup) int { return cmp.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
}

func normalizeSteps(steps map[string]*stepFacts) {
	for _, s := range steps {
		slices.Sort(s.clickDelays)
		s.revenue = roundMoney(s.revenue)
	}
}
