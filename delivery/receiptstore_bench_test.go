package delivery_test

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/store/storetest"
)

// BenchmarkReceiptStore measures the webhook's side of the receipt queue
// alone: callers with a receipt each in flight (as a provider's callbacks
// are), each returning once its receipt is durable (ProviderEvents.Receipt:
// group commits into receipt_queue), no applier. A receipt is answered only
// after a commit, so with few in flight the rate is bounded by in flight ×
// the database's commit (WAL flush) rate; the sub-benchmarks show how it
// grows with more in flight. Receipts/s is the figure to compare, side by
// side in one run (docs/benchmarks.md, D97).
func BenchmarkReceiptStore(b *testing.B) {
	kinds := []string{"sqlite"}
	if os.Getenv(storetest.PostgresEnv) != "" {
		kinds = append(kinds, "postgres")
	}
	for _, kind := range kinds {
		for _, inFlight := range []int{8, 64} {
			b.Run(fmt.Sprintf("%s/inflight=%d", kind, inFlight), func(b *testing.B) {
				db := storetest.OpenSQLite(b)
				if kind == "postgres" {
					db = storetest.OpenPostgres(b)
				}
				clock := testkit.NewClock(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC))
				ev := &delivery.ProviderEvents{DB: db, Clock: clock, Log: slog.New(slog.DiscardHandler), Provider: "twilio"}
				var next atomic.Int64
				var failed atomic.Int64
				b.ResetTimer()
				var wg sync.WaitGroup
				for range inFlight {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := next.Add(1)
							if i > int64(b.N) {
								return
							}
							r := provider.Receipt{ProviderID: fmt.Sprintf("SM%d", i), MessageID: i, Status: smsflow.MessageDelivered}
							if err := ev.Receipt(ctx, r); err != nil {
								failed.Add(1)
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				if n := failed.Load(); n > 0 {
					b.Fatalf("%d receipts not stored", n)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "receipts/s")
			})
		}
	}
}
