package engine_test

import (
	"testing"
	"time"

	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

const goalFlowV1 = `id: g
name: Goals
category: service
trigger:
  event: Signed Up
goal:
  event: Bought
  within: 5d
  exit: false
steps:
  - wait: 3d
`

const goalFlowV2 = `id: g
name: Goals
category: service
trigger:
  event: Signed Up
goal:
  event: Purchased
  within: 1d
  exit: false
steps:
  - wait: 3d
`

// TestGoalOfAnOlderVersionStillConverts: a run converts by its own
// version's goal. The engine used to ask only the current versions whether
// an event is a goal (and how far back to look), so a run on version 1
// never converted once version 2 named another goal event or a shorter
// window.
func TestGoalOfAnOlderVersionStillConverts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, goalFlowV1)
		w.identify("ana", "+14155550100")
		w.track("ana", "Signed Up", nil)
		if _, _, err := w.eng.Catalog().Save(ctx, "g", []byte(goalFlowV2), w.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if err := w.eng.Catalog().Load(ctx); err != nil {
			t.Fatal(err)
		}
		w.advance(2 * 24 * time.Hour) // past v2's 1d window, inside v1's 5d
		w.track("ana", "Bought", map[string]any{"order_id": "1"})
		goals := 0
		for _, tr := range w.traces {
			if tr.ContactID == "ana" && tr.Kind == "goal" {
				goals++
				if tr.Reason != "goal:Bought" {
					t.Errorf("goal reason %q, want goal:Bought", tr.Reason)
				}
			}
		}
		if goals != 1 {
			t.Errorf("%d goal traces for the version-1 run, want 1: %v", goals, w.kinds("ana"))
		}
	})
}
