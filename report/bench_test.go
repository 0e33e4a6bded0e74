package report

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
	_ "github.com/smsflow/smsflow/store/sqlite"
)

var (
	benchOnce sync.Once
	benchDB   *store.DB
	benchErr  error
)

// benchHistory builds (once per process) a database with one flow of
// 500,000 runs entered over 30 days, each sent two messages (1,000,000
// messages) with their decisions, 10% clicked, 2% replying, 0.5% opting out,
// 5% converting, and 10% holdout runs — written in batches of 10,000 rows
// per transaction. By default it is a fresh SQLite file in a temp folder;
// SMSFLOW_BENCH_REPORT_DB (a DSN: sqlite:PATH or postgres://…) names a
// database to use instead, built on first use and reused afterwards (a
// PostgreSQL one must start empty: the build takes minutes there).
func benchHistory(b *testing.B) *store.DB {
	benchOnce.Do(func() {
		dsn := os.Getenv("SMSFLOW_BENCH_REPORT_DB")
		if dsn == "" {
			dir, err := os.MkdirTemp("", "smsflow-report-bench")
			if err != nil {
				benchErr = err
				return
			}
			dsn = "sqlite:" + filepath.Join(dir, "bench.db")
		}
		db, err := store.Open(dsn)
		if err != nil {
			benchErr = err
			return
		}
		ctx := context.Background()
		if _, err := db.Migrate(ctx); err != nil {
			benchErr = err
			return
		}
		benchDB = db
		var built int64
		if err := db.QueryRowForTest(ctx, `SELECT COUNT(*) FROM runs WHERE flow_id = 'cart'`).Scan(&built); err != nil {
			benchErr = err
			return
		}
		if built > 0 {
			return // reused
		}
		if _, _, err := db.SaveFlow(ctx, "cart", "h1", cartFlow, "cart.yaml", "file", "active", histFrom); err != nil {
			benchErr = err
			return
		}
		const runs, batch = 500_000, 10_000
		start := time.Now()
		for lo := 0; lo < runs && benchErr == nil; lo += batch {
			benchErr = db.WriteTx(ctx, func(tx *store.Tx) error {
				bd := &builder{tx: tx}
				for i := lo; i < lo+batch; i++ {
					benchRun(bd, i)
				}
				return bd.err
			})
		}
		b.Logf("built 500,000 runs / 1,000,000 messages in %v", time.Since(start).Round(time.Second))
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchDB
}

func benchRun(b *builder, i int) {
	id := fmt.Sprintf("c%07d", i)
	phone := fmt.Sprintf("+1415%07d", i)
	b.check(b.tx.InsertContact(&smsflow.Contact{ID: id, Phone: phone, CreatedAt: histFrom, UpdatedAt: histFrom}))
	at := histFrom.Add(time.Duration(i) * 5 * time.Second) // 500,000 × 5 s ≈ 29 days
	holdout := i%10 == 9
	variant := "A"
	if i%2 == 1 {
		variant = "B"
	}
	var goalAt time.Time
	var value float64
	if i%20 == 3 {
		goalAt, value = at.Add(3*time.Hour), 40
	}
	status := smsflow.RunCompleted
	runID := b.run("cart", id, at, holdout, variant, status, "", goalAt, value)
	if holdout {
		b.decision(runID, "cart", "nudge", id, smsflow.DecisionHoldout, at)
		b.decision(runID, "cart", "offer-a", id, smsflow.DecisionHoldout, at.Add(2*time.Hour))
		return
	}
	// Two messages per treatment run, plus the holdout runs' share so the
	// total is 1,000,000: holdout runs' would-be sends go to the next runs.
	step := "offer-a"
	if variant == "B" {
		step = "offer-b"
	}
	st := smsflow.MessageDelivered
	if i%25 == 0 {
		st = smsflow.MessageUndelivered
	}
	b.message(runID, "cart", "nudge", id, phone, st, "p", 1, at.Add(time.Minute))
	b.message(runID, "cart", step, id, phone, smsflow.MessageDelivered, "p", 2, at.Add(2*time.Hour))
	if i%9 <= 1 { // the holdout runs' share: a third step that only an older version had
		b.message(runID, "cart", "legacy", id, phone, smsflow.MessageSent, "p", 1, at.Add(3*time.Hour))
	}
	if i%10 == 0 {
		b.click("k"+id, runID, "nudge", id, at.Add(5*time.Minute))
	}
	if i%50 == 0 {
		b.inbound(id, phone, at.Add(10*time.Minute))
	}
	if i%200 == 0 {
		b.consent(phone, id, smsflow.ConsentUnsubscribed, smsflow.SourceKeyword, at.Add(20*time.Minute))
	}
}

// BenchmarkFlowReport1M reports over 1,000,000 messages on SQLite (the
// history is built once, outside the timing). Run with
// go test -run XXX -bench FlowReport1M ./report/ (SMSFLOW_BENCH_REPORT_DB
// for another or a kept database, see benchHistory).
func BenchmarkFlowReport1M(b *testing.B) {
	db := benchHistory(b)
	ctx := context.Background()
	var n int64
	err := db.QueryRowForTest(ctx, `SELECT COUNT(*) FROM messages WHERE direction = 'out'`).Scan(&n)
	if err != nil || n < 1_000_000 {
		b.Fatalf("messages = %d, %v", n, err)
	}
	b.ResetTimer()
	for b.Loop() {
		rep, err := Flow(ctx, db, "cart", histFrom, histFrom.Add(31*24*time.Hour), Options{SegmentPrice: 0.0079})
		if err != nil {
			b.Fatal(err)
		}
		if rep.Totals.Sent < 900_000 {
			b.Fatalf("sent = %d", rep.Totals.Sent)
		}
	}
}
