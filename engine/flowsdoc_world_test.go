package engine_test

import (
	"slices"
	"testing"

	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// TestCountSeesTheEventBeingHandled pins what docs/flows.md says of
// count(): the event being handled is in the history it counts, so the
// reference's first flow ("count(...) == 1" in the trigger's where) thanks
// a contact for the first order only.
func TestCountSeesTheEventBeingHandled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, `id: first-order-thanks
category: service
trigger:
  event: Order Completed
  where: 'count("Order Completed", days(365)) == 1'
steps:
  - id: thanks
    send: "Thank you for your first order!"
`)
		w.identify("ana", "+14155550142")
		w.track("ana", "Order Completed", map[string]any{"order_id": "1"})
		w.track("ana", "Order Completed", map[string]any{"order_id": "2"})
		if got, want := w.kinds("ana"), []string{"enter(trigger:Order Completed)", "send:thanks", "exit(completed)"}; !slices.Equal(got, want) {
			t.Fatalf("traces %q, want %q: one thank-you, for the first order", got, want)
		}
	})
}
