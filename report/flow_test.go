package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// c is an expected Counters row; rates are given as fractions and nil
// means "undefined".
type c = Counters

func f(v float64) *float64 { return &v }

func TestFlowReportKnownHistory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		history(t, db)
		rep, err := Flow(context.Background(), db, "cart", histFrom, histTo, Options{SegmentPrice: 0.01})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Name != "Cart recovery" || !rep.From.Equal(histFrom) || !rep.To.Equal(histTo) || rep.SegmentPrice != 0.01 {
			t.Errorf("header = %q %v %v %v", rep.Name, rep.From, rep.To, rep.SegmentPrice)
		}

		// Worked out by hand from the history (see history's comments).
		wantSteps := []Step{
			{StepID: "nudge", Counters: c{Entered: 80, Sent: 72, Delivered: 40, Failed: 24, Segments: 80, Cost: 0.8,
				ClicksUnique: 9, CTR: f(9.0 / 72), Replies: 2, OptOuts: 2, OptOutRate: f(2.0 / 72),
				Conversions: 8, ConversionRate: f(8.0 / 80), Revenue: 90, RevenuePerRecipient: f(90.0 / 80), AOV: f(90.0 / 8),
				MessagesPerConversion: f(72.0 / 8), MedianTimeToClickS: f(240)}},
			{StepID: "offer-a", Counters: c{Entered: 25, Sent: 20, Delivered: 20, Failed: 0, Segments: 20, Cost: 0.2,
				ClicksUnique: 4, CTR: f(4.0 / 20), Replies: 1, OptOuts: 1, OptOutRate: f(1.0 / 20),
				Conversions: 5, ConversionRate: f(5.0 / 25), Revenue: 50, RevenuePerRecipient: f(50.0 / 25), AOV: f(10),
				MessagesPerConversion: f(20.0 / 5), MedianTimeToClickS: f(25)}},
			{StepID: "offer-b", Counters: c{Entered: 10, Sent: 10, Delivered: 0, Failed: 0, Segments: 30, Cost: 0.3,
				ClicksUnique: 0, CTR: f(0), Replies: 0, OptOuts: 0, OptOutRate: f(0),
				Conversions: 3, ConversionRate: f(3.0 / 10), Revenue: 60, RevenuePerRecipient: f(60.0 / 10), AOV: f(20),
				MessagesPerConversion: f(10.0 / 3), MedianTimeToClickS: nil}},
		}
		if len(rep.Steps) != len(wantSteps) {
			t.Fatalf("steps = %+v", rep.Steps)
		}
		for i, w := range wantSteps {
			checkCounters(t, "step "+w.StepID, rep.Steps[i].StepID, w.StepID, rep.Steps[i].Counters, w.Counters)
			if rep.Steps[i].Removed {
				t.Errorf("step %s marked removed", w.StepID)
			}
		}

		wantTotals := c{Entered: 120, Sent: 102, Delivered: 60, Failed: 24, Segments: 130, Cost: 1.3,
			ClicksUnique: 13, CTR: f(13.0 / 102), Replies: 3, OptOuts: 3, OptOutRate: f(3.0 / 102),
			Conversions: 22, ConversionRate: f(22.0 / 120), Revenue: 260, RevenuePerRecipient: f(260.0 / 120), AOV: f(260.0 / 22),
			MessagesPerConversion: f(102.0 / 22), MedianTimeToClickS: f(120)}
		checkCounters(t, "totals", "", "", rep.Totals.Counters, wantTotals)
		if rep.Totals.Holdout != 40 {
			t.Errorf("holdout = %d, want 40", rep.Totals.Holdout)
		}
		if want := map[string]int64{"goal": 22, "opt_out": 3, "completed": 57}; !reflect.DeepEqual(rep.Totals.Exited, want) {
			t.Errorf("exited = %v, want %v", rep.Totals.Exited, want)
		}

		// Variants: holdout runs are not variant entries.
		if len(rep.Variants) != 2 {
			t.Fatalf("variants = %+v", rep.Variants)
		}
		a, b := rep.Variants[0], rep.Variants[1]
		if a.Name != "A" || a.Entered != 40 || a.Conversions != 12 || !same(a.ConversionRate, f(0.3)) || a.Revenue != 120 || !same(a.RevenuePerRecipient, f(3)) || a.PValue != nil {
			t.Errorf("variant A = %+v", a)
		}
		// 6/40 against 12/40: pooled 0.225, z = −0.15/√(0.225·0.775·(2/40)) = −1.6065, p = 0.1082.
		if b.Name != "B" || b.Entered != 40 || b.Conversions != 6 || !same(b.ConversionRate, f(0.15)) || b.Revenue != 120 || b.PValue == nil || round4(*b.PValue) != 0.1082 {
			t.Errorf("variant B = %+v (p %v)", b, deref(b.PValue))
		}

		// Lift: treatment 18/80 (revenue 240), control 4/40 (revenue 20).
		l := rep.Lift
		if l.Treatment.Entered != 80 || l.Treatment.Conversions != 18 || l.Treatment.Revenue != 240 ||
			l.Control.Entered != 40 || l.Control.Conversions != 4 || l.Control.Revenue != 20 {
			t.Errorf("lift groups = %+v / %+v", l.Treatment, l.Control)
		}
		if !same(l.TreatmentRate, f(0.225)) || !same(l.ControlRate, f(0.1)) || !same(l.TreatmentRevenuePerRecipient, f(3)) || !same(l.ControlRevenuePerRecipient, f(0.5)) {
			t.Errorf("lift rates = %v %v %v %v", deref(l.TreatmentRate), deref(l.ControlRate), deref(l.TreatmentRevenuePerRecipient), deref(l.ControlRevenuePerRecipient))
		}
		iv, _ := NewcombeDiff(18, 80, 4, 40, Z95)
		_, p, _ := TwoProportionZ(18, 80, 4, 40)
		if !l.Enough || !same(l.Absolute, f(0.125)) || !same(l.Relative, f(1.25)) || len(l.CI95) != 2 ||
			l.CI95[0] != iv.Low || l.CI95[1] != iv.High || !same(l.PValue, &p) {
			t.Errorf("lift = %+v", l.Comparison)
		}
		if !(l.CI95[0] < 0.125 && 0.125 < l.CI95[1]) {
			t.Errorf("ci95 %v does not contain the estimate", l.CI95)
		}
	})
}

func TestFlowReportCSV(t *testing.T) {
	db := storetest.OpenSQLite(t)
	history(t, db)
	rep, err := Flow(context.Background(), db, "cart", histFrom, histTo, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteStepsCSV(&buf, rep); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || !reflect.DeepEqual(rows[0], StepColumns) {
		t.Fatalf("csv = %v", rows)
	}
	if got := []string{rows[1][0], rows[2][0], rows[3][0], rows[4][0]}; !reflect.DeepEqual(got, []string{"nudge", "offer-a", "offer-b", "total"}) {
		t.Errorf("row order = %v", got)
	}
	// nudge: sent 72, cost 0 (no price set), ctr 0.125; offer-b has no clicks: empty median.
	if rows[1][2] != "72" || rows[1][6] != "0" || rows[1][8] != "0.125" || rows[3][18] != "" || rows[4][5] != "130" {
		t.Errorf("csv rows = %v", rows[1:])
	}
}

func TestFlowReportEdges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := Flow(ctx, db, "nope", histFrom, histTo, Options{}); smsflow.ErrorCode(err) != smsflow.ENOTFOUND {
			t.Errorf("unknown flow: %v, want not_found", err)
		}
		if _, _, err := db.SaveFlow(ctx, "cart", "h1", cartFlow, "cart.yaml", "file", "active", histFrom); err != nil {
			t.Fatal(err)
		}
		if _, err := Flow(ctx, db, "cart", histTo, histFrom, Options{}); smsflow.ErrorCode(err) != smsflow.EINVALID {
			t.Errorf("reversed window: %v, want invalid", err)
		}
		if _, err := Flow(ctx, db, "cart", histFrom, histTo, Options{SegmentPrice: math.NaN()}); smsflow.ErrorCode(err) != smsflow.EINVALID {
			t.Errorf("NaN price: %v, want invalid", err)
		}
		// No runs at all: zeros, undefined rates, steps still listed in
		// flow order, and "not enough data" instead of a lift.
		rep, err := Flow(ctx, db, "cart", histFrom, histTo, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Steps) != 3 || rep.Steps[0].StepID != "nudge" || rep.Steps[2].StepID != "offer-b" {
			t.Errorf("steps = %+v", rep.Steps)
		}
		if rep.Totals.Entered != 0 || rep.Totals.ConversionRate != nil || rep.Totals.CTR != nil || rep.Totals.MedianTimeToClickS != nil || len(rep.Variants) != 0 {
			t.Errorf("empty totals = %+v variants %v", rep.Totals, rep.Variants)
		}
		if rep.Lift.Enough || rep.Lift.Note == "" || rep.Lift.CI95 != nil || rep.Lift.PValue != nil {
			t.Errorf("empty lift = %+v", rep.Lift)
		}
		// A tiny flow: 5 treatment runs, 2 holdout, one conversion each side.
		err = db.WriteTx(ctx, func(tx *store.Tx) error {
			b := &builder{tx: tx}
			for i := 0; i < 7; i++ {
				goal := time.Time{}
				if i == 0 || i == 5 {
					goal = histFrom.Add(2 * time.Hour)
				}
				b.run("cart", "c", histFrom.Add(time.Hour), i >= 5, "A", smsflow.RunCompleted, "", goal, 0)
			}
			return b.err
		})
		if err != nil {
			t.Fatal(err)
		}
		rep, err = Flow(ctx, db, "cart", histFrom, histTo, Options{})
		if err != nil {
			t.Fatal(err)
		}
		l := rep.Lift
		if l.Enough || l.Absolute != nil || l.CI95 != nil || l.PValue != nil || l.Note == "" || !same(l.TreatmentRate, f(0.2)) || !same(l.ControlRate, f(0.5)) {
			t.Errorf("tiny lift = %+v", l)
		}
		if rep.Totals.AOV == nil || *rep.Totals.AOV != 0 || rep.Totals.MessagesPerConversion == nil || *rep.Totals.MessagesPerConversion != 0 {
			t.Errorf("zero revenue conversions: aov %v mpc %v, want 0 and 0", deref(rep.Totals.AOV), deref(rep.Totals.MessagesPerConversion))
		}
	})
}

// checkCounters compares every field of a counters row.
func checkCounters(t *testing.T, what, gotID, wantID string, got, want Counters) {
	t.Helper()
	if gotID != wantID {
		t.Errorf("%s: id %q, want %q", what, gotID, wantID)
	}
	ints := [][3]any{
		{"entered", got.Entered, want.Entered}, {"sent", got.Sent, want.Sent}, {"delivered", got.Delivered, want.Delivered},
		{"failed", got.Failed, want.Failed}, {"segments", got.Segments, want.Segments}, {"clicks_unique", got.ClicksUnique, want.ClicksUnique},
		{"replies", got.Replies, want.Replies}, {"opt_outs", got.OptOuts, want.OptOuts}, {"conversions", got.Conversions, want.Conversions},
		{"cost", got.Cost, want.Cost}, {"revenue", got.Revenue, want.Revenue},
	}
	for _, v := range ints {
		if v[1] != v[2] {
			t.Errorf("%s: %s = %v, want %v", what, v[0], v[1], v[2])
		}
	}
	rates := []struct {
		name      string
		got, want *float64
	}{
		{"ctr", got.CTR, want.CTR}, {"opt_out_rate", got.OptOutRate, want.OptOutRate}, {"conversion_rate", got.ConversionRate, want.ConversionRate},
		{"revenue_per_recipient", got.RevenuePerRecipient, want.RevenuePerRecipient}, {"aov", got.AOV, want.AOV},
		{"messages_per_conversion", got.MessagesPerConversion, want.MessagesPerConversion}, {"median_time_to_click_s", got.MedianTimeToClickS, want.MedianTimeToClickS},
	}
	for _, r := range rates {
		if !same(r.got, r.want) {
			t.Errorf("%s: %s = %v, want %v", what, r.name, deref(r.got), deref(r.want))
		}
	}
}

// same compares two optional numbers to 1e-12.
func same(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return math.Abs(*a-*b) < 1e-12
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
