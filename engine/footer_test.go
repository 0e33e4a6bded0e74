package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/policy"
)

// The compliance footer and smart encoding, without a database
// (pure_test.go).

const saleFlow = `id: sale
name: Sale
category: promo
trigger:
  event: Sale
steps:
  - id: offer
    send: "Big sale today, {{ contact.traits.first_name | default: \"friend\" }}: {{ event.properties.deal | default: \"20% off\" }}"
`

const shippingFlow = `id: shipping
name: Shipping update
category: service
trigger:
  event: Order Shipped
steps:
  - id: shipped
    send: "Your order is on its way."
`

// lastBody is the body of the contact's newest flow message.
func (w *pureWorld) lastBody(contact string) (string, smsflow.Message) {
	w.t.Helper()
	ms := w.outMessages(contact, "")
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].RunID != 0 {
			return ms[i].Body, *ms[i]
		}
	}
	w.t.Fatalf("%s has no flow message", contact)
	return "", smsflow.Message{}
}

func (w *pureWorld) lastSentDecision(contact string) smsflow.Decision {
	w.t.Helper()
	ds := w.decisionsOf(contact, "")
	for i := len(ds) - 1; i >= 0; i-- {
		if ds[i].Reason == smsflow.DecisionSent {
			return ds[i]
		}
	}
	w.t.Fatalf("%s has no sent decision", contact)
	return smsflow.Decision{}
}

func TestComplianceFooterOnFirstMarketingMessageOfASubscription(t *testing.T) {
	w := newPureWorldWith(t, Config{Footer: policy.DefaultFooter}, saleFlow, shippingFlow)
	w.contact("ana", "+1 415 555 0100")

	// A service message first: no footer, and it does not use up the
	// footer of the first marketing message.
	w.track("ana", "Order Shipped", nil)
	if body, _ := w.lastBody("ana"); body != "Your order is on its way." {
		t.Errorf("service message %q, want it unchanged", body)
	}

	w.track("ana", "Sale", nil)
	body, m := w.lastBody("ana")
	if want := "Glow: Big sale today, Ana: 20% off Reply STOP to opt out."; body != want {
		t.Fatalf("first marketing message %q, want %q", body, want)
	}
	if info := m.Segments; info != 1 || m.Characters != len(body) {
		t.Errorf("segments %d characters %d: must be counted after the footer (%d characters)", m.Segments, m.Characters, len(body))
	}
	if d := w.lastSentDecision("ana"); !strings.Contains(d.Detail, "compliance footer: brand name, opt-out footer") {
		t.Errorf("decision detail %q does not say the footer was applied", d.Detail)
	}

	// The second marketing message goes as written.
	w.track("ana", "Sale", nil)
	if body, _ := w.lastBody("ana"); body != "Big sale today, Ana: 20% off" {
		t.Errorf("second marketing message %q, want it without footer", body)
	}

	// STOP, then START: a new subscription, whose first marketing
	// message carries the footer again.
	for _, status := range []smsflow.ConsentStatus{smsflow.ConsentUnsubscribed, smsflow.ConsentSubscribed} {
		w.advance(time.Minute)
		w.consent("ana", status, "keyword")
	}
	w.advance(time.Minute)
	w.track("ana", "Sale", map[string]any{"deal": "free shipping"})
	if body, _ := w.lastBody("ana"); body != "Glow: Big sale today, Ana: free shipping Reply STOP to opt out." {
		t.Errorf("first marketing message after resubscribing %q, want the footer", body)
	}
}

func TestNoFooterWhenTurnedOff(t *testing.T) {
	w := newPureWorldWith(t, Config{}, saleFlow)
	w.contact("ana", "+1 415 555 0100")
	w.track("ana", "Sale", nil)
	if body, _ := w.lastBody("ana"); body != "Big sale today, Ana: 20% off" {
		t.Errorf("body %q: brand.footer \"\" must leave bodies alone", body)
	}
}

func TestSmartEncodingAppliedOnlyWhenConfigured(t *testing.T) {
	const curly = "Big sale today, {{ contact.traits.first_name }}: it’s “on” — 20% off…"
	flowSrc := strings.Replace(saleFlow, `"Big sale today, {{ contact.traits.first_name | default: \"friend\" }}: {{ event.properties.deal | default: \"20% off\" }}"`, `"`+strings.ReplaceAll(curly, `"`, `\"`)+`"`, 1)
	for _, on := range []bool{false, true} {
		t.Run(map[bool]string{false: "off", true: "on"}[on], func(t *testing.T) { testSmartEncoding(t, flowSrc, on) })
	}
}

func testSmartEncoding(t *testing.T, flowSrc string, on bool) {
	w := newPureWorldWith(t, Config{SmartEncoding: on}, flowSrc)
	w.contact("ana", "+1 415 555 0100")
	w.track("ana", "Sale", nil)
	body, m := w.lastBody("ana")
	d := w.lastSentDecision("ana")
	if !on {
		if m.Encoding != "UCS-2" || !strings.Contains(body, "’") || d.Detail != "" {
			t.Errorf("smart_encoding off: %s %q detail %q, want the body untouched in UCS-2", m.Encoding, body, d.Detail)
		}
		return
	}
	if want := `Big sale today, Ana: it's "on" - 20% off...`; body != want || m.Encoding != "GSM-7" {
		t.Errorf("smart_encoding on: %s %q, want GSM-7 %q", m.Encoding, body, want)
	}
	if !strings.Contains(d.Detail, "smart_encoding applied: UCS-2 → GSM-7") {
		t.Errorf("decision detail %q does not show smart encoding", d.Detail)
	}
}
