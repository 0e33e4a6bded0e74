package shopify_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest/shopify"
)

// FuzzMapShopify feeds arbitrary bodies to the Shopify payload mapper: it
// must never panic, must refuse only with an EINVALID error (a 400), and
// what it maps must be storable (JSON-encodable properties, a messageId,
// nobody invented).
func FuzzMapShopify(f *testing.F) {
	for topic, name := range map[string]string{
		"orders/create": "orders_create", "checkouts/create": "checkouts_create", "checkouts/update": "checkouts_update_completed",
		"customers/create": "customers_create_subscribed", "customers/update": "customers_update_unsubscribed",
	} {
		f.Add(topic, fixture(f, name))
	}
	f.Add("orders/paid", []byte(`{"id": 1e400, "total_price": "NaN", "customer": {"id": null, "phone": "+1 (415) 555-0100"}}`))
	f.Add("checkouts/update", []byte(`{"token": "t", "completed_at": "x", "order": {"id": [1]}, "line_items": [{"price": {"amount": 1}}]}`))
	f.Add("customers/update", []byte(`{"id": 7, "phone": "0044 20 7946 0958", "sms_marketing_consent": {"state": "SUBSCRIBED", "consent_updated_at": "2999-01-01T00:00:00Z"}}`))
	f.Add("customers/create", []byte(`{"id": "\u0000", "phone": "+", "default_address": {"phone": "+442079460958", "country_code": "ZZ"}}`))
	f.Add("carts/update", []byte(`not json`))
	f.Add("orders/create", []byte(`{"id": "o\u0000", "customer": {"id": "c\u0000", "phone": "+14155550100"}}`))
	f.Add("orders/create", []byte(`{"id": "`+strings.Repeat("9", 2000)+`", "customer": {"id": "`+strings.Repeat("c", 300)+`"}}`))
	f.Fuzz(func(t *testing.T, topic string, body []byte) {
		m, err := shopify.Map(shopify.Delivery{Topic: topic, WebhookID: "wh", Body: body}, "US", now)
		if err != nil {
			if smsflow.ErrorCode(err) != smsflow.EINVALID || smsflow.ErrorMessage(err) == "" {
				t.Fatalf("refused with %v, want an EINVALID error with a message", err)
			}
			return
		}
		if m.Ignored != "" {
			if len(m.Items) != 0 || m.Consent != nil {
				t.Fatalf("ignored (%s) but mapped %d items", m.Ignored, len(m.Items))
			}
			return
		}
		if m.CustomerID == "" && m.Phone == nil {
			t.Fatal("mapped a delivery with nobody to attribute it to")
		}
		if err := smsflow.CheckID("id", m.CustomerID, smsflow.MaxIDLength); err != nil {
			t.Fatalf("mapped a customer id no database can key: %v", err)
		}
		for _, it := range m.Items {
			if it.MessageID == "" || !strings.HasPrefix(it.MessageID, "shopify-") || it.UserID != "" {
				t.Fatalf("item %+v", it)
			}
			if it.Type == smsflow.EventTrack && it.Name == "" {
				t.Fatal("a track item without a name")
			}
			if it.Timestamp.After(now) || it.Timestamp.IsZero() {
				t.Fatalf("timestamp %s (now %s)", it.Timestamp, now)
			}
			if _, err := json.Marshal(it.Properties); err != nil {
				t.Fatalf("properties cannot be stored: %v", err)
			}
			if it.Name == smsflow.EventOrderCompleted && smsflow.OrderDedupeKey(it.Name, it.Properties) == "" {
				t.Fatalf("an Order Completed without order_id: %v", it.Properties)
			}
		}
		if m.Consent != nil && (m.Phone == nil || m.Consent.Phone == "") {
			t.Fatalf("consent %+v without the customer's number", m.Consent)
		}
	})
}
