package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/postgres"
	"github.com/smsflow/smsflow/store/storetest"
)

// A table that grows from nothing gets planner statistics from smsflow
// itself (a manual ANALYZE: last_analyze), without waiting for autovacuum.
func TestBurstGetsStatistics(t *testing.T) {
	db := storetest.OpenPostgres(t)
	ctx := context.Background()
	now := time.Now().UTC()
	err := db.WriteTx(ctx, func(tx *store.Tx) error {
		for i := range 3000 {
			c := &smsflow.Contact{ID: fmt.Sprintf("c%05d", i), CreatedAt: now, UpdatedAt: now}
			if err := tx.InsertContact(c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20*postgres.StatisticsInterval + 30*time.Second)
	for {
		var last sql.NullTime
		if err := db.ReadQueryRow(ctx, `SELECT last_analyze FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = 'contacts'`).Scan(&last); err != nil {
			t.Fatal(err)
		}
		if last.Valid {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("contacts was not analyzed within %s of 3,000 inserts", 20*postgres.StatisticsInterval+30*time.Second)
		}
		time.Sleep(200 * time.Millisecond) // polling a condition, with a deadline
	}
}
