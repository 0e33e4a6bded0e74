package engine

import (
	"testing"
	"time"
)

// Inactivity triggers, without a database (pure_test.go).

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
	w := newPureWorldWith(t, Config{}, winbackFlow)
	w.contact("ana", "+1 415 555 0100")
	w.advance(time.Hour) // a contact who never ordered is never "inactive"
	w.track("ana", "Order Completed", map[string]any{"order_id": "1"})
	w.advance(30 * 24 * time.Hour)
	w.track("ana", "Order Completed", map[string]any{"order_id": "2"}) // pushes the deadline
	w.advance(59*24*time.Hour + 23*time.Hour)
	if got := len(w.queued("ana")); got != 0 {
		t.Fatalf("queued %d before 60 days since the last order", got)
	}
	w.advance(2 * time.Hour)
	if got := len(w.queued("ana")); got != 1 {
		t.Fatalf("queued %d after 60 days, want 1", got)
	}
	w.advance(90 * 24 * time.Hour)
	if got := len(w.outMessages("ana", "")); got != 1 {
		t.Errorf("%d messages: fired again without a new order", got)
	}
}
