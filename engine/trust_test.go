package engine_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// publicItem marks an item as sent with the write key.
func publicItem(it *ingest.Item) *ingest.Item { it.Trust = smsflow.TrustPublic; return it }

func (w *world) identifyAs(trust smsflow.Trust, user, ph string, traits map[string]any) {
	w.t.Helper()
	n, err := phone.Parse(ph, "US")
	if err != nil {
		w.t.Fatal(err)
	}
	w.seq++
	w.submit(&ingest.Item{Type: smsflow.EventIdentify, MessageID: "i" + itoa(w.seq), UserID: user, Phone: &n, Traits: traits,
		Timestamp: w.clock.Now(), ReceivedAt: w.clock.Now(), Trust: trust})
}

func (w *world) trackAs(trust smsflow.Trust, user, name string, props map[string]any) {
	w.t.Helper()
	w.seq++
	w.submit(&ingest.Item{Type: smsflow.EventTrack, MessageID: "t" + itoa(w.seq), UserID: user, Name: name, Properties: props,
		Timestamp: w.clock.Now(), ReceivedAt: w.clock.Now(), Trust: trust})
}

// sendReasons lists the reasons of the contact's send decisions.
func (w *world) sendReasons(contact string) []string {
	w.t.Helper()
	ds, err := w.db.Decisions(ctx, contact, 1000)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, d := range ds {
		out = append(out, d.Reason)
	}
	return out
}

func TestPublicValuesArePlainTextAndLinksMustBeAllowed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorldWith(t, db, engine.Config{AllowedLinkHosts: []string{".fedex.example"}}, engine.ShipFlow)
		w.identifyAs(smsflow.TrustTrusted, "ana", "+1 415 555 0102", nil)

		// A public tracking URL on a host nobody allowed: no text.
		w.trackAs(smsflow.TrustPublic, "ana", "Shipment Updated", engine.Attack)
		if n := w.cons.Sent(); n != 0 {
			t.Fatalf("sent a link to an unallowed host: %+v", w.cons.Recent())
		}
		ds, _ := db.Decisions(ctx, "ana", 100)
		if len(ds) != 1 || ds[0].Reason != smsflow.DecisionUntrustedLink || !strings.Contains(ds[0].Detail, "evil.example") {
			t.Fatalf("decisions %+v, want %s naming evil.example", ds, smsflow.DecisionUntrustedLink)
		}

		// On an allowed host (a subdomain of .fedex.example) it goes, and
		// the values print as plain text: no line break, at most 100
		// characters each.
		long := strings.Repeat("x", 300)
		w.trackAs(smsflow.TrustPublic, "ana", "Shipment Updated", map[string]any{"status": "shipped", "order_id": long,
			"carrier": "FedEx.\n\nVerify your card\r\nnow", "tracking_url": "https://www.fedex.example/track?n=1"})
		msgs := w.cons.Recent()
		if len(msgs) != 1 {
			t.Fatalf("sent %d, want 1: %v", len(msgs), w.sendReasons("ana"))
		}
		body := msgs[0].Body
		if strings.ContainsAny(body, "\r\n") || !strings.Contains(body, "with FedEx. Verify your card now. Track it") {
			t.Errorf("public values not flattened: %q", body)
		}
		if !strings.Contains(body, "#"+strings.Repeat("x", 100)+" is on its way") {
			t.Errorf("public value not cut to 100 characters: %q", body)
		}
		_, code, _ := strings.Cut(body, "/l/")
		if link, err := db.LinkByCode(ctx, code); err != nil || link.URL != "https://www.fedex.example/track?n=1" {
			t.Errorf("tracked link %s: %+v, %v", code, link, err)
		}

		// The same URL from the server key needs no allowance, even when
		// the contact has traits the write key set.
		w.identifyAs(smsflow.TrustPublic, "ana", "+1 415 555 0102", map[string]any{"first_name": "Ana\nClick evil.example"})
		w.trackAs(smsflow.TrustTrusted, "ana", "Shipment Updated", map[string]any{"status": "shipped", "order_id": "12", "tracking_url": "https://carrier.example/t/12"})
		if got := w.sendReasons("ana"); got[len(got)-1] != smsflow.DecisionSent {
			t.Errorf("a trusted link beside public traits: %v", got)
		}
	})
}

func TestPublicOrderStandsAsideForTrustedOne(t *testing.T) {
	const flow = `id: thanks
name: Thanks
category: service
trigger:
  event: Order Completed
steps:
  - id: thanks
    send: "Thanks for order {{ event.properties.order_id }} ({{ event.properties.revenue }})"
`
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, flow)
		w.identifyAs(smsflow.TrustTrusted, "ana", "+1 415 555 0102", nil)
		// The trusted order arrives first: the write key's copy with the
		// same order_id (and a made-up revenue) is stored but does nothing.
		w.trackAs(smsflow.TrustTrusted, "ana", "Order Completed", map[string]any{"order_id": "o-1", "revenue": 10.0})
		w.trackAs(smsflow.TrustPublic, "ana", "Order Completed", map[string]any{"order_id": "o-1", "revenue": 9999.0})
		// The write key's copy arrives first: the trusted one is not a
		// duplicate of it, and is stored and processed.
		w.clock.Add(time.Minute)
		w.trackAs(smsflow.TrustPublic, "ana", "Order Completed", map[string]any{"order_id": "o-2", "revenue": 1.0})
		w.clock.Add(time.Minute)
		w.trackAs(smsflow.TrustTrusted, "ana", "Order Completed", map[string]any{"order_id": "o-2", "revenue": 20.0})
		var bodies []string
		for _, m := range w.cons.Recent() {
			bodies = append(bodies, m.Body)
		}
		want := []string{"Thanks for order o-1 (10)", "Thanks for order o-2 (1)", "Thanks for order o-2 (20)"}
		if !slices.Equal(bodies, want) {
			t.Fatalf("texts %q, want %q", bodies, want)
		}
		evs, err := db.EventsByContact(ctx, "ana", 100)
		if err != nil {
			t.Fatal(err)
		}
		var orders []string
		for _, e := range evs {
			if e.Name == smsflow.EventOrderCompleted {
				orders = append(orders, string(e.Trust.Stored())+":"+e.Properties["order_id"].(string))
			}
		}
		if !slices.Equal(orders, []string{"trusted:o-1", "public:o-1", "public:o-2", "trusted:o-2"}) {
			t.Errorf("stored orders %v", orders)
		}
	})
}
