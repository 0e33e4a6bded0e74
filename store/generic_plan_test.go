package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// The ingest writer's insert of new events reaches PostgreSQL's generic
// plan after its first executions on a connection, whatever the groups'
// sizes: planned for its values, it cost a planning per group commit —
// about a sixth of the database's time per single /v1/track call (D107).
// It numbered its rows with generate_series(1, n), whose generic estimate
// of 1,000 rows made every generic plan look dearer than a custom one.
func TestNewEventsInsertReachesAGenericPlan(t *testing.T) {
	db := storetest.OpenMigrated(t, storetest.PostgresDSN(t))
	at := time.Unix(1_800_000_000, 0)
	var generic, custom int64
	err := db.WriteTx(ctx, func(tx *store.Tx) error {
		// One transaction: one connection, whose prepared statements
		// pg_prepared_statements lists.
		for g, size := range []int{16, 3, 30, 16, 1, 20, 16, 8, 25, 16, 2, 16} {
			events := make([]*smsflow.Event, size)
			for i := range events {
				events[i] = &smsflow.Event{MessageID: fmt.Sprintf("g%d-%d", g, i), Type: "track", Name: "Viewed",
					ContactID: "ana", Timestamp: at, ReceivedAt: at}
			}
			if err := tx.InsertNewEvents(events); err != nil {
				return err
			}
		}
		var err error
		const stmt = `FROM pg_prepared_statements WHERE statement LIKE 'INSERT INTO events (seq,%WITH ORDINALITY%'`
		if generic, err = tx.QueryIntForTest(`SELECT COALESCE(SUM(generic_plans), 0) ` + stmt); err != nil {
			return err
		}
		custom, err = tx.QueryIntForTest(`SELECT COALESCE(SUM(custom_plans), 0) ` + stmt)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if generic+custom != 12 {
		t.Fatalf("the insert of new events was planned %d times (generic %d, custom %d) in 12 executions: is it still the statement this test looks for?", generic+custom, generic, custom)
	}
	if generic < 6 {
		t.Errorf("the insert of new events ran %d times on one generic plan and was planned for its values %d times: want the generic plan after at most 6", generic, custom)
	}
}
