package engine_test

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// BenchmarkScheduledDay measures one day of a daily flow over a contact
// base (SMSFLOW_BENCH_CONTACTS, default 20,000; one in ten subscribed, one
// in five without a birthday): the day's scan, and deciding the entries it
// scheduled at their moment. "date" is a birthday flow (about one contact
// in 336 has its birthday on a given day); "segment" a local daily segment
// every contact matches (the most entries a day can have).
//
//	go test ./engine -run XXX -bench ScheduledDay -benchtime 3x
func BenchmarkScheduledDay(b *testing.B) {
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("SMSFLOW_BENCH_CONTACTS")); err == nil && v > 0 {
		n = v
	}
	flows := map[string]string{
		"date":    birthdayFlow,
		"segment": "id: daily\ncategory: lifecycle\ntrigger:\n  segment: {where: 'true', at: \"10:00\", local: true}\nsteps:\n  - send: \"Glow: today's tip\"\n",
	}
	for _, kind := range []string{"date", "segment"} {
		for _, dbName := range []string{"sqlite", "postgres"} {
			b.Run(kind+"/"+dbName, func(b *testing.B) {
				var db *store.DB
				if dbName == "sqlite" {
					db = storetest.OpenSQLite(b)
				} else {
					db = storetest.OpenPostgres(b)
				}
				benchScheduledDay(b, db, n, flows[kind])
			})
		}
	}
}

func benchScheduledDay(b *testing.B, db *store.DB, n int, src string) {
	day := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	clock := &virtualClock{t: day}
	err := db.WriteTx(ctx, func(tx *store.Tx) error {
		for i := range n {
			traits := map[string]any{"first_name": "Ana"}
			if i%5 != 0 {
				traits["birthday"] = fmt.Sprintf("%02d-%02d", 1+(i/28)%12, 1+i%28)
			}
			c := &smsflow.Contact{ID: fmt.Sprintf("c%07d", i), Phone: fmt.Sprintf("+1415%07d", i), Timezone: "America/Los_Angeles",
				Timezones: []string{"America/Los_Angeles"}, TimezoneSource: "number", Traits: traits, CreatedAt: day, UpdatedAt: day}
			if err := tx.InsertContact(c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i += 10 {
		if _, err := ingest.RecordConsent(ctx, db, clock, fmt.Sprintf("c%07d", i), ingest.ConsentChange{Status: "subscribed", Source: "import"}, ingest.OptInOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	cat := engine.NewCatalog(db)
	id, _, _ := strings.Cut(strings.TrimPrefix(src, "id: "), "\n")
	if _, _, err := cat.Save(ctx, id, []byte(src), day); err != nil {
		b.Fatal(err)
	}
	if err := db.SetFlowStatus(ctx, id, engine.FlowActive, day); err != nil {
		b.Fatal(err)
	}
	if err := cat.Load(ctx); err != nil {
		b.Fatal(err)
	}
	eng := engine.New(db, cat, clock, slog.New(slog.NewTextHandler(io.Discard, nil)), engine.Config{Brand: map[string]any{"name": "Glow"}, Provider: "console"})
	if _, err := eng.RunOnce(ctx); err != nil { // makes today's and tomorrow's scans
		b.Fatal(err)
	}
	var scan, decide time.Duration
	var entries int
	b.ResetTimer()
	for i := range b.N {
		// Day i+1's scan is due at 20:00 UTC the day before (10:00 at UTC+14).
		clock.Set(day.AddDate(0, 0, i).Add(20 * time.Hour))
		start := time.Now()
		for {
			m, err := eng.ProcessAudiences(ctx, engine.AudienceBatch)
			if err != nil {
				b.Fatal(err)
			}
			if m == 0 {
				break
			}
		}
		scan += time.Since(start)
		clock.Set(day.AddDate(0, 0, i+1).Add(23 * time.Hour)) // after 10:00 PDT
		start = time.Now()
		for {
			m, err := eng.ProcessEntries(ctx, engine.DueBatch)
			if err != nil {
				b.Fatal(err)
			}
			if m == 0 {
				break
			}
			entries += m
		}
		decide += time.Since(start)
	}
	b.ReportMetric(float64(b.N*n)/scan.Seconds(), "scanned/s")
	b.ReportMetric(float64(entries)/max(decide.Seconds(), 1e-9), "decided/s")
	b.ReportMetric(float64(entries)/float64(b.N), "entries/day")
}
