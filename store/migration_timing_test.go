package store_test

import (
	"os"
	"testing"
	"time"

	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// TestMigration0014Timing measures migration 0014 (the consent ledger
// re-ordered by recording) over a 1,000,000-row ledger: 500,000 numbers of
// two entries each, 1% of them an opt-out the new order would loosen. It
// is a measurement for the upgrade notes, skipped unless
// SMSFLOW_MIGRATION_TIMING is set:
//
//	SMSFLOW_MIGRATION_TIMING=1 go test ./store -run TestMigration0014Timing -v -timeout 20m
func TestMigration0014Timing(t *testing.T) {
	if os.Getenv("SMSFLOW_MIGRATION_TIMING") == "" {
		t.Skip("a measurement: set SMSFLOW_MIGRATION_TIMING=1 to run it")
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const seed = `WITH RECURSIVE s(n) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT n+1 FROM s WHERE n < 1000000)
INSERT INTO consent_ledger (phone, contact_id, status, source, evidence, message_id, occurred_at, recorded_at)
SELECT '+1' || CAST(2000000000 + n / 2 AS TEXT), 'c',
 CASE WHEN n % 200 = 0 THEN 'unsubscribed' WHEN n % 200 = 1 THEN 'subscribed' WHEN n % 2 = 0 THEN 'subscribed' ELSE 'unsubscribed' END, 'api', '{}', '',
 1600000000000000 + n * 1000000 + CASE WHEN n % 200 = 0 THEN 10000000 ELSE 0 END, 1600000000000000 + n * 1000000 FROM s`
		if err := db.WriteTx(ctx, func(tx *store.Tx) error {
			if err := tx.ExecForTest(seed); err != nil {
				return err
			}
			return tx.ExecForTest(`DELETE FROM schema_migrations WHERE version = 14`)
		}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if n, err := db.Migrate(ctx); err != nil || n != 1 {
			t.Fatalf("migrate: %d %v", n, err)
		}
		took := time.Since(start)
		var rows int64
		if err := db.WriteTx(ctx, func(tx *store.Tx) (err error) {
			rows, err = tx.QueryIntForTest(`SELECT COUNT(*) FROM consent_ledger`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if rows != 1_000_000+4_999 {
			t.Errorf("%d rows after the migration, want 1,000,000 and 4,999 opt-outs re-asserted", rows)
		}
		t.Logf("%s: migration 0014 over 1,000,000 ledger rows (500,000 numbers): %s", db.Dialect().Name(), took.Round(100*time.Millisecond))
	})
}
