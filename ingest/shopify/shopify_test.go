package shopify_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/ingest/shopify"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

var ctx = context.Background()

// now is when the fixtures happen (testkit.Now).
var now = testkit.Now

const shopifySecret = "shpss_test_0123456789abcdef"

// fixture reads testdata/shopify/NAME.json.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "shopify", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// shopifyServer serves the Shopify webhook the way serve mounts it, with a
// writer on db.
type shopifyServer struct {
	t   *testing.T
	db  *store.DB
	url string
	w   *ingest.Writer
}

func newShopifyServer(t *testing.T, db *store.DB, secret string) *shopifyServer {
	t.Helper()
	return newShopifyServerWith(t, db, secret, ingest.OptInOptions{})
}

// newShopifyServerWith is newShopifyServer with a double opt-in setting.
func newShopifyServerWith(t *testing.T, db *store.DB, secret string, opt ingest.OptInOptions) *shopifyServer {
	t.Helper()
	w := testkit.NewWriter(t, db)
	mux := http.NewServeMux()
	mux.Handle("POST "+shopify.Path, &shopify.Webhook{Secret: secret, Region: "US", Writer: w, Clock: testkit.NewClock(now),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), OptIn: opt})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &shopifyServer{t: t, db: db, url: srv.URL + shopify.Path, w: w}
}

type shopifyReply struct {
	status int
	raw    string
	res    shopify.Result
	err    struct{ Code, Message, Field string }
}

// post sends body for topic with webhook id id, signed with sig ("sign" to
// sign it with the test secret, "" for no header).
func (s *shopifyServer) post(topic, id string, body []byte, sig string) shopifyReply {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.url, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(shopify.TopicHeader, topic)
	req.Header.Set(shopify.ShopHeader, "glow.myshopify.com")
	if id != "" {
		req.Header.Set(shopify.WebhookIDHeader, id)
	}
	if sig == "sign" {
		sig = shopify.Sign(shopifySecret, body)
	}
	if sig != "" {
		req.Header.Set(shopify.HmacHeader, sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := shopifyReply{status: resp.StatusCode, raw: string(b)}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		s.t.Errorf("%s answered %d with Content-Type %q, want JSON: %s", topic, resp.StatusCode, ct, b)
	}
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(b, &r.res); err != nil {
			s.t.Fatalf("answer %s: %v", b, err)
		}
	} else {
		var e struct {
			Error struct{ Code, Message, Field string }
		}
		if err := json.Unmarshal(b, &e); err != nil || e.Error.Message == "" {
			s.t.Errorf("error answer is not the JSON error shape: %s", b)
		}
		r.err = e.Error
	}
	return r
}

// ok posts a signed delivery and fails unless it is answered 200.
func (s *shopifyServer) ok(topic, id string, body []byte) shopify.Result {
	s.t.Helper()
	r := s.post(topic, id, body, "sign")
	if r.status != 200 {
		s.t.Fatalf("%s: %d %s", topic, r.status, r.raw)
	}
	return r.res
}

func countEvents(t *testing.T, db *store.DB) int64 {
	t.Helper()
	n, err := db.CountEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestShopifySignature(t *testing.T) {
	body := []byte(`{"id":1}`)
	sig := shopify.Sign(shopifySecret, body)
	for _, c := range []struct {
		name, secret, header string
		body                 []byte
		want                 bool
	}{
		{"good", shopifySecret, sig, body, true},
		{"good with spaces", shopifySecret, " " + sig + " ", body, true},
		{"body changed", shopifySecret, sig, []byte(`{"id":2}`), false},
		{"other secret", "another", sig, body, false},
		{"missing", shopifySecret, "", body, false},
		{"not base64", shopifySecret, "%%%", body, false},
		{"hex instead of base64", shopifySecret, "a1b2c3", body, false},
		{"no secret configured", "", shopify.Sign("", body), body, false},
	} {
		if got := shopify.Verify(c.secret, c.body, c.header); got != c.want {
			t.Errorf("%s: verified %v, want %v", c.name, got, c.want)
		}
	}

	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newShopifyServer(t, db, shopifySecret)
		order := fixture(t, "orders_create")
		if r := s.post("orders/create", "w-bad", order, shopify.Sign("wrong", order)); r.status != 401 || r.err.Code != "unauthorized" || !strings.Contains(r.err.Message, "shopify.secret") {
			t.Errorf("bad signature: %d %s", r.status, r.raw)
		}
		if r := s.post("orders/create", "w-bad", order, ""); r.status != 401 || !strings.Contains(r.err.Message, "missing") {
			t.Errorf("missing signature: %d %s", r.status, r.raw)
		}
		if n := countEvents(t, db); n != 0 {
			t.Fatalf("unsigned deliveries stored %d events", n)
		}
		if seen, _ := db.ShopifyWebhookSeen(ctx, "w-bad"); seen {
			t.Error("an unsigned delivery claimed its webhook id")
		}
		// The same id, now signed, is processed: refusals never claim the id.
		if r := s.ok("orders/create", "w-bad", order); len(r.Events) == 0 || r.Duplicate {
			t.Errorf("signed delivery: %+v", r)
		}

		// Without a secret the route says what to set.
		off := newShopifyServer(t, db, "")
		if r := off.post("orders/create", "w-off", order, "sign"); r.status != 404 || !strings.Contains(r.err.Message, "shopify.secret") {
			t.Errorf("no secret: %d %s", r.status, r.raw)
		}
	})
}

func TestShopifyDuplicateWebhookID(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newShopifyServer(t, db, shopifySecret)
		body := fixture(t, "customers_create_subscribed")
		first := s.ok("customers/create", "wh-1", body)
		if first.Duplicate || len(first.Events) != 1 || first.Consent != smsflow.ConsentSubscribed {
			t.Fatalf("first delivery: %+v", first)
		}
		n := countEvents(t, db)
		again := s.ok("customers/create", "wh-1", body)
		if !again.Duplicate || len(again.Events) != 0 || again.Consent != "" {
			t.Errorf("retry: %+v, want a duplicate", again)
		}
		// A restart: a new writer and handler on the same database.
		s.w.Stop()
		s2 := newShopifyServer(t, db, shopifySecret)
		if r := s2.ok("customers/create", "wh-1", body); !r.Duplicate {
			t.Errorf("retry after a restart: %+v, want a duplicate", r)
		}
		if got := countEvents(t, db); got != n {
			t.Errorf("%d events after retries, want %d", got, n)
		}
		if l := testkit.Consent(t, db, "+12085550177"); len(l.Ledger) != 1 {
			t.Errorf("ledger has %d entries after retries, want 1", len(l.Ledger))
		}
	})
}

func TestShopifyOrderCreate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newShopifyServer(t, db, shopifySecret)
		r := s.ok("orders/create", "wh-order", fixture(t, "orders_create"))
		const cid = "shopify:7012345678901"
		if r.ContactID != cid || strings.Join(r.Events, ",") != "identify,Order Completed" {
			t.Fatalf("result %+v", r)
		}
		c, err := db.Contact(ctx, cid)
		if err != nil {
			t.Fatal(err)
		}
		if c.Phone != "+14155550142" || c.Traits["first_name"] != "Ana" || c.Traits["last_name"] != "Lima" || c.Traits["email"] != "ana.lima@example.com" {
			t.Errorf("contact %+v", c)
		}
		orders := testkit.Events(t, db, cid, smsflow.EventOrderCompleted)
		if len(orders) != 1 {
			t.Fatalf("%d Order Completed events", len(orders))
		}
		p := orders[0].Properties
		if p["order_id"] != "5912345678901" || p["revenue"] != 93.31 || p["currency"] != "USD" || p["order_name"] != "#1042" ||
			p["checkout_token"] != "b1946ac92492d2347c6235b4d2611184" || p["coupon"] != "GLOW10" || p["source"] != "shopify" {
			t.Errorf("properties %v", p)
		}
		products, _ := p["products"].([]any)
		if len(products) != 2 {
			t.Fatalf("products %v", p["products"])
		}
		p0 := products[0].(map[string]any)
		if p0["product_id"] != "8012345678901" || p0["id"] != "8012345678901" || p0["sku"] != "SERUM-C-30" || p0["name"] != "Vitamin C Serum" ||
			p0["price"] != 32.0 || p0["quantity"] != 2.0 || p0["variant_id"] != "45012345678901" {
			t.Errorf("product %v", p0)
		}
		if want := time.Date(2026, 11, 28, 14, 58, 40, 0, time.UTC); !orders[0].Timestamp.Equal(want) {
			t.Errorf("timestamp %s, want processed_at %s", orders[0].Timestamp, want)
		}

		// orders/paid for the same order is the same Order Completed.
		paid := s.ok("orders/paid", "wh-paid", fixture(t, "orders_create"))
		if len(paid.Duplicates) == 0 || paid.Duplicates[len(paid.Duplicates)-1] != smsflow.EventOrderCompleted {
			t.Errorf("orders/paid: %+v, want the order deduplicated", paid)
		}
		if got := testkit.Events(t, db, cid, smsflow.EventOrderCompleted); len(got) != 1 {
			t.Errorf("%d Order Completed events after orders/paid", len(got))
		}
	})
}

// The storefront (Segment track) and Shopify both report an order: one
// Order Completed, whichever comes first, on the storefront's contact.
func TestShopifyOrderDedupesWithStorefront(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newShopifyServer(t, db, shopifySecret)
		testkit.Submit(t, s.w, testkit.Identify("ana", "", testkit.Number(t, "+1 415 555 0142"), nil))
		res := testkit.Submit(t, s.w, testkit.Track("ana", "", "Order Completed", map[string]any{"order_id": "5912345678901", "revenue": 93.31}))
		if res[0].Err != nil || res[0].Duplicate {
			t.Fatalf("storefront order: %+v", res[0])
		}
		r := s.ok("orders/create", "wh-order", fixture(t, "orders_create"))
		if r.ContactID != "ana" {
			t.Errorf("the Shopify customer with ana's number became %q, want ana", r.ContactID)
		}
		if len(r.Duplicates) != 1 || r.Duplicates[0] != smsflow.EventOrderCompleted {
			t.Errorf("result %+v, want the order deduplicated", r)
		}
		if got := testkit.Events(t, db, "ana", smsflow.EventOrderCompleted); len(got) != 1 {
			t.Errorf("%d Order Completed events, want 1", len(got))
		}
		// The Shopify customer id now points at ana.
		c, err := db.Contact(ctx, "shopify:7012345678901")
		if err != nil || c.ID != "ana" {
			t.Errorf("shopify:7012345678901 resolves to %v (%v), want ana", c, err)
		}

		// Shopify first, storefront second: the storefront's is the duplicate.
		body := strings.ReplaceAll(string(fixture(t, "orders_create")), "5912345678901", "5912345678902")
		s.ok("orders/create", "wh-order-2", []byte(body))
		res = testkit.Submit(t, s.w, testkit.Track("ana", "", "Order Completed", map[string]any{"order_id": "5912345678902"}))
		if !res[0].Duplicate {
			t.Errorf("storefront order after Shopify's: %+v, want a duplicate", res[0])
		}
		if got := testkit.Events(t, db, "ana", smsflow.EventOrderCompleted); len(got) != 2 {
			t.Errorf("%d Order Completed events, want 2", len(got))
		}
	})
}

func TestShopifyCheckouts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newShopifyServer(t, db, shopifySecret)
		const cid = "shopify:7012345678901"
		created := fixture(t, "checkouts_create")
		r := s.ok("checkouts/create", "wh-c1", created)
		if r.ContactID != cid || strings.Join(r.Events, ",") != "identify,Checkout Started" {
			t.Fatalf("checkouts/create: %+v", r)
		}
		started := testkit.Events(t, db, cid, smsflow.EventCheckoutStarted)
		if len(started) != 1 {
			t.Fatalf("%d Checkout Started", len(started))
		}
		p := started[0].Properties
		if p["value"] != 96.0 || p["currency"] != "USD" || p["checkout_id"] != "b1946ac92492d2347c6235b4d2611184" ||
			!strings.HasPrefix(p["checkout_url"].(string), "https://glow.example/9876543/checkouts/ac/") || len(p["products"].([]any)) != 2 {
			t.Errorf("Checkout Started properties %v", p)
		}

		// checkouts/update of the same, still open checkout: the same start.
		r = s.ok("checkouts/update", "wh-c2", created)
		if len(r.Duplicates) != 1 || r.Duplicates[0] != smsflow.EventCheckoutStarted {
			t.Errorf("checkouts/update: %+v", r)
		}

		// Completed without naming the order: Checkout Completed, no revenue twice.
		done := fixture(t, "checkouts_update_completed")
		r = s.ok("checkouts/update", "wh-c3", done)
		if strings.Join(r.Events, ",") != "identify,"+shopify.EventCheckoutCompleted {
			t.Errorf("completed checkout: %+v", r)
		}
		if got := testkit.Events(t, db, cid, smsflow.EventOrderCompleted); len(got) != 0 {
			t.Errorf("a checkout without its order id made %d Order Completed", len(got))
		}

		// A completed checkout that names its order ends cart recovery with
		// Order Completed, deduplicated with orders/create.
		var m map[string]any
		json.Unmarshal(done, &m)
		m["order_id"] = 5912345678901
		m["token"] = "c0ffee"
		withOrder, _ := json.Marshal(m)
		r = s.ok("checkouts/update", "wh-c4", withOrder)
		if len(r.Events) != 2 || r.Events[1] != smsflow.EventOrderCompleted {
			t.Errorf("completed checkout with order_id: %+v", r)
		}
		r = s.ok("orders/create", "wh-o1", fixture(t, "orders_create"))
		if len(r.Duplicates) != 1 {
			t.Errorf("orders/create after the completed checkout: %+v, want the order deduplicated", r)
		}
		orders := testkit.Events(t, db, cid, smsflow.EventOrderCompleted)
		if len(orders) != 1 || orders[0].Properties["order_id"] != "5912345678901" || orders[0].Properties["revenue"] != 93.31 {
			t.Errorf("Order Completed events %+v", orders)
		}
	})
}

// A guest checkout (no customer) is attributed by its phone number.
func TestShopifyGuestCheckout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newShopifyServer(t, db, shopifySecret)
		var m map[string]any
		json.Unmarshal(fixture(t, "checkouts_create"), &m)
		delete(m, "customer")
		m["phone"], m["sms_marketing_phone"] = nil, nil
		guest, _ := json.Marshal(m)
		r := s.ok("checkouts/create", "wh-g", guest)
		if r.ContactID != "phone:+14155550142" || len(testkit.Events(t, db, r.ContactID, smsflow.EventCheckoutStarted)) != 1 {
			t.Errorf("guest checkout: %+v", r)
		}
		// Nobody at all: acknowledged and ignored.
		m["shipping_address"], m["email"] = nil, nil
		nobody, _ := json.Marshal(m)
		n := countEvents(t, db)
		if r := s.ok("checkouts/create", "wh-n", nobody); r.Ignored == "" {
			t.Errorf("checkout without customer or phone: %+v, want ignored", r)
		}
		if got := countEvents(t, db); got != n {
			t.Errorf("an ignored checkout stored %d events", got-n)
		}
	})
}

func TestShopifyCustomersConsent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newShopifyServer(t, db, shopifySecret)
		const cid, bea = "shopify:7012345678955", "+12085550177"
		r := s.ok("customers/create", "wh-cc", fixture(t, "customers_create_subscribed"))
		if r.ContactID != cid || r.Consent != smsflow.ConsentSubscribed {
			t.Fatalf("customers/create: %+v", r)
		}
		c, _ := db.Contact(ctx, cid)
		if c.Phone != bea || c.Traits["first_name"] != "Bea" || c.Traits["last_name"] != "Santos" || c.Traits["email"] != "bea.santos@example.com" {
			t.Errorf("contact %+v", c)
		}
		l := testkit.Consent(t, db, bea)
		if l.Status != smsflow.ConsentSubscribed || len(l.Ledger) != 1 {
			t.Fatalf("ledger %+v", l)
		}
		e := l.Ledger[0]
		if e.Source != smsflow.SourceShopify || e.Evidence["opt_in_level"] != "single_opt_in" || e.Evidence["consent_collected_from"] != "SHOPIFY" ||
			e.Evidence["webhook_id"] != "wh-cc" || !e.OccurredAt.Equal(time.Date(2026, 11, 28, 14, 30, 1, 0, time.UTC)) {
			t.Errorf("ledger entry %+v", e)
		}
		if got := testkit.Events(t, db, cid, smsflow.EventSubscribed); len(got) != 1 || got[0].Properties["source"] != "shopify" {
			t.Errorf("Subscribed events %+v", got)
		}

		// An update that says subscribed again adds nothing.
		if r := s.ok("customers/update", "wh-cu0", fixture(t, "customers_create_subscribed")); r.Consent != "" || !strings.Contains(r.ConsentNote, "already") {
			t.Errorf("same consent again: %+v", r)
		}

		// Shopify saying unsubscribed unsubscribes.
		r = s.ok("customers/update", "wh-cu", fixture(t, "customers_update_unsubscribed"))
		if r.Consent != smsflow.ConsentUnsubscribed {
			t.Fatalf("customers/update: %+v", r)
		}
		l = testkit.Consent(t, db, bea)
		if l.Status != smsflow.ConsentUnsubscribed || len(l.Ledger) != 2 || l.Ledger[1].Source != smsflow.SourceShopify {
			t.Errorf("ledger %+v", l)
		}

		// And Shopify never resubscribes it, even with a newer date.
		var m map[string]any
		json.Unmarshal(fixture(t, "customers_create_subscribed"), &m)
		m["sms_marketing_consent"].(map[string]any)["consent_updated_at"] = "2026-11-28T09:59:00-05:00"
		again, _ := json.Marshal(m)
		r = s.ok("customers/update", "wh-cu2", again)
		if r.Consent != "" || !strings.Contains(r.ConsentNote, "never resubscribes") {
			t.Errorf("resubscribe through Shopify: %+v", r)
		}
		if l := testkit.Consent(t, db, bea); l.Status != smsflow.ConsentUnsubscribed || len(l.Ledger) != 2 {
			t.Errorf("ledger after a Shopify resubscribe %+v", l)
		}
	})
}

// A number that texted STOP stays unsubscribed whatever Shopify says.
func TestShopifyNeverResubscribes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newShopifyServer(t, db, shopifySecret)
		const bea = "+12085550177"
		testkit.Submit(t, s.w, testkit.Identify("bea", "", testkit.Number(t, bea), nil))
		for _, st := range []smsflow.ConsentStatus{smsflow.ConsentSubscribed, smsflow.ConsentUnsubscribed} {
			src := smsflow.SourceWebForm
			if st == smsflow.ConsentUnsubscribed {
				src = smsflow.SourceKeyword
			}
			if _, err := ingest.RecordConsent(ctx, db, testkit.NewClock(now.Add(-time.Hour)), "bea", ingest.ConsentChange{Status: st, Source: src,
				Evidence: map[string]any{"form": "https://glow.example/sms"}, Timestamp: now.Add(-2*time.Hour + time.Duration(len(st))*time.Minute)}, ingest.OptInOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		r := s.ok("customers/create", "wh-1", fixture(t, "customers_create_subscribed"))
		if r.ContactID != "bea" || r.Consent != "" || !strings.Contains(r.ConsentNote, "refused") {
			t.Errorf("Shopify subscribed after STOP: %+v", r)
		}
		if l := testkit.Consent(t, db, bea); l.Status != smsflow.ConsentUnsubscribed || len(l.Ledger) != 2 {
			t.Errorf("ledger %+v", l)
		}
		if got := testkit.Events(t, db, "bea", smsflow.EventSubscribed); len(got) != 1 {
			t.Errorf("%d Subscribed events, want the web form's only", len(got))
		}
	})
}

func TestShopifyUnknownTopicAndMalformed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newShopifyServer(t, db, shopifySecret)
		if r := s.ok("products/update", "wh-p", []byte(`{"id": 1, "title": "Serum"}`)); r.Ignored == "" || r.Topic != "products/update" {
			t.Errorf("unknown topic: %+v", r)
		}
		for _, c := range []struct{ topic, body, want string }{
			{"orders/create", `{"id": 1,`, "not valid JSON"},
			{"orders/create", ``, "empty"},
			{"orders/create", `[1,2]`, "JSON object"},
			{"orders/create", `{"id": 1} {"id": 2}`, "more than one"},
			{"orders/create", `{"customer": {"id": 5}, "total_price": "1.00"}`, "no id"},
			{"orders/create", `{"id": 1, "line_items": {"a": 1}}`, "line_items"},
			{"checkouts/update", `{"customer": {"id": 5}}`, "token"},
			{"customers/update", `{"email": "x@example.com"}`, "no id"},
			{"customers/update", `"just a string"`, "JSON object"},
		} {
			r := s.post(c.topic, "", []byte(c.body), "sign")
			if r.status != 400 || !strings.Contains(r.err.Message, c.want) {
				t.Errorf("%s %q: %d %s, want 400 mentioning %q", c.topic, c.body, r.status, r.raw, c.want)
			}
		}
		if r := s.post("", "", []byte(`{}`), "sign"); r.status != 400 || r.err.Field != shopify.TopicHeader {
			t.Errorf("no topic: %d %s", r.status, r.raw)
		}
		if n := countEvents(t, db); n != 0 {
			t.Errorf("%d events stored from refused deliveries", n)
		}
	})
}

func TestDecideShopifyConsent(t *testing.T) {
	at := now
	older := &smsflow.ConsentEntry{Status: smsflow.ConsentSubscribed, OccurredAt: at.Add(-time.Hour)}
	newer := &smsflow.ConsentEntry{Status: smsflow.ConsentSubscribed, OccurredAt: at.Add(time.Hour)}
	stop := &smsflow.ConsentEntry{Status: smsflow.ConsentUnsubscribed, Source: smsflow.SourceAPI, OccurredAt: at.Add(-time.Hour)}
	for _, c := range []struct {
		name   string
		before smsflow.ConsentStatus
		latest *smsflow.ConsentEntry
		state  string
		want   smsflow.ConsentStatus
	}{
		{"new subscriber", smsflow.ConsentNone, nil, "subscribed", smsflow.ConsentSubscribed},
		{"pending confirmed", smsflow.ConsentPending, &smsflow.ConsentEntry{Status: smsflow.ConsentPending, OccurredAt: at.Add(-time.Minute)}, "subscribed", smsflow.ConsentSubscribed},
		{"already subscribed", smsflow.ConsentSubscribed, older, "subscribed", ""},
		{"opted out by any source", smsflow.ConsentUnsubscribed, stop, "subscribed", ""},
		{"unsubscribe", smsflow.ConsentSubscribed, older, "unsubscribed", smsflow.ConsentUnsubscribed},
		{"an unsubscribe is never stale", smsflow.ConsentSubscribed, newer, "unsubscribed", smsflow.ConsentUnsubscribed},
		{"stale subscribe", smsflow.ConsentPending, &smsflow.ConsentEntry{Status: smsflow.ConsentPending, OccurredAt: at.Add(time.Hour)}, "subscribed", ""},
		{"already unsubscribed", smsflow.ConsentUnsubscribed, stop, "unsubscribed", ""},
		{"not_subscribed changes nothing", smsflow.ConsentSubscribed, older, "not_subscribed", ""},
		{"pending changes nothing", smsflow.ConsentNone, nil, "pending", ""},
		{"redacted changes nothing", smsflow.ConsentSubscribed, older, "redacted", ""},
	} {
		got, why := shopify.DecideConsent(c.before, c.latest, shopify.Consent{State: c.state}, at)
		if got != c.want || (got == "" && why == "") {
			t.Errorf("%s: %q (%s), want %q", c.name, got, why, c.want)
		}
	}
}
