package store_test

import (
	"testing"

	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// A server opens its pools' connections before its first request (Warm),
// each having planned a statement over the serving path's tables: on
// PostgreSQL a connection opened under load is a new server process, and
// the first second's events waited for them (D109).
func TestWarmOpensEveryConnectionAheadOfTraffic(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if err := db.Warm(ctx); err != nil {
			t.Fatal(err) // a table of the warm query missing fails here
		}
		open, limit := store.PoolsForTest(db)
		for i, name := range []string{"writer", "reader"} {
			if limit[i] > 0 && open[i] != limit[i] {
				t.Errorf("%s pool: %d connections open after Warm, want its limit %d", name, open[i], limit[i])
			}
		}
		if limit[0] <= 0 && limit[1] <= 0 {
			t.Error("neither pool has a limit: Warm opened nothing")
		}
	})
}
