package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// TestFlowEntries: the runs that entered each flow since an instant —
// every version, holdout included, the bound inclusive — and 0 for a flow
// without any; runs of a flow without a head are not listed.
func TestFlowEntries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2025, 6, 9, 12, 0, 0, 0, time.UTC)
		since := now.Add(-7 * 24 * time.Hour)
		for _, id := range []string{"busy", "quiet", "old"} {
			if _, _, err := db.SaveFlow(ctx, id, "h-"+id, "id: "+id, id+".yaml", "file", "active", now); err != nil {
				t.Fatal(err)
			}
		}
		// busy gets a second version: entries of both count.
		if _, _, err := db.SaveFlow(ctx, "busy", "h-busy-2", "id: busy\n", "busy.yaml", "file", "active", now); err != nil {
			t.Fatal(err)
		}
		runs := []struct {
			flow    string
			version int
			entered time.Time
			holdout bool
		}{
			{"busy", 1, since, false}, // on the bound: counted
			{"busy", 1, now.Add(-time.Hour), true},
			{"busy", 2, now, false},
			{"busy", 1, since.Add(-time.Microsecond), false}, // just before: not counted
			{"old", 1, now.Add(-30 * 24 * time.Hour), false},
			{"headless", 1, now, false},
		}
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			for i, r := range runs {
				id := fmt.Sprintf("c%d", i)
				if err := tx.InsertContact(&smsflow.Contact{ID: id, Phone: fmt.Sprintf("+1415555010%d", i), CreatedAt: now, UpdatedAt: now}); err != nil {
					return err
				}
				if err := tx.InsertRun(&smsflow.Run{FlowID: r.flow, FlowVersion: r.version, ContactID: id, Status: smsflow.RunCompleted,
					Holdout: r.holdout, EnteredAt: r.entered, UpdatedAt: r.entered, EndedAt: r.entered}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.FlowEntries(ctx, since)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{"busy": 3, "quiet": 0, "old": 0}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("FlowEntries = %v; want %v", got, want)
		}
	})
}
