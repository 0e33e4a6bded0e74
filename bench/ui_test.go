package bench

import (
	"bytes"
	"context"
	"io"
	"strings"
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
			if rep.Totals.Failed != 1 { // flow a's 50th run of its own: undelivered
				t.Errorf("flow a: %d failed, want 1 undelivered", rep.Totals.Failed)
			}
			if rep.Totals.Entered != n/2 || rep.Totals.Sent != n/2 || rep.Totals.Conversions != n/2/20 || rep.Totals.Holdout != n/2/10 {
				t.Errorf("flow a: entered %d, sent %d, conversions %d, holdout %d; want %d, %d, %d, %d", rep.Totals.Entered, rep.Totals.Sent,
					rep.Totals.Conversions, rep.Totals.Holdout, n/2, n/2, n/2/20, n/2/10)
			}
		})
	}
}

// TestUIGoals: bench ui prints each page's goal and says which pages
// missed it — every page on SQLite, only the flow page on PostgreSQL.
func TestUIGoals(t *testing.T) {
	r := UIResult{Database: "sqlite", Pages: []UIPage{
		{Path: "/flows", Status: 200, P95: 150 * time.Millisecond},
		{Path: "/flows/welcome?days=30", Status: 200, P95: 900 * time.Millisecond},
		{Path: "/flows/welcome/edit", Status: 200, P95: 250 * time.Millisecond},
		{Path: "/messages?flow=welcome", Status: 200, P95: 199 * time.Millisecond},
	}}
	if got := strings.Join(r.Missed(), " "); got != "/flows/welcome/edit" {
		t.Errorf("sqlite: missed %q, want the editor only", got)
	}
	var out bytes.Buffer
	PrintUI(&out, r)
	if !strings.Contains(out.String(), "< 1000 ms: met") || !strings.Contains(out.String(), "< 200 ms: MISSED") ||
		!strings.Contains(out.String(), "MISSED by /flows/welcome/edit\n") {
		t.Errorf("sqlite table:\n%s", out.String())
	}
	r.Database = "postgres"
	r.Pages[1].P95 = 1200 * time.Millisecond
	if got := strings.Join(r.Missed(), " "); got != "/flows/welcome?days=30" {
		t.Errorf("postgres: missed %q, want the flow page only", got)
	}
	r.Pages[1].P95 = 300 * time.Millisecond
	out.Reset()
	PrintUI(&out, r)
	if !strings.Contains(out.String(), "all met") {
		t.Errorf("postgres table:\n%s", out.String())
	}
}
