package web

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/smsflow/smsflow/report"
)

// The flow report's charts, drawn in Go as SVG like the sparkline (D92):
// only numbers go into the markup and every label is escaped. Each chart
// has role="img" and an aria-label that says what it shows; the numbers are
// also in the tables next to it.

const (
	chartW = 560.0
	chartH = 180.0
)

// funnelChart draws the flow's totals as horizontal bars: entered, sent,
// delivered, clicked, converted, each as a share of the runs that entered.
func funnelChart(rep *report.FlowReport) template.HTML {
	t := rep.Totals
	bars := []struct {
		label string
		v     int64
	}{{"Entered", t.Entered}, {"Sent", t.Sent}, {"Delivered", t.Delivered}, {"Clicked", t.ClicksUnique}, {"Converted", t.Conversions}}
	top := int64(1)
	for _, b := range bars {
		top = max(top, b.v)
	}
	const labelW, rowH, barH, valueW = 90.0, 30.0, 20.0, 110.0
	h := rowH*float64(len(bars)) + 8
	var sb strings.Builder
	var desc []string
	for i, b := range bars {
		y := 4 + rowH*float64(i)
		w := (chartW - labelW - valueW) * float64(b.v) / float64(top)
		share := ""
		if t.Entered > 0 && i > 0 {
			share = fmt.Sprintf(" (%.1f%%)", 100*float64(b.v)/float64(t.Entered))
		}
		fmt.Fprintf(&sb, `<text x="0" y="%.1f" font-size="13" fill="#1f2933">%s</text>`, y+barH-5, b.label)
		fmt.Fprintf(&sb, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="3" fill="#0b5cad"/>`, labelW, y, math.Max(w, 1), barH)
		fmt.Fprintf(&sb, `<text x="%.1f" y="%.1f" font-size="13" fill="#1f2933">%s%s</text>`, labelW+math.Max(w, 1)+6, y+barH-5, num(b.v), share)
		desc = append(desc, fmt.Sprintf("%s %d", b.label, b.v))
	}
	return template.HTML(fmt.Sprintf(`<svg class="chart" viewBox="0 0 %g %g" role="img" aria-label="%s">%s</svg>`,
		chartW, h, template.HTMLEscapeString("Funnel: "+strings.Join(desc, ", ")), sb.String()))
}

// dayCharts draws conversions and revenue per day as bar charts.
func dayCharts(days []report.FlowDay) (conversions, revenue template.HTML) {
	if len(days) == 0 {
		return "", ""
	}
	conv := make([]float64, len(days))
	rev := make([]float64, len(days))
	var totalC, totalR float64
	for i, d := range days {
		conv[i], rev[i] = float64(d.Conversions), d.Revenue
		totalC += conv[i]
		totalR += rev[i]
	}
	first, last := days[0].Day.Format("Jan 2"), days[len(days)-1].Day.Format("Jan 2")
	conversions = barChart(fmt.Sprintf("Conversions per day, %s to %s: %s in all", first, last, num(int64(totalC))), first, last, conv, func(v float64) string { return num(int64(v)) })
	revenue = barChart(fmt.Sprintf("Revenue per day, %s to %s: %s in all", first, last, money(totalR)), first, last, rev, money)
	return conversions, revenue
}

// barChart draws one bar per value with the first and last day under the
// axis and the largest value beside it, in the frame the program's charts
// use too (dayFrame).
func barChart(label, first, last string, values []float64, format func(float64) string) template.HTML {
	f, n := dayFrame, len(values)
	hi := 0.0
	for _, v := range values {
		hi = math.Max(hi, v)
	}
	var sb strings.Builder
	f.open(&sb, "", label)
	f.hline(&sb, f.base())
	f.yLabel(&sb, f.Top+8, format(hi))
	f.yLabel(&sb, f.base(), "0")
	w := f.slot(n) * 0.7
	for i, v := range values {
		h := f.height(v, 0, hi, f.plotH())
		fmt.Fprintf(&sb, `<rect class="b-day" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, f.barX(i, n, w), f.base()-h, w, h)
	}
	f.xLabels(&sb, n, []int{0, n - 1}, func(i int) string {
		if i == 0 {
			return first
		}
		return last
	})
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

// liftChart draws the holdout lift: the conversion-rate difference with its
// 95% interval on an axis through zero; nothing when there is not enough
// data (the page shows the report's note instead).
func liftChart(l report.Lift) template.HTML {
	if !l.Enough || l.Absolute == nil || len(l.CI95) != 2 {
		return ""
	}
	lo, hi, est := l.CI95[0], l.CI95[1], *l.Absolute
	a, b := math.Min(lo, 0), math.Max(hi, 0)
	pad := (b - a) * 0.1
	if pad == 0 {
		pad = 0.01
	}
	a, b = a-pad, b+pad
	const left, right, h = 20.0, 20.0, 70.0
	x := func(v float64) float64 { return left + (chartW-left-right)*(v-a)/(b-a) }
	var sb strings.Builder
	fmt.Fprintf(&sb, `<line x1="%g" y1="30" x2="%g" y2="30" stroke="#8c959f"/>`, left, chartW-right)
	fmt.Fprintf(&sb, `<line x1="%.1f" y1="16" x2="%.1f" y2="44" stroke="#57606a" stroke-dasharray="3 3"/>`, x(0), x(0))
	fmt.Fprintf(&sb, `<text x="%.1f" y="60" font-size="11" text-anchor="middle" fill="#57606a">0</text>`, x(0))
	fmt.Fprintf(&sb, `<line x1="%.1f" y1="30" x2="%.1f" y2="30" stroke="#0b5cad" stroke-width="6" stroke-linecap="round"/>`, x(lo), x(hi))
	fmt.Fprintf(&sb, `<circle cx="%.1f" cy="30" r="7" fill="#ffffff" stroke="#0b5cad" stroke-width="3"/>`, x(est))
	fmt.Fprintf(&sb, `<text x="%.1f" y="12" font-size="11" text-anchor="middle" fill="#1f2933">%s</text>`, x(lo), pctPoints(lo))
	fmt.Fprintf(&sb, `<text x="%.1f" y="12" font-size="11" text-anchor="middle" fill="#1f2933">%s</text>`, x(hi), pctPoints(hi))
	label := fmt.Sprintf("Lift in conversion rate: %s, 95%% interval %s to %s", pctPoints(est), pctPoints(lo), pctPoints(hi))
	return template.HTML(fmt.Sprintf(`<svg class="chart lift" viewBox="0 0 %g %g" role="img" aria-label="%s">%s</svg>`,
		chartW, h, template.HTMLEscapeString(label), sb.String()))
}

// pctPoints writes a rate difference in percentage points ("+2.5 pp").
func pctPoints(v float64) string {
	return fmt.Sprintf("%+.1f pp", v*100)
}
