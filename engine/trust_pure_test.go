package engine

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/policy"
)

// What the write key's events may cause, and the service limit per
// number, without a database (pure_test.go): contacts carry what
// ingestion records of who set their number and traits (ingest's
// trust_test.go tests that); trust_test.go keeps links and orders end to
// end.

// trackAs applies a tracked event sent with a trust level.
func (w *pureWorld) trackAs(trust smsflow.Trust, contact, name string, props map[string]any) {
	w.t.Helper()
	now := w.clock.Now()
	w.event(&smsflow.Event{Type: smsflow.EventTrack, Name: name, ContactID: contact, Properties: props, Timestamp: now, ReceivedAt: now, Trust: trust})
}

// publicNumber makes the contact's number one only the write key vouches
// for, as an identify with the write key records it.
func (w *pureWorld) publicNumber(id, ph string) *smsflow.Contact {
	c := w.identify(id, ph)
	c.PhoneVerified, c.PhonePublic = false, true
	return c
}

var attack = map[string]any{"status": "shipped", "order_id": "1 - URGENT: your account is locked", "carrier": "FedEx.\nVerify your card",
	"tracking_url": "https://evil.example/verify"}

func TestPublicEventNeverTextsAnUnverifiedNumber(t *testing.T) {
	w := newPureWorldWith(t, Config{}, shipFlow)
	// The attack: a stranger's number, set with the write key, then the
	// service event, six times.
	w.publicNumber("mallory-1", "+1 415 555 0101")
	for range 6 {
		w.trackAs(smsflow.TrustPublic, "mallory-1", "Shipment Updated", attack)
	}
	if q := w.queued("mallory-1"); len(q) != 0 {
		t.Fatalf("the write key texted a number nobody verified: %+v", q)
	}
	if got := w.reasonsOf("mallory-1", ""); len(got) != 6 || slices.ContainsFunc(got, func(r string) bool { return r != smsflow.DecisionUntrustedSource }) {
		t.Fatalf("decisions %v, want 6× %s", got, smsflow.DecisionUntrustedSource)
	}

	// The same number given by the server key is verified; so is one that
	// texted in, or opted in.
	w.identify("ana", "+1 415 555 0102")
	w.trackAs(smsflow.TrustPublic, "ana", "Shipment Updated", map[string]any{"status": "shipped", "order_id": "7"})
	w.publicNumber("bob", "+1 415 555 0103").PhoneVerified = true // texted in
	w.trackAs(smsflow.TrustPublic, "bob", "Shipment Updated", map[string]any{"status": "shipped", "order_id": "8"})
	w.publicNumber("cy", "+1 415 555 0104")
	w.subscribe("cy")
	w.trackAs(smsflow.TrustPublic, "cy", "Shipment Updated", map[string]any{"status": "shipped", "order_id": "9"})
	for _, id := range []string{"ana", "bob", "cy"} {
		if q := w.queued(id); len(q) != 1 {
			t.Errorf("%s: queued %d, want 1 (server key, texted in, opted in): %v", id, len(q), w.reasonsOf(id, ""))
		}
	}
	// A trusted event texts an unverified number: the back end vouches.
	w.trackAs(smsflow.TrustTrusted, "mallory-1", "Shipment Updated", map[string]any{"status": "shipped", "order_id": "10"})
	if got := w.reasonsOf("mallory-1", ""); got[len(got)-1] != smsflow.DecisionSent {
		t.Errorf("server-key event to an unverified number: %v", got)
	}
}

func TestPublicTraitsPrintPlainAndLinkChecked(t *testing.T) {
	const flow = `id: hello
name: Hello
category: service
trigger:
  event: Hello
steps:
  - id: hi
    send: "Hi {{ contact.traits.first_name }}, see {{ contact.traits.site | default: \"https://glow.example\" | track }}"
`
	w := newPureWorldWith(t, Config{}, flow)
	c := w.identify("ana", "+1 415 555 0102")
	// The write key set two traits.
	c.Traits["first_name"], c.Traits["site"] = "Ana\nURGENT", "https://evil.example/x"
	c.PublicTraits = []string{"first_name", "site"}
	w.trackAs(smsflow.TrustTrusted, "ana", "Hello", nil)
	if got := w.reasonsOf("ana", ""); len(got) != 1 || got[0] != smsflow.DecisionUntrustedLink {
		t.Fatalf("a trait the write key set linked to an unallowed host: %v", got)
	}
	// The back end sets the trait: its value is trusted again.
	c.Traits["site"], c.PublicTraits = "https://partner.example/x", []string{"first_name"}
	w.clock.t = w.clock.t.Add(time.Minute)
	w.trackAs(smsflow.TrustTrusted, "ana", "Hello", nil)
	if q := w.queued("ana"); len(q) != 1 || !strings.HasPrefix(q[0].Body, "Hi Ana URGENT, see https://sms.glow.example/l/") {
		t.Fatalf("queued %+v, decisions %v", q, w.reasonsOf("ana", ""))
	}
}

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
