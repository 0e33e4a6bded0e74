package bench

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/smsflow/smsflow/report"
	"github.com/smsflow/smsflow/store/storetest"
)

// TestSeedUIHistory seeds bench ui's history on a small scale: as many
// runs and messages as asked, inside the last 30 days, and a flow report
// over them counts what was written.
func TestSeedUIHistory(t *testing.T) {
	for name, dsn := range storetest.DSNs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := storetest.OpenMigrated(t, dsn)
			now := time.Now()
			if _, _, err := db.SaveFlow(ctx, "a", "h", "id: a\ntrigger:\n  event: X\nsteps:\n  - send: hi\n", "", "api", "active", now); err != nil {
				t.Fatal(err)
			}
			const n = 200
			runs, msgs, err := seedUIHistory(ctx, db, []string{"a", "b"}, n, now, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if runs != n || msgs != n {
				t.Fatalf("seeded %d runs and %d messages, want %d of each", runs, msgs, n)
			}
			from, to, _ := report.ParsePeriod("", "", now.Add(time.Second))
			rep, err := report.Flow(ctx, db, "a", from, to, report.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Totals.Entered != n/2 || rep.Totals.Sent != n/2 || rep.Totals.Conversions != n/2/20 || rep.Totals.Holdout != n/2/10 {
				t.Errorf("flow a: entered %d, sent %d, conversions %d, holdout %d; want %d, %d, %d, %d", rep.Totals.Entered, rep.Totals.Sent,
					rep.Totals.Conversions, rep.Totals.Holdout, n/2, n/2, n/2/20, n/2/10)
			}
		})
	}
}
