package web

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow/report"
)

func wellFormed(t *testing.T, name, svg string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := dec.Token(); err != nil {
			if err.Error() != "EOF" {
				t.Errorf("%s is not well-formed: %v\n%s", name, err, svg)
			}
			return
		}
	}
}

func TestLiftChartDrawsTheInterval(t *testing.T) {
	est := 0.125
	l := report.Lift{Comparison: report.Comparison{Enough: true, Absolute: &est, CI95: []float64{0.02, 0.23}}}
	svg := string(liftChart(l))
	wellFormed(t, "lift", svg)
	for _, want := range []string{`aria-label="Lift in conversion rate: +12.5 pp, 95% interval +2.0 pp to +23.0 pp"`, "<circle", "stroke-dasharray"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the lift chart has no %s:\n%s", want, svg)
		}
	}
	// The interval's ends and the estimate are in order on the axis.
	if strings.Count(svg, "<line") != 3 {
		t.Errorf("want the axis, the zero line and the interval:\n%s", svg)
	}
	if got := liftChart(report.Lift{Comparison: report.Comparison{Note: "not enough data: …"}}); got != "" {
		t.Errorf("not enough data drew %s", got)
	}
}

func TestFunnelAndDayCharts(t *testing.T) {
	rep := &report.FlowReport{Totals: report.Totals{Counters: report.Counters{Entered: 200, Sent: 150, Delivered: 140, ClicksUnique: 30, Conversions: 10}}}
	svg := string(funnelChart(rep))
	wellFormed(t, "funnel", svg)
	if !strings.Contains(svg, "Entered 200, Sent 150, Delivered 140, Clicked 30, Converted 10") || !strings.Contains(svg, "150 (75.0%)") {
		t.Errorf("funnel:\n%s", svg)
	}
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	days := []report.FlowDay{{Day: day, Conversions: 2, Revenue: 30.5}, {Day: day.AddDate(0, 0, 1)}, {Day: day.AddDate(0, 0, 2), Conversions: 1, Revenue: 10}}
	conv, rev := dayCharts(days)
	wellFormed(t, "conversions", string(conv))
	wellFormed(t, "revenue", string(rev))
	if !strings.Contains(string(conv), "Mar 1 to Mar 3: 3 in all") || strings.Count(string(conv), "<rect") != 3 {
		t.Errorf("conversions chart:\n%s", conv)
	}
	if !strings.Contains(string(rev), "40.50 in all") {
		t.Errorf("revenue chart:\n%s", rev)
	}
	if c, r := dayCharts(nil); c != "" || r != "" {
		t.Error("no days drew charts")
	}
}

// The flow's and the program's per-day charts share one frame (svg.go):
// their bars sit inside its plot, one per day, and the labels are escaped.
func TestDayChartsShareTheFrame(t *testing.T) {
	days := []report.Day{{Date: "2026-03-01", NewSubscribers: 3, OptOuts: 1}, {Date: "2026-03-02"}, {Date: "<b>", NewSubscribers: 1, OptOuts: 2}}
	growth := string(growthChart(days))
	subs := string(subscribersChart(days, []int64{10, 10, 9}))
	bars := string(barChart("Conversions", "Mar 1", "Mar 3", []float64{2, 0, 1}, func(v float64) string { return "x" }))
	for name, svg := range map[string]string{"growth": growth, "subscribers": subs, "bars": bars} {
		wellFormed(t, name, svg)
		if !strings.Contains(svg, `viewBox="0 0 560 180"`) {
			t.Errorf("%s is not drawn in dayFrame", name)
		}
		if strings.Contains(svg, "<b>") {
			t.Errorf("%s has a label as markup", name)
		}
	}
	if got := strings.Count(growth, `class="b-in"`) + strings.Count(growth, `class="b-out"`); got != 4 {
		t.Errorf("growth has %d bars, want 4", got)
	}
	f := dayFrame
	for i := range 3 {
		if x := f.barX(i, 3, f.slot(3)*0.7); x < f.Left || x+f.slot(3)*0.7 > f.W-f.Right {
			t.Errorf("bar %d at %.1f leaves the plot", i, x)
		}
	}
	if f.height(5, 0, 10, 100) != 50 || f.height(5, 3, 3, 100) != 0 {
		t.Error("height does not scale linearly, or divides by an empty scale")
	}
}
