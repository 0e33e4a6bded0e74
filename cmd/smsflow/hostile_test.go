package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/provider/twilio"
	"github.com/smsflow/smsflow/store/storetest"
)

// hostileIDs are ingestion calls whose only fault is one identifier: a NUL
// (PostgreSQL refuses it in text and jsonb, SQLite stores it) or a length
// past any index row (PostgreSQL's btree limit is about 2,700 bytes). Each
// must answer 400 naming the field, on both databases.
var hostileIDs = []struct {
	kind, item, field string
}{
	{"track", `"userId":"ana\u0000x","event":"E"`, "userId"},
	{"track", `"userId":"u1","event":"Order\u0000Completed"`, "event"},
	{"track", `"userId":"u1","event":"E","messageId":"m\u0000"`, "messageId"},
	{"track", `"anonymousId":"anon\u0000","event":"E"`, "anonymousId"},
	{"track", `"userId":"u1","event":"Order Completed","properties":{"order_id":"o-1\u0000"}`, "properties.order_id"},
	{"page", `"userId":"u1","name":"Home\u0000"`, "name"},
	{"alias", `"userId":"u1","previousId":"old\u0000"`, "previousId"},
	{"group", `"userId":"u1","groupId":"g\u0000"`, "groupId"},
	{"identify", `"userId":"` + incompressible(9000) + `"`, "userId"},
	{"track", `"userId":"u1","event":"Order Completed","properties":{"order_id":"` + incompressible(9000) + `"}`, "properties.order_id"},
	{"track", `"userId":"u1","event":"E","originalTimestamp":"1900-01-02T00:00:00Z","sentAt":"2099-12-30T00:00:00Z"`, "originalTimestamp"},
}

// incompressible returns n hex digits that PostgreSQL cannot compress into
// an index row (a run of one letter would fit).
func incompressible(n int) string {
	var b strings.Builder
	sum := sha256.Sum256([]byte("seed"))
	for b.Len() < n {
		b.WriteString(hex.EncodeToString(sum[:]))
		sum = sha256.Sum256(sum[:])
	}
	return b.String()[:n]
}

// TestHostileInputSameOnBothDatabases sends the inputs of issue 16 items 3,
// 7, 9 and 10 through the real app: each refused with a 400 naming the field
// (never a 5xx), the good items of a batch stored around the bad ones, free
// text cleaned rather than refused, and the same answers on SQLite and
// PostgreSQL.
func TestHostileInputSameOnBothDatabases(t *testing.T) {
	for kind, dsn := range storetest.DSNs(t) {
		t.Run(kind, func(t *testing.T) {
			w := startProviderWorld(t, dsn, config.Default())
			u, wk, ak := w.app.URL(), "basic:wk_p", "bearer:ak_p"

			// A single call: 400 naming the field.
			for _, h := range hostileIDs {
				r := call(t, "POST", u+"/v1/"+h.kind, wk, "{"+h.item+"}")
				if r.status != 400 || r.errCode() != "invalid" || r.errField() != h.field {
					t.Errorf("POST /v1/%s {%.60s…}: %d %.300s, want 400 invalid naming %s", h.kind, h.item, r.status, r.raw, h.field)
				}
			}

			// A batch: one error per bad item, every good item stored.
			var items []string
			var good []string
			for i, h := range hostileIDs {
				id := fmt.Sprintf("good-%d", i)
				good = append(good, id)
				items = append(items, fmt.Sprintf(`{"type":"identify","userId":%q,"traits":{"n":%d}}`, id, i))
				items = append(items, `{"type":"`+h.kind+`",`+h.item+`}`)
			}
			r := call(t, "POST", u+"/v1/batch", wk, `{"batch":[`+strings.Join(items, ",")+`]}`)
			if r.status != 200 {
				t.Fatalf("batch: %d %.500s", r.status, r.raw)
			}
			errs, _ := r.body["errors"].([]any)
			if len(errs) != len(hostileIDs) {
				t.Fatalf("batch listed %d errors, want %d: %.2000s", len(errs), len(hostileIDs), r.raw)
			}
			for i, x := range errs {
				e := x.(map[string]any)
				if e["index"] != float64(2*i+1) || e["field"] != hostileIDs[i].field || e["code"] != "invalid" {
					t.Errorf("batch error %d: %v, want index %d field %s", i, e, 2*i+1, hostileIDs[i].field)
				}
			}
			for _, id := range good {
				if r := call(t, "GET", u+"/v1/contacts/"+id, ak, ""); r.status != 200 {
					t.Errorf("good batch item %s not stored: %d %.200s", id, r.status, r.raw)
				}
			}

			// Free text is cleaned, not refused: NUL and other control
			// characters leave values and keys of traits, properties and
			// context (newline and tab stay).
			r = call(t, "POST", u+"/v1/identify", wk, `{"userId":"clean","traits":{"first\u0000name":"A\u0000na\u001b","note":"a\tb\nc"},"context":{"page":{"title":"T\u0000"}}}`)
			if r.status != 200 {
				t.Fatalf("identify with NUL in traits: %d %s", r.status, r.raw)
			}
			r = call(t, "GET", u+"/v1/contacts/clean", ak, "")
			traits, _ := r.body["traits"].(map[string]any)
			if traits["firstname"] != "Ana" || traits["note"] != "a\tb\nc" {
				t.Errorf("traits stored as %v, want firstname Ana and the note kept", traits)
			}

			// Numeric order ids beyond 2^53 stay distinct orders.
			for _, id := range []string{"12345678901234567890", "12345678901234567891"} {
				r := call(t, "POST", u+"/v1/track", wk, `{"userId":"big","event":"Order Completed","properties":{"order_id":`+id+`}}`)
				if r.status != 200 {
					t.Fatalf("order %s: %d %s", id, r.status, r.raw)
				}
			}
			if evs := w.timeline("big", "event"); len(evs) != 2 {
				t.Errorf("two orders with ids above 2^53 stored as %v, want two Order Completed events", evs)
			}

			// STOP followed by a NUL unsubscribes, like STOP.
			const stopper = "+14155550177"
			if r := call(t, "POST", u+"/v1/identify", wk, `{"userId":"stopper","traits":{"phone":"`+stopper+`"}}`); r.status != 200 {
				t.Fatalf("identify stopper: %d %s", r.status, r.raw)
			}
			if r := call(t, "POST", u+"/v1/contacts/stopper/consent", ak, `{"status":"subscribed","source":"web_form","evidence":{"url":"https://glow.example/join\u0000"}}`); r.status != 201 {
				t.Fatalf("opt in with a NUL in the evidence: %d %s", r.status, r.raw)
			}
			r = call(t, "POST", u+"/v1/console/inbound", ak, `{"from":"`+stopper+`","body":"STOP\u0000"}`)
			if r.status != 201 || r.body["keyword"] != "stop" {
				t.Errorf(`console inbound "STOP\u0000": %d %s, want 201 and keyword stop`, r.status, r.raw)
			}
			if got := w.consent("stopper"); !slices.Equal(got, []string{"subscribed/web_form", "unsubscribed/keyword"}) {
				t.Errorf("ledger after STOP\\u0000: %v", got)
			}

			// Identifiers in URLs: 400 (the API) or the friendly page (links).
			for _, p := range []string{"/v1/contacts/ab%00cd", "/v1/contacts/ab%00cd/timeline", "/v1/messages?contact=ab%00cd", "/v1/messages?flow=%C0%AF"} {
				if r := call(t, "GET", u+p, ak, ""); r.status != 400 || r.errCode() != "invalid" {
					t.Errorf("GET %s: %d %s, want 400 invalid", p, r.status, r.raw)
				}
			}
			if r := call(t, "POST", u+"/v1/contacts/ab%00cd/consent", ak, `{"status":"subscribed","source":"api"}`); r.status != 400 {
				t.Errorf("POST consent to a NUL id: %d %s, want 400", r.status, r.raw)
			}
			if r := call(t, "GET", u+"/l/ab%00cdef", "", ""); r.status != 404 || !strings.Contains(r.raw, "<!doctype html>") {
				t.Errorf("GET /l/ab%%00cdef: %d %.200s, want the friendly 404 page", r.status, r.raw)
			}

			// A flow body with a NUL (raw, or escaped in a YAML string) is
			// never a 5xx.
			flow := "id: nul\ncategory: service\ntrigger:\n  event: E\nsteps:\n  - send: \"Hi\\0 there\\x01\"\n"
			for _, body := range []string{flow, strings.Replace(flow, "Hi", "Hi\x00", 1), strings.Replace(flow, "Hi", "Hi\xff", 1)} {
				if r := call(t, "PUT", u+"/v1/flows/nul", ak, body, "Content-Type", "application/yaml"); r.status >= 500 {
					t.Errorf("PUT a flow %q: %d %s", body, r.status, r.raw)
				}
			}
		})
	}
}

// TestTwilioHostileInboundSameOnBothDatabases posts Twilio's form with
// Body=STOP%00 and ids holding a NUL: STOP unsubscribes on both databases,
// and nothing answers 500 (Twilio would retry it forever).
func TestTwilioHostileInboundSameOnBothDatabases(t *testing.T) {
	for kind, dsn := range storetest.DSNs(t) {
		t.Run(kind, func(t *testing.T) {
			fake := newFakeTwilioAPI(t)
			cfg := config.Default()
			cfg.Provider = "twilio"
			cfg.Twilio.AccountSID, cfg.Twilio.AuthToken, cfg.Twilio.From, cfg.Twilio.APIBase = fakeSID, fakeToken, fakeFrom, fake.URL()
			w := startProviderWorld(t, dsn, cfg)
			const ana = "+14155550100"
			if r := call(t, "POST", w.app.URL()+"/v1/identify", "basic:wk_p", `{"userId":"ana","traits":{"phone":"`+ana+`"}}`); r.status != 200 {
				t.Fatalf("identify: %d %s", r.status, r.raw)
			}
			in := url.Values{"MessageSid": {"SMnul1"}, "AccountSid": {fakeSID}, "From": {ana}, "To": {fakeFrom}, "Body": {"STOP\x00"}}
			if r := w.twilioCallback(twilio.InboundPath, in, true); r.status != 200 {
				t.Errorf("inbound Body=STOP%%00: %d %s", r.status, r.raw)
			}
			if got := w.consent("ana"); !slices.Equal(got, []string{"unsubscribed/keyword"}) {
				t.Errorf("ledger after Body=STOP%%00: %v, want one keyword opt-out", got)
			}
			in = url.Values{"MessageSid": {"SM\x00x"}, "AccountSid": {fakeSID}, "From": {ana}, "To": {fakeFrom}, "Body": {"hello"}}
			if r := w.twilioCallback(twilio.InboundPath, in, true); r.status >= 500 {
				t.Errorf("inbound MessageSid with a NUL: %d %s", r.status, r.raw)
			}
			cb := url.Values{"MessageSid": {"SM\x00y"}, "MessageStatus": {"delivered"}, "AccountSid": {fakeSID}}
			if r := w.twilioCallback(twilio.StatusPath, cb, true); r.status >= 500 {
				t.Errorf("status callback MessageSid with a NUL: %d %s", r.status, r.raw)
			}
		})
	}
}
