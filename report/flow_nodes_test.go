package report

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

func TestStepDecisionsKnownHistory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		history(t, db)
		// A holdout run skipped for want of consent (checked before the
		// holdout) and a treatment run entered after the window: neither counts.
		err := db.WriteTx(context.Background(), func(tx *store.Tx) error {
			b := &builder{tx: tx, n: 900}
			b.contact("late")
			h := b.run("cart", "late", histFrom.Add(time.Hour), true, "", smsflow.RunCompleted, "", time.Time{}, 0)
			b.decision(h, "cart", "nudge", "late", smsflow.DecisionNoConsent, histFrom.Add(time.Hour))
			l := b.run("cart", "late", histTo, false, "A", smsflow.RunCompleted, "", time.Time{}, 0)
			b.decision(l, "cart", "nudge", "late", smsflow.DecisionNoConsent, histTo)
			return b.err
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := StepDecisions(context.Background(), db, "cart", histFrom, histTo)
		if err != nil {
			t.Fatal(err)
		}
		// Treatment runs only: run 5's deferral at the nudge and the five
		// capped offer-a runs; the holdout runs' skipped:holdout do not count.
		want := map[string]map[string]int64{
			"nudge":   {"deferred:quiet_hours": 1},
			"offer-a": {"skipped:cap(rule=daily)": 5},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("decisions = %v, want %v", got, want)
		}
		if _, err := StepDecisions(context.Background(), db, "cart", histTo, histFrom); smsflow.ErrorCode(err) != smsflow.EINVALID {
			t.Errorf("an empty window: %v, want invalid", err)
		}
	})
}

func TestFlowDaysAddUpToTheReport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		history(t, db)
		ctx := context.Background()
		days, err := FlowDays(ctx, db, "cart", histFrom, histTo)
		if err != nil {
			t.Fatal(err)
		}
		if len(days) != 7 || !days[0].Day.Equal(histFrom) || !days[6].Day.Equal(histFrom.AddDate(0, 0, 6)) {
			t.Fatalf("days = %+v, want the 7 days from %v", days, histFrom)
		}
		// Treatment runs enter on 1 March, holdout runs on 2 March.
		if days[0].Entered != 80 || days[1].Entered != 40 {
			t.Errorf("entered by day = %d, %d, want 80, 40", days[0].Entered, days[1].Entered)
		}
		rep, err := Flow(ctx, db, "cart", histFrom, histTo, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var entered, conv int64
		var rev float64
		for _, d := range days {
			entered, conv, rev = entered+d.Entered, conv+d.Conversions, rev+d.Revenue
		}
		if entered != rep.Totals.Entered || conv != rep.Totals.Conversions || roundMoney(rev) != rep.Totals.Revenue {
			t.Errorf("days add up to %d entered, %d conversions, %v revenue; the report says %d, %d, %v",
				entered, conv, rev, rep.Totals.Entered, rep.Totals.Conversions, rep.Totals.Revenue)
		}
	})
}

func TestStepActivityNewestFirst(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		history(t, db)
		ctx := context.Background()
		got, err := StepActivity(ctx, db, "cart", "offer-a", 3)
		if err != nil {
			t.Fatal(err)
		}
		// offer-a went to the even A runs (delivered); the newest is run 38.
		if len(got) != 3 {
			t.Fatalf("activity = %+v, want 3 rows", got)
		}
		for i, id := range []string{"t38", "t36", "t34"} {
			a := got[i]
			if a.ContactID != id || a.Decision != smsflow.DecisionSent || a.Status != smsflow.MessageDelivered || a.MessageID == 0 || a.Holdout {
				t.Errorf("row %d = %+v, want %s sent and delivered", i, a, id)
			}
		}
		all, err := StepActivity(ctx, db, "cart", "offer-a", 50)
		if err != nil {
			t.Fatal(err)
		}
		var skipped int
		for _, a := range all {
			if a.Decision == "skipped:cap(rule=daily)" {
				skipped++
				if a.MessageID != 0 || a.Status != "" {
					t.Errorf("a skipped decision has a message: %+v", a)
				}
			}
		}
		if len(all) != 25 || skipped != 5 {
			t.Errorf("offer-a has %d decisions (%d skipped), want 25 (5)", len(all), skipped)
		}
		for _, limit := range []int{0, -1, 501} {
			if _, err := StepActivity(ctx, db, "cart", "offer-a", limit); smsflow.ErrorCode(err) != smsflow.EINVALID {
				t.Errorf("limit %d: %v, want invalid", limit, err)
			}
		}
	})
}
