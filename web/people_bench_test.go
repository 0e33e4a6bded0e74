package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/provider/console"
	"github.com/smsflow/smsflow/store"
)

var (
	peopleOnce  sync.Once
	peopleDB    *store.DB
	peopleErr   error
	peopleStart = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
)

// peopleHistory builds (once per process) a database of 1,000,000
// messages over 30 days: 100,000 contacts, ten flows, 2% inbound texts,
// 1% undelivered, one in 10,000 unknown. A fresh SQLite file by default;
// SMSFLOW_BENCH_WEB_DB (a DSN) names one to build on first use and reuse.
func peopleHistory(b *testing.B) *store.DB {
	peopleOnce.Do(func() {
		dsn := os.Getenv("SMSFLOW_BENCH_WEB_DB")
		if dsn == "" {
			dir, err := os.MkdirTemp("", "smsflow-web-bench")
			if err != nil {
				peopleErr = err
				return
			}
			dsn = "sqlite:" + filepath.Join(dir, "bench.db")
		}
		db, err := store.Open(dsn)
		if err != nil {
			peopleErr = err
			return
		}
		ctx := context.Background()
		if _, err := db.Migrate(ctx); err != nil {
			peopleErr = err
			return
		}
		peopleDB = db
		if ms, err := db.Messages(ctx, store.MessageFilter{Limit: 1}); err != nil || len(ms) > 0 {
			peopleErr = err
			return // reused
		}
		if err := db.WriteTx(ctx, func(tx *store.Tx) error {
			return tx.InsertContact(&smsflow.Contact{ID: "c000042", Phone: "+14155000042", Traits: map[string]any{}, CreatedAt: peopleStart, UpdatedAt: peopleStart})
		}); err != nil {
			peopleErr = err
			return
		}
		const total, batch = 1_000_000, 10_000
		start := time.Now()
		for lo := 0; lo < total; lo += batch {
			ms := make([]smsflow.Message, 0, batch)
			for i := lo; i < lo+batch; i++ {
				c := i % 100_000
				m := smsflow.Message{Direction: "out", ContactID: fmt.Sprintf("c%06d", c), Phone: fmt.Sprintf("+14155%06d", c),
					FlowID: fmt.Sprintf("flow-%d", i%10), Body: "Glow: your cart misses you. Reply STOP to opt out.", Encoding: "GSM-7",
					Characters: 52, Segments: 1, Status: smsflow.MessageDelivered, Provider: "p",
					CreatedAt: peopleStart.Add(time.Duration(i) * 2592 * time.Millisecond)} // 1,000,000 over 30 days
				switch {
				case i%50 == 7:
					m.Direction, m.FlowID, m.Status, m.Body = "in", "", smsflow.MessageReceived, "Thanks!"
				case i%10_000 == 13:
					m.Status = smsflow.MessageUnknown
				case i%100 == 21:
					m.Status = smsflow.MessageUndelivered
				}
				m.UpdatedAt = m.CreatedAt
				ms = append(ms, m)
			}
			if err := db.BulkInsertMessages(ctx, ms); err != nil {
				peopleErr = err
				return
			}
		}
		b.Logf("built 1,000,000 messages in %v", time.Since(start).Round(time.Second))
	})
	if peopleErr != nil {
		b.Fatal(peopleErr)
	}
	return peopleDB
}

// BenchmarkPeoplePages1M answers the contacts, messages and inbox pages
// over 1,000,000 messages (SQLite unless SMSFLOW_BENCH_WEB_DB says
// otherwise), the whole handler with its template, and reports each
// page's p95 (issue 20's goal: under 200 ms on SQLite). Run with
// go test -run XXX -bench PeoplePages1M -benchtime 40x ./web/
func BenchmarkPeoplePages1M(b *testing.B) {
	db := peopleHistory(b)
	clock := testkit.NewClock(peopleStart.Add(31 * 24 * time.Hour))
	u := New(Deps{Config: config.Config{DefaultRegion: "US", Provider: "console"}, DB: db, Clock: clock, AdminKey: "ak_test",
		Console: console.New(slog.New(slog.DiscardHandler))})
	cookie := login(b, u)
	for _, path := range []string{
		"/messages",
		"/messages?before=500000&at=1771545600000000",
		"/messages?status=unknown",
		"/messages?status=undelivered",
		"/messages?flow=flow-3",
		"/messages?direction=in",
		"/messages?from=2026-02-10&to=2026-02-10",
		"/messages?flow=flow-3&status=undelivered&from=2026-02-10&to=2026-02-20",
		"/messages?contact=c000042",
		"/contacts?q=" + "(415)%20500-0042",
		"/contacts/c000042",
		"/inbox",
		"/inbox/c000042",
	} {
		b.Run(path, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				req := httptest.NewRequest("GET", path, nil)
				req.AddCookie(cookie)
				rec := httptest.NewRecorder()
				t0 := time.Now()
				u.ServeHTTP(rec, req)
				took = append(took, time.Since(t0))
				if rec.Code != http.StatusOK && rec.Code != http.StatusSeeOther {
					b.Fatalf("%s: %d", path, rec.Code)
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}
