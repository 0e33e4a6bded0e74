package web

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strconv"
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
	Report   *report.ProgramReport // nil while it is being computed
	// ComputedAt is when Report was computed (it is kept for a minute).
	ComputedAt string
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
	fromS, toS := strings.TrimSpace(q.Get("from")), strings.TrimSpace(q.Get("to"))
	status := http.StatusOK
	rep, at, err := u.programReport(r.Context(), fromS, toS)
	if err != nil {
		if smsflow.ErrorCode(err) != smsflow.EINVALID {
			u.Log.Error("web: program report", "err", err)
			u.fail(w, r, http.StatusInternalServerError, "The program report could not be read; the log says why.")
			return
		}
		d.Error = smsflow.ErrorMessage(err) + ". Showing the last 30 days instead."
		status = http.StatusBadRequest
		fromS, toS = "", ""
		if rep, at, err = u.programReport(r.Context(), "", ""); err != nil {
			u.Log.Error("web: program report", "err", err)
			u.fail(w, r, http.StatusInternalServerError, "The program report could not be read; the log says why.")
			return
		}
	}
	if at.IsZero() { // still being computed: the period as asked, no numbers yet
		from, to, _ := report.ParsePeriod(fromS, toS, u.now())
		d.From, d.To = from.UTC().Format(time.DateOnly), to.UTC().Add(-time.Microsecond).Format(time.DateOnly)
		u.render(w, r, status, "program", page{Title: "Program", Nav: "program", Data: d})
		return
	}
	d.Report, d.ComputedAt = rep, at.UTC().Format("15:04:05 UTC")
	d.From, d.To = rep.From.Format(time.DateOnly), rep.To.Add(-time.Microsecond).Format(time.DateOnly)
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

// growthChart draws each day's new subscribers (up, green) and opt-outs
// (down, red) around a zero line, in the per-day charts' frame (svg.go).
func growthChart(days []report.Day) template.HTML {
	if len(days) == 0 {
		return ""
	}
	peak := int64(1)
	for _, d := range days {
		peak = max(peak, d.NewSubscribers, d.OptOuts)
	}
	f, n := dayFrame, len(days)
	var b strings.Builder
	f.open(&b, "growth-chart", "New subscribers (up) and opt-outs (down) per day, "+days[0].Date+" to "+days[n-1].Date)
	zero := f.Top + f.plotH()/2
	f.hline(&b, zero)
	f.yLabel(&b, f.Top+8, "+"+strconv.FormatInt(peak, 10))
	f.yLabel(&b, zero+4, "0")
	f.yLabel(&b, f.base(), "−"+strconv.FormatInt(peak, 10))
	bw := math.Max(1, f.slot(n)*0.7)
	for i, d := range days {
		x := f.barX(i, n, bw)
		if h := f.height(float64(d.NewSubscribers), 0, float64(peak), f.plotH()/2); h > 0 {
			fmt.Fprintf(&b, `<rect class="b-in" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, x, zero-h, bw, h)
		}
		if h := f.height(float64(d.OptOuts), 0, float64(peak), f.plotH()/2); h > 0 {
			fmt.Fprintf(&b, `<rect class="b-out" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, x, zero, bw, h)
		}
	}
	f.xLabels(&b, n, ends(n), func(i int) string { return days[i].Date })
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
	f, n := dayFrame, len(days)
	var b strings.Builder
	f.open(&b, "subscribers-chart", "Subscribers at the end of each day, "+days[0].Date+" to "+days[n-1].Date)
	f.hline(&b, f.base())
	f.yLabel(&b, f.Top+8, strconv.FormatInt(hi, 10))
	f.yLabel(&b, f.base(), strconv.FormatInt(lo, 10))
	var pts strings.Builder
	for i, v := range subs {
		y := f.base() - f.height(float64(v), float64(lo), float64(hi), f.plotH())
		fmt.Fprintf(&pts, "%.1f,%.1f ", f.slotMid(i, n), y)
	}
	fmt.Fprintf(&b, `<polyline class="l-subs" points="%s"/>`, strings.TrimSpace(pts.String()))
	f.xLabels(&b, n, ends(n), func(i int) string { return days[i].Date })
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// programReport is report.Program over the period the page's from and to
// name, from the UI's cache of reports (cache.go): a program report reads
// every message of its window. The zero time means it is being computed.
//
// A period is kept under its bounds as parsed, so spellings of one period
// (" 2026-12-01", "2026-12-01T00:00:00Z") share an entry; a period that
// leaves "to" out ends now, so it is kept under its "from" alone and its
// bounds are taken again at each computation.
func (u *UI) programReport(ctx context.Context, fromS, toS string) (*report.ProgramReport, time.Time, error) {
	from, to, err := report.ParsePeriod(fromS, toS, u.now())
	if err != nil {
		return nil, time.Time{}, err
	}
	toNow := strings.TrimSpace(toS) == ""
	bound := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	key := bound(from) + "|" + bound(to)
	if toNow {
		key = "|now" // the default: the last 30 days
		if strings.TrimSpace(fromS) != "" {
			key = bound(from) + "|now"
		}
	}
	return cachedReport(ctx, u, &u.programs, key, func(ctx context.Context) (*report.ProgramReport, error) {
		from, to := from, to
		if toNow { // its bounds move with the clock
			var err error
			if from, to, err = report.ParsePeriod(fromS, toS, u.now()); err != nil {
				return nil, err
			}
		}
		return report.Program(ctx, u.DB, from, to)
	})
}
