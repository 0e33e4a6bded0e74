package report

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// BenchmarkFlowPage1M measures what the web UI's flow page reads (D93) on
// the 1,000,000-message history of BenchmarkFlowReport1M: the report, the
// steps' skipped and deferred decisions, the cohort day by day, and one
// step's last 50 decisions — each alone, and "page": the first three at
// the same time, as the page runs them. Run with
// go test -run XXX -bench FlowPage1M -benchtime 5x ./report/
// (SMSFLOW_BENCH_REPORT_DB for PostgreSQL or a kept database).
func BenchmarkFlowPage1M(b *testing.B) {
	db := benchHistory(b)
	ctx := context.Background()
	from, to := histFrom, histFrom.Add(31*24*time.Hour)
	report := func() error {
		rep, err := Flow(ctx, db, "cart", from, to, Options{SegmentPrice: 0.0079})
		if err == nil && rep.Totals.Sent < 900_000 {
			err = fmt.Errorf("report: sent %d", rep.Totals.Sent)
		}
		return err
	}
	decisions := func() error {
		_, err := StepDecisions(ctx, db, "cart", from, to)
		return err
	}
	days := func() error {
		d, err := FlowDays(ctx, db, "cart", from, to)
		if err == nil && len(d) != 31 {
			err = fmt.Errorf("days: %d", len(d))
		}
		return err
	}
	activity := func() error {
		a, err := StepActivity(ctx, db, "cart", "nudge", 50)
		if err == nil && len(a) != 50 {
			err = fmt.Errorf("activity: %d rows", len(a))
		}
		return err
	}
	for _, bc := range []struct {
		name string
		fn   func() error
	}{{"report", report}, {"decisions", decisions}, {"days", days}, {"activity", activity}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if err := bc.fn(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("page", func(b *testing.B) {
		for b.Loop() {
			fns := []func() error{report, decisions, days}
			errs := make([]error, len(fns))
			var wg sync.WaitGroup
			for i, fn := range fns {
				wg.Add(1)
				go func() { defer wg.Done(); errs[i] = fn() }()
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				b.Fatal(err)
			}
		}
	})
}
