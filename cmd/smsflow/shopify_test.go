package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/ingest/shopify"
	"github.com/smsflow/smsflow/store/storetest"
)

// serve mounts POST /webhooks/shopify whenever shopify.secret is set, with
// the console provider too, and a Shopify order the storefront already
// reported is one Order Completed.
func TestShopifyWebhookServed(t *testing.T) {
	const secret = "shpss_e2e_0123456789"
	order, err := os.ReadFile(filepath.Join("..", "..", "testdata", "shopify", "orders_create.json"))
	if err != nil {
		t.Fatal(err)
	}
	for kind, dsn := range storetest.DSNs(t) {
		t.Run(kind, func(t *testing.T) {
			cfg := config.Default()
			cfg.Shopify.Secret = secret
			w := startProviderWorld(t, dsn, cfg)
			if !slices.Contains(w.app.webhooks, shopify.Path) {
				t.Errorf("webhooks mounted: %v, want %s", w.app.webhooks, shopify.Path)
			}
			w.order("ana", "+14155550142", "5912345678901") // the storefront's own Order Completed
			hdr := func(id, sig string) []string {
				return []string{shopify.TopicHeader, "orders/create", shopify.WebhookIDHeader, id, shopify.HmacHeader, sig}
			}
			r := w.post(shopify.Path, "application/json", string(order), hdr("e2e-1", shopify.Sign("not-the-secret", order))...)
			if r.status != 401 {
				t.Errorf("wrong signature: %d %s", r.status, r.raw)
			}
			r = w.post(shopify.Path, "application/json", string(order), hdr("e2e-1", shopify.Sign(secret, order))...)
			if r.status != 200 || r.body["contact_id"] != "ana" || !strings.Contains(r.raw, `"duplicates":["Order Completed"]`) {
				t.Errorf("orders/create: %d %s", r.status, r.raw)
			}
			r = w.post(shopify.Path, "application/json", string(order), hdr("e2e-1", shopify.Sign(secret, order))...)
			if r.status != 200 || r.body["duplicate"] != true {
				t.Errorf("retry: %d %s", r.status, r.raw)
			}
			n := 0
			for _, name := range w.timeline("ana", "event") {
				if name == "Order Completed" {
					n++
				}
			}
			if n != 1 {
				t.Errorf("ana has %d Order Completed events, want 1", n)
			}
			// The order reached the engine once: one thank-you.
			w.outcome("ana", "arrived", "delivered")
			thanks := 0
			for _, m := range w.seen {
				if m.ContactID == "ana" && m.StepID == "thanks" {
					thanks++
				}
			}
			if thanks != 1 {
				t.Errorf("%d thank-you messages, want 1", thanks)
			}
		})
	}
}

func TestShopifyWebhookWithoutSecret(t *testing.T) {
	w := startProviderWorld(t, storetest.DSNs(t)["sqlite"], config.Default())
	if slices.Contains(w.app.webhooks, shopify.Path) {
		t.Errorf("webhooks listed without shopify.secret: %v", w.app.webhooks)
	}
	r := w.post(shopify.Path, "application/json", `{}`, shopify.TopicHeader, "orders/create")
	if r.status != 404 || !strings.Contains(r.raw, "shopify.secret") {
		t.Errorf("no secret: %d %s", r.status, r.raw)
	}
}
