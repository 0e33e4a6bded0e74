package web

import (
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/report"
)

// The program page (D94) is GET /v1/reports/program drawn: list growth
// per day and each flow's delivery and opt-out rates, from report.Program
// — the same numbers as the API and `smsflow report --program`.

type programData struct {
	From, To string // the period's first and last day, YYYY-MM-DD
	Error    string
	Report   *report.ProgramReport
	// Subscribers is the number subscribed at the end of each day:
	// the report's count at To less the net growth of the days after.
	Subscribers []int64
	Growth      template.HTML // the chart of new subscribers and opt-outs
	SubsChart   template.HTML // the chart of subscribers
	Flows       []programFlow
}

type programFlow struct {
	report.ProgramFlow
	Name string
}

func (u *UI) program(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var d programData
	now := u.now()
	from, to, err := report.ParsePeriod(q.Get("from"), q.Get("to"), now)
	status := http.StatusOK
	if err == nil {
		d.Report, err = report.Program(r.Context(), u.DB, from, to)
	}
	if err != nil {
		if smsflow.ErrorCode(err) != smsflow.EINVALID {
			u.Log.Error("web: program report", "err", err)
			u.fail(w, r, http.StatusInternalServerError, "The program report could not be read; the log says why.")
			return
		}
		d.Error = smsflow.ErrorMessage(err) + ". Showing the last 30 days instead."
		status = http.StatusBadRequest
		from, to, _ = report.ParsePeriod("", "", now)
		if d.Report, err = report.Program(r.Context(), u.DB, from, to); err != nil {
			u.Log.Error("web: program report", "err", err)
			u.fail(w, r, http.StatusInternalServerError, "The program report could not be read; the log says why.")
			return
		}
	}
	d.From, d.To = from.UTC().Format(time.DateOnly), to.UTC().Add(-time.Microsecond).Format(time.DateOnly)
	rep := d.Report
	d.Subscribers = make([]int64, len(rep.Days))
	after := int64(0)
	for i := len(rep.Days) - 1; i >= 0; i-- {
		d.Subscribers[i] = rep.Subscribers - after
		after += rep.Days[i].Net
	}
	d.Growth = growthChart(rep.Days)
	d.SubsChart = subscribersChart(rep.Days, d.Subscribers)
	for _, f := range rep.Flows {
		pf := programFlow{ProgramFlow: f, Name: f.FlowID}
		if f.FlowID == "" {
			pf.Name = "outside flows (keyword replies, conversations)"
		}
		d.Flows = append(d.Flows, pf)
	}
	u.render(w, r, status, "program", page{Title: "Program", Nav: "program", Data: d})
}

// The program page's templates format rates that may be missing.
func init() { funcs["rate"] = rate }

// rate formats a report rate that may be missing (nothing sent).
func rate(v *float64) string {
	return pct(v)
}

// Chart geometry: a viewBox the CSS scales to the page's width.
const (
	progW, progH         = 720.0, 200.0
	progLeft, progRight  = 44.0, 8.0
	progTop, progBottom  = 10.0, 24.0
	progPlotW, progPlotH = progW - progLeft - progRight, progH - progTop - progBottom
)

// growthChart draws each day's new subscribers (up, green) and opt-outs
// (down, red) around a zero line. Only numbers go into the markup.
func growthChart(days []report.Day) template.HTML {
	if len(days) == 0 {
		return ""
	}
	peak := int64(1)
	for _, d := range days {
		peak = max(peak, d.NewSubscribers, d.OptOuts)
	}
	var b strings.Builder
	zero := progTop + progPlotH/2
	scale := (progPlotH / 2) / float64(peak)
	slot := progPlotW / float64(len(days))
	bw := math.Max(1, slot*0.7)
	fmt.Fprintf(&b, `<svg class="chart" id="growth-chart" viewBox="0 0 %g %g" role="img" aria-labelledby="growth-title">`, progW, progH)
	fmt.Fprintf(&b, `<title id="growth-title">New subscribers (up) and opt-outs (down) per day, %s to %s</title>`,
		template.HTMLEscapeString(days[0].Date), template.HTMLEscapeString(days[len(days)-1].Date))
	fmt.Fprintf(&b, `<line class="axis" x1="%g" y1="%.1f" x2="%g" y2="%.1f"/>`, progLeft, zero, progW-progRight, zero)
	fmt.Fprintf(&b, `<text x="%g" y="%.1f" text-anchor="end">+%d</text>`, progLeft-4, progTop+8, peak)
	fmt.Fprintf(&b, `<text x="%g" y="%.1f" text-anchor="end">0</text>`, progLeft-4, zero+4)
	fmt.Fprintf(&b, `<text x="%g" y="%.1f" text-anchor="end">−%d</text>`, progLeft-4, progTop+progPlotH, peak)
	for i, d := range days {
		x := progLeft + slot*float64(i) + (slot-bw)/2
		if h := float64(d.NewSubscribers) * scale; h > 0 {
			fmt.Fprintf(&b, `<rect class="b-in" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, x, zero-h, bw, h)
		}
		if h := float64(d.OptOuts) * scale; h > 0 {
			fmt.Fprintf(&b, `<rect class="b-out" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, x, zero, bw, h)
		}
	}
	dateLabels(&b, days, slot)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// subscribersChart draws the subscribers at the end of each day as a line.
func subscribersChart(days []report.Day, subs []int64) template.HTML {
	if len(days) == 0 {
		return ""
	}
	lo, hi := subs[0], subs[0]
	for _, v := range subs {
		lo, hi = min(lo, v), max(hi, v)
	}
	if hi == lo {
		hi, lo = hi+1, max(0, lo-1)
	}
	slot := progPlotW / float64(len(days))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="subscribers-chart" viewBox="0 0 %g %g" role="img" aria-labelledby="subs-title">`, progW, progH)
	fmt.Fprintf(&b, `<title id="subs-title">Subscribers at the end of each day, %s to %s</title>`,
		template.HTMLEscapeString(days[0].Date), template.HTMLEscapeString(days[len(days)-1].Date))
	fmt.Fprintf(&b, `<line class="axis" x1="%g" y1="%g" x2="%g" y2="%g"/>`, progLeft, progTop+progPlotH, progW-progRight, progTop+progPlotH)
	fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="end">%d</text>`, progLeft-4, progTop+8, hi)
	fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="end">%d</text>`, progLeft-4, progTop+progPlotH, lo)
	var pts strings.Builder
	for i, v := range subs {
		x := progLeft + slot*(float64(i)+0.5)
		y := progTop + progPlotH - progPlotH*float64(v-lo)/float64(hi-lo)
		fmt.Fprintf(&pts, "%.1f,%.1f ", x, y)
	}
	fmt.Fprintf(&b, `<polyline class="l-subs" points="%s"/>`, strings.TrimSpace(pts.String()))
	dateLabels(&b, days, slot)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// dateLabels writes the first, middle and last day under a chart.
func dateLabels(b *strings.Builder, days []report.Day, slot float64) {
	idx := []int{0}
	if len(days) > 2 {
		idx = append(idx, len(days)/2)
	}
	if len(days) > 1 {
		idx = append(idx, len(days)-1)
	}
	for n, i := range idx {
		x, anchor := progLeft+slot*(float64(i)+0.5), "middle"
		switch {
		case n == 0:
			x, anchor = progLeft, "start"
		case i == len(days)-1:
			x, anchor = progW-progRight, "end"
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%g" text-anchor="%s">%s</text>`, x, progH-6, anchor, template.HTMLEscapeString(days[i].Date))
	}
}
