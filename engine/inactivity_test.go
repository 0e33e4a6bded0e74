package engine_test

import (
	"testing"
	"time"

	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

const winbackFlow = `id: winback
category: promo
trigger:
  inactivity: {event: Order Completed, for: 60d}
exit:
  - event: Order Completed
steps:
  - id: miss-you
    send: "We miss you, {{ contact.traits.first_name }}"
`

func TestInactivityFiresOncePerLapse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, winbackFlow)
		w.identify("ana", "+1 415 555 0100")
		w.subscribe("ana")
		w.advance(time.Hour) // a contact who never ordered is never "inactive"
		w.track("ana", "Order Completed", map[string]any{"order_id": "1"})
		w.advance(30 * 24 * time.Hour)
		w.track("ana", "Order Completed", map[string]any{"order_id": "2"}) // pushes the deadline
		w.advance(59*24*time.Hour + 23*time.Hour)
		if got := w.cons.Sent(); got != 0 {
			t.Fatalf("sent %d before 60 days since the last order", got)
		}
		w.advance(2 * time.Hour)
		if got := w.cons.Sent(); got != 1 {
			t.Fatalf("sent %d after 60 days, want 1", got)
		}
		w.advance(90 * 24 * time.Hour)
		if got := w.cons.Sent(); got != 1 {
			t.Errorf("sent %d: fired again without a new order", got)
		}
	})
}
