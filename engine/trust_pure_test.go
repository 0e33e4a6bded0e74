package engine

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/policy"
)

// The service limit per number, without a database (pure_test.go); the
// write key's limits, which depend on what ingestion records of a
// contact's number and traits, stay end to end in trust_test.go.

// shipFlow is the bundled shipping-update flow cut to its first step: the
// service flow of the write-key attack.
const shipFlow = `id: ship
name: Shipping
category: service
trigger:
  event: Shipment Updated
steps:
  - id: shipped
    send: >-
      {{ brand.name }}: your order #{{ event.properties.order_id | default: "" }} is on its way
      with {{ event.properties.carrier | default: "our carrier" }}. Track it:
      {{ event.properties.tracking_url | default: "https://glow.example/account/orders" | track }}
`

func TestServicePerNumberLimit(t *testing.T) {
	pol := policy.Default()
	pol.ServicePerNumber = policy.ServiceLimit{Max: 3, Per: 24 * time.Hour}
	w := newPureWorldWith(t, Config{Policy: &pol}, shipFlow)
	c := w.identify("ana", "+1 415 555 0102")
	// A keyword reply (HELP's) is service too, but is not counted: it has
	// no run.
	now := w.clock.Now()
	w.rows.messages = append(w.rows.messages, &smsflow.Message{ID: int64(len(w.rows.messages) + 1), Direction: "out", Category: "service", ContactID: "ana",
		Phone: c.Phone, Body: "Glow: help at glow.example", Status: smsflow.MessageQueued, CreatedAt: now, UpdatedAt: now})
	for i := range 5 {
		w.clock.t = w.clock.t.Add(time.Hour)
		w.track("ana", "Shipment Updated", map[string]any{"status": "shipped", "order_id": strconv.Itoa(i)})
	}
	want := []string{"sent", "sent", "sent", smsflow.DecisionServiceLimit, smsflow.DecisionServiceLimit}
	if got := w.reasonsOf("ana", ""); !slices.Equal(got, want) {
		t.Fatalf("decisions %v, want %v", got, want)
	}
	// The window rolls: 24 h after the first, one more may go.
	w.clock.t = w.clock.t.Add(20 * time.Hour)
	w.track("ana", "Shipment Updated", map[string]any{"status": "shipped", "order_id": "x"})
	if got := w.reasonsOf("ana", ""); got[len(got)-1] != smsflow.DecisionSent {
		t.Errorf("after the window: %v", got)
	}
}
