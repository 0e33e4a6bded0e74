package web

import (
	"context"
	"time"

	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/report"
)

// The flows list shows each flow's last 30 days as the flow report
// (report.Flow, the code behind GET /v1/flows/{id}/report) counts them.
// A report reads every run and message of its window, which takes a good
// part of a second per flow on a million messages, so the list keeps the
// figures of all flows in memory for figuresTTL and refreshes them in the
// background (D92): a page waits for them only after a start, at most
// figuresColdWait, and says how old they are.

const (
	figuresTTL      = time.Minute
	figuresColdWait = 2 * time.Second
	figuresTimeout  = 10 * time.Minute
)

// flowFigures are one flow's last 30 days.
type flowFigures struct {
	Entered, Sent, Conversions int64
	CTR, OptOutRate            *float64
	Revenue                    float64
	Trend                      []float64 // runs entered per day, oldest first
}

// figures returns the figures and their time (zero: none yet), from the
// UI's report cache (cache.go): refreshed in the background when older than
// figuresTTL; only a request that finds none waits, at most figuresColdWait.
func (u *UI) figures(ctx context.Context) (map[string]flowFigures, time.Time) {
	figs, at, _ := cachedReport(ctx, u, &u.figs, "", u.computeFigures) // a flow that fails is logged and left out
	return figs, at
}

// computeFigures computes every flow's figures.
func (u *UI) computeFigures(ctx context.Context) (map[string]flowFigures, error) {
	now := u.now()
	from, to, _ := report.ParsePeriod("", "", now)
	out := map[string]flowFigures{}
	for _, h := range u.Catalog.Heads() {
		if h.Status == engine.FlowArchived {
			continue
		}
		opt := report.Options{SegmentPrice: u.segmentPrice}
		if comp, err := u.Catalog.Version(ctx, h.ID, h.Version); err == nil {
			opt.Flow = comp.Flow
		}
		rep, err := report.Flow(ctx, u.DB, h.ID, from, to, opt)
		if u.base.Err() != nil {
			break // shutting down: no warning, and the figures are not kept
		}
		if err != nil {
			u.Log.Warn("web: flow figures", "flow", h.ID, "err", err)
			continue
		}
		f := flowFigures{Entered: rep.Totals.Entered, Sent: rep.Totals.Sent, Conversions: rep.Totals.Conversions,
			CTR: rep.Totals.CTR, OptOutRate: rep.Totals.OptOutRate, Revenue: rep.Totals.Revenue}
		if days, err := report.EnteredPerDay(ctx, u.DB, h.ID, from, to); err == nil {
			for _, d := range days {
				f.Trend = append(f.Trend, float64(d))
			}
		} else {
			u.Log.Warn("web: flow trend", "flow", h.ID, "err", err)
		}
		out[h.ID] = f
	}
	return out, nil
}
