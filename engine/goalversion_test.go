package engine

import (
	"context"
	"testing"
	"time"
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
	w := newPureWorldWith(t, Config{}, goalFlowV1)
	w.identify("ana", "+14155550100")
	w.track("ana", "Signed Up", nil)
	w.addFlow(w.eng.cat, goalFlowV2)
	if err := w.eng.cat.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.advance(2 * 24 * time.Hour) // past v2's 1d window, inside v1's 5d
	w.track("ana", "Bought", map[string]any{"order_id": "1"})
	goals := 0
	var kinds []string
	for _, tr := range w.traces {
		kinds = append(kinds, tr.Kind)
		if tr.ContactID == "ana" && tr.Kind == "goal" {
			goals++
			if tr.Reason != "goal:Bought" {
				t.Errorf("goal reason %q, want goal:Bought", tr.Reason)
			}
		}
	}
	if goals != 1 {
		t.Errorf("%d goal traces for the version-1 run, want 1: %v", goals, kinds)
	}
}
