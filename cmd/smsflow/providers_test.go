package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/provider/httpgw"
	"github.com/smsflow/smsflow/provider/twilio"
	"github.com/smsflow/smsflow/provider/twilio/twiliotest"
	"github.com/smsflow/smsflow/store/storetest"
)

const (
	fakeSID    = "AC0123456789abcdef0123456789abcdef"
	fakeToken  = "0123456789abcdef0123456789abcdef"
	fakeFrom   = "+15005550006"
	fakePublic = "https://sms.test.example" // what Twilio calls; smsflow sits behind it
	gwSecret   = "gateway-secret-0123456789"
)

// deliveryFlow thanks for an order, waits for the thank-you to be
// delivered (the receipt's event), then says so: a flow that can only
// finish if receipts reach the engine.
const deliveryFlow = `id: order-thanks
category: service
trigger:
  event: Order Completed
steps:
  - id: thanks
    send: "Thanks for your order {{ event.properties.order_id }}!"
  - wait: {event: Message Delivered, timeout: 1d}
  - id: arrived
    send: "Glad it reached you."
`

// providerWorld is smsflow started in-process (the serve wiring) against a
// fake provider on loopback.
type providerWorld struct {
	t        *testing.T
	app      *app
	outcomes chan smsflow.Message
	seen     []smsflow.Message
}

// startProviderWorld starts the app with cfg's provider settings, a flows
// directory holding deliveryFlow, and a fast retry.
func startProviderWorld(t *testing.T, dsn string, cfg config.Config) *providerWorld {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "order-thanks.yaml"), []byte(deliveryFlow), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.DB, cfg.Addr, cfg.Flows = dsn, "127.0.0.1:0", dir
	cfg.WriteKey, cfg.ServerKey, cfg.AdminKey = "wk_p", "sk_p", "ak_p"
	cfg.PublicURL = fakePublic
	w := &providerWorld{t: t, outcomes: make(chan smsflow.Message, 1000)}
	log := slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := startAppWith(context.Background(), cfg, log, appOptions{
		Retry:     &delivery.Retry{Base: time.Millisecond, Max: 5 * time.Millisecond, Attempts: 3},
		OnOutcome: func(m smsflow.Message) { w.outcomes <- m },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop)
	w.app = a
	return w
}

// order identifies a contact with a phone and tracks an order for it.
func (w *providerWorld) order(user, phone, orderID string) {
	w.t.Helper()
	u := w.app.URL()
	if r := call(w.t, "POST", u+"/v1/identify", "basic:sk_p", fmt.Sprintf(`{"userId":%q,"traits":{"phone":%q}}`, user, phone)); r.status != 200 {
		w.t.Fatalf("identify: %d %s", r.status, r.raw)
	}
	if r := call(w.t, "POST", u+"/v1/track", "basic:sk_p", fmt.Sprintf(`{"userId":%q,"event":"Order Completed","properties":{"order_id":%q}}`, user, orderID)); r.status != 200 {
		w.t.Fatalf("track: %d %s", r.status, r.raw)
	}
}

// outcome waits for the sender to record a message of the contact's step
// in the given status.
//
// Asking for "sent" also accepts "delivered": a receipt that arrived before
// the sender recorded the provider's id is applied in the same write, so the
// sender reports the message already delivered.
func (w *providerWorld) outcome(contact, step, status string) smsflow.Message {
	w.t.Helper()
	match := func(m smsflow.Message) bool {
		return m.ContactID == contact && m.StepID == step &&
			(m.Status == status || (status == smsflow.MessageSent && m.Status == smsflow.MessageDelivered))
	}
	for _, m := range w.seen {
		if match(m) {
			return m
		}
	}
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case m := <-w.outcomes:
			w.seen = append(w.seen, m)
			if match(m) {
				return m
			}
		case <-timeout.C:
			w.t.Fatalf("no %s outcome for %s/%s; seen %+v", status, contact, step, w.seen)
		}
	}
}

// receiptsApplied waits until the receipts the app has answered for are
// applied (they are stored first, applied behind: D88).
func (w *providerWorld) receiptsApplied() {
	w.t.Helper()
	if err := w.app.events.Flush(context.Background()); err != nil {
		w.t.Fatal(err)
	}
}

// message reads a message back through GET /v1/messages.
func (w *providerWorld) message(contact string, id int64) map[string]any {
	w.t.Helper()
	r := call(w.t, "GET", w.app.URL()+"/v1/messages?contact="+url.QueryEscape(contact), "bearer:ak_p", "")
	msgs, _ := r.body["messages"].([]any)
	for _, x := range msgs {
		m := x.(map[string]any)
		if int64(m["id"].(float64)) == id {
			return m
		}
	}
	w.t.Fatalf("message %d of %s not in GET /v1/messages: %s", id, contact, r.raw)
	return nil
}

// timeline returns the names of a contact's timeline items of one type.
func (w *providerWorld) timeline(contact, typ string) []string {
	w.t.Helper()
	r := call(w.t, "GET", w.app.URL()+"/v1/contacts/"+url.PathEscape(contact)+"/timeline", "bearer:ak_p", "")
	items, _ := r.body["items"].([]any)
	var out []string
	for _, x := range items {
		it := x.(map[string]any)
		if it["type"] == typ {
			out = append(out, it["name"].(string))
		}
	}
	return out
}

// consent returns the contact's consent ledger as "status/source".
func (w *providerWorld) consent(contact string) []string {
	w.t.Helper()
	r := call(w.t, "GET", w.app.URL()+"/v1/contacts/"+url.PathEscape(contact), "bearer:ak_p", "")
	c, _ := r.body["consent"].(map[string]any)
	ledger, _ := c["ledger"].([]any)
	var out []string
	for _, x := range ledger {
		e := x.(map[string]any)
		out = append(out, fmt.Sprintf("%s/%s", e["status"], e["source"]))
	}
	return out
}

// post sends a webhook form or body to the app.
func (w *providerWorld) post(path, contentType, body string, hdr ...string) reply {
	w.t.Helper()
	return call(w.t, "POST", w.app.URL()+path, "", body, append([]string{"Content-Type", contentType}, hdr...)...)
}

// newFakeTwilioAPI starts the fake Messages API (twiliotest) for the test
// account; it closes when the test ends.
func newFakeTwilioAPI(t *testing.T) *twiliotest.Server {
	t.Helper()
	f, err := twiliotest.Start(twiliotest.Config{AccountSID: fakeSID, AuthToken: fakeToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

// sentTo returns the forms posted to the fake for one number.
func sentTo(f *twiliotest.Server, to string) []url.Values {
	var out []url.Values
	for _, v := range f.Forms() {
		if v.Get("To") == to {
			out = append(out, v)
		}
	}
	return out
}

// twilioCallback posts a form to a Twilio webhook of the app, signed as
// Twilio signs it for public_url + path (unsigned when sign is false).
func (w *providerWorld) twilioCallback(path string, form url.Values, sign bool) reply {
	w.t.Helper()
	var hdr []string
	if sign {
		hdr = []string{twilio.SignatureHeader, twilio.Sign(fakeToken, fakePublic+path, form)}
	}
	return w.post(path, "application/x-www-form-urlencoded", form.Encode(), hdr...)
}

func TestTwilioProviderEndToEnd(t *testing.T) {
	for kind, dsn := range storetest.DSNs(t) {
		t.Run(kind, func(t *testing.T) {
			fake := newFakeTwilioAPI(t)
			const bob, cy, dee = "+14155550101", "+14155550102", "+14155550103"
			fake.Script(bob, twiliotest.Error(429, 20429, "Too Many Requests"))
			fake.Script(cy, twiliotest.Error(400, 21610, "Attempt to send to unsubscribed recipient"))
			fake.Script(dee, twiliotest.Error(400, 21211, "The 'To' number is not a valid phone number."))
			cfg := config.Default()
			cfg.Provider = "twilio"
			cfg.Twilio.AccountSID, cfg.Twilio.AuthToken, cfg.Twilio.From, cfg.Twilio.APIBase = fakeSID, fakeToken, fakeFrom, fake.URL()
			w := startProviderWorld(t, dsn, cfg)
			if !slices.Equal(w.app.webhooks, []string{twilio.InboundPath, twilio.StatusPath}) {
				t.Errorf("webhooks mounted: %v", w.app.webhooks)
			}

			// A send arrives at Twilio with the right form.
			const ana = "+14155550100"
			w.order("ana", ana, "1001")
			sent := w.outcome("ana", "thanks", smsflow.MessageSent)
			forms := sentTo(fake, ana)
			if len(forms) != 1 {
				t.Fatalf("Twilio got %d requests for ana, want 1", len(forms))
			}
			f := forms[0]
			if f.Get("From") != fakeFrom || f.Get("Body") != "Thanks for your order 1001!" || f.Get("StatusCallback") != fakePublic+twilio.StatusPath+"?m="+strconv.FormatInt(sent.ID, 10) || f.Has("MessagingServiceSid") {
				t.Errorf("form %v", f)
			}
			if reqs := fake.Requests(); sent.Provider != "twilio" || len(reqs) != 1 || sent.ProviderID != reqs[0].SID || reqs[0].To != ana {
				t.Errorf("sent as %s/%s", sent.Provider, sent.ProviderID)
			}

			// An unsigned (or wrongly signed) callback is refused and changes nothing.
			cb := url.Values{"MessageSid": {sent.ProviderID}, "MessageStatus": {"delivered"}, "AccountSid": {fakeSID}}
			if r := w.twilioCallback(twilio.StatusPath, cb, false); r.status != 403 {
				t.Errorf("unsigned status callback: %d %s", r.status, r.raw)
			}
			if r := w.post(twilio.StatusPath, "application/x-www-form-urlencoded", cb.Encode(), twilio.SignatureHeader, "bm90IGEgc2lnbmF0dXJl"); r.status != 403 {
				t.Errorf("wrongly signed status callback: %d", r.status)
			}
			if m := w.message("ana", sent.ID); m["status"] != smsflow.MessageSent {
				t.Errorf("status after refused callbacks: %v", m["status"])
			}
			// The signed one marks it delivered and emits Message Delivered,
			// which the waiting run takes to its next send.
			if r := w.twilioCallback(twilio.StatusPath, cb, true); r.status != 204 {
				t.Fatalf("signed status callback: %d %s", r.status, r.raw)
			}
			w.receiptsApplied()
			if m := w.message("ana", sent.ID); m["status"] != smsflow.MessageDelivered {
				t.Errorf("status after the callback: %v", m["status"])
			}
			if evs := w.timeline("ana", "event"); !slices.Contains(evs, smsflow.EventMessageDelivered) {
				t.Errorf("timeline events %v, want Message Delivered", evs)
			}
			w.outcome("ana", "arrived", smsflow.MessageSent)
			// A late "sent" never moves it back.
			late := url.Values{"MessageSid": {sent.ProviderID}, "MessageStatus": {"sent"}}
			if r := w.twilioCallback(twilio.StatusPath, late, true); r.status != 204 {
				t.Errorf("late callback: %d", r.status)
			}
			w.receiptsApplied()
			if m := w.message("ana", sent.ID); m["status"] != smsflow.MessageDelivered {
				t.Errorf("status after a late sent: %v", m["status"])
			}

			// 429, then 201: retried, and sent once.
			w.order("bob", bob, "1002")
			w.outcome("bob", "thanks", smsflow.MessageQueued)
			bobSent := w.outcome("bob", "thanks", smsflow.MessageSent)
			if n := len(sentTo(fake, bob)); n != 2 {
				t.Errorf("Twilio got %d requests for bob, want 2 (429, then 201)", n)
			}
			if m := w.message("bob", bobSent.ID); m["status"] != smsflow.MessageSent || m["error_code"] != nil && m["error_code"] != "" {
				t.Errorf("bob's message after the retry: %v", m)
			}

			// 21610: failed, and the number opted out with the carrier.
			w.order("cy", cy, "1003")
			failed := w.outcome("cy", "thanks", smsflow.MessageFailed)
			if m := w.message("cy", failed.ID); m["error_code"] != "21610" {
				t.Errorf("cy's message: %v", m)
			}
			if got := w.consent("cy"); !slices.Equal(got, []string{"unsubscribed/carrier"}) {
				t.Errorf("cy's consent ledger %v, want one carrier opt-out", got)
			}
			if ds := w.timeline("cy", "decision"); !slices.Contains(ds, "failed:provider(code=21610)") {
				t.Errorf("cy's decisions %v", ds)
			}

			// 21211: failed, the number marked invalid, and not tried again.
			w.order("dee", dee, "1004")
			w.outcome("dee", "thanks", smsflow.MessageFailed)
			r := call(t, "GET", w.app.URL()+"/v1/contacts/dee", "bearer:ak_p", "")
			if r.body["phone_type"] != "invalid" {
				t.Errorf("dee's contact after 21211: %s", r.raw)
			}
			if ds := w.timeline("dee", "decision"); !slices.Contains(ds, "failed:provider(code=21211)") {
				t.Errorf("dee's decisions %v", ds)
			}
			if n := len(sentTo(fake, dee)); n != 1 {
				t.Errorf("Twilio got %d requests for dee, want 1", n)
			}

			// Inbound: unsigned 403; signed STOP recorded, no confirmation
			// from smsflow (opt_out_replies: twilio, Twilio answers).
			in := url.Values{"MessageSid": {"SMin1"}, "AccountSid": {fakeSID}, "From": {bob}, "To": {fakeFrom}, "Body": {"STOP"}, "NumMedia": {"0"}}
			if r := w.twilioCallback(twilio.InboundPath, in, false); r.status != 403 {
				t.Errorf("unsigned inbound: %d", r.status)
			}
			if r := w.twilioCallback(twilio.InboundPath, in, true); r.status != 200 || !strings.Contains(r.raw, "<Response/>") {
				t.Errorf("signed inbound: %d %s", r.status, r.raw)
			}
			if got := w.consent("bob"); !slices.Equal(got, []string{"unsubscribed/keyword"}) {
				t.Errorf("bob's ledger after STOP: %v", got)
			}
			msgs := call(t, "GET", w.app.URL()+"/v1/messages?contact=bob", "bearer:ak_p", "")
			for _, x := range msgs.body["messages"].([]any) {
				if m := x.(map[string]any); m["direction"] == "out" && m["step_id"] != "thanks" {
					t.Errorf("smsflow queued a reply to STOP: %v", m)
				}
			}
			if p := fake.Problems(); len(p) > 0 {
				t.Errorf("fake Twilio saw bad requests: %v", p)
			}
		})
	}
}

// fakeGateway is a loopback generic HTTP gateway: it checks each request's
// signature, records the JSON, and answers from a per-number script (then
// 200 with an id).
type fakeGateway struct {
	*httptest.Server
	mu       sync.Mutex
	sends    []map[string]any
	script   map[string][]int // HTTP statuses by "to", consumed in order
	problems []string
	// before, when set for a "to", runs before the gateway answers the
	// send, with the id it is about to answer.
	before map[string]func(id string)
}

func newFakeGateway(t *testing.T) *fakeGateway {
	f := &fakeGateway{script: map[string][]int{}, before: map[string]func(string){}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get(httpgw.TimestampHeader), 10, 64)
		if r.Header.Get(httpgw.SignatureHeader) != httpgw.Sign(gwSecret, ts, body) {
			f.problems = append(f.problems, "bad signature")
			w.WriteHeader(401)
			return
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			f.problems = append(f.problems, err.Error())
		}
		f.sends = append(f.sends, m)
		to, _ := m["to"].(string)
		if s := f.script[to]; len(s) > 0 {
			f.script[to] = s[1:]
			w.WriteHeader(s[0])
			fmt.Fprintf(w, `{"error":"scripted %d"}`, s[0])
			return
		}
		id := fmt.Sprintf("gw-%s", m["id"])
		if hook := f.before[to]; hook != nil {
			hook(id)
		}
		fmt.Fprintf(w, `{"id":%q}`, id)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeGateway) sentTo(to string) []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []map[string]any
	for _, m := range f.sends {
		if m["to"] == to {
			out = append(out, m)
		}
	}
	return out
}

// gatewayCallback posts JSON to a gateway webhook, signed with the shared
// secret (unsigned when sign is false).
func (w *providerWorld) gatewayCallback(path, body string, sign bool) reply {
	w.t.Helper()
	var hdr []string
	if sign {
		ts := time.Now().Unix()
		hdr = []string{httpgw.TimestampHeader, strconv.FormatInt(ts, 10), httpgw.SignatureHeader, httpgw.Sign(gwSecret, ts, []byte(body))}
	}
	return w.post(path, "application/json", body, hdr...)
}

func TestHTTPGatewayProviderEndToEnd(t *testing.T) {
	for kind, dsn := range storetest.DSNs(t) {
		t.Run(kind, func(t *testing.T) {
			fake := newFakeGateway(t)
			const ana, bob, cy = "+14155550100", "+14155550101", "+14155550102"
			fake.script[bob] = []int{429}
			fake.script[cy] = []int{400}
			cfg := config.Default()
			cfg.Provider = "http"
			cfg.HTTP.URL, cfg.HTTP.Secret = fake.URL+"/send", gwSecret
			w := startProviderWorld(t, dsn, cfg)
			if !slices.Equal(w.app.webhooks, []string{httpgw.InboundPath, httpgw.StatusPath}) {
				t.Errorf("webhooks mounted: %v", w.app.webhooks)
			}

			w.order("ana", ana, "2001")
			sent := w.outcome("ana", "thanks", smsflow.MessageSent)
			sends := fake.sentTo(ana)
			if len(sends) != 1 || sends[0]["body"] != "Thanks for your order 2001!" || sends[0]["id"] != strconv.FormatInt(sent.ID, 10) ||
				sends[0]["status_url"] != fakePublic+httpgw.StatusPath || sends[0]["encoding"] != "GSM-7" || sends[0]["segments"] != 1.0 {
				t.Errorf("gateway got %v", sends)
			}
			report := fmt.Sprintf(`{"id":%q,"status":"delivered"}`, sent.ProviderID)
			if r := w.gatewayCallback(httpgw.StatusPath, report, false); r.status != 401 {
				t.Errorf("unsigned report: %d", r.status)
			}
			if r := w.gatewayCallback(httpgw.StatusPath, report, true); r.status != 204 {
				t.Fatalf("signed report: %d %s", r.status, r.raw)
			}
			w.receiptsApplied()
			if m := w.message("ana", sent.ID); m["status"] != smsflow.MessageDelivered {
				t.Errorf("status after the report: %v", m["status"])
			}
			w.outcome("ana", "arrived", smsflow.MessageSent)

			// 429 then 200: retried with the same id, sent once.
			w.order("bob", bob, "2002")
			bobSent := w.outcome("bob", "thanks", smsflow.MessageSent)
			if got := fake.sentTo(bob); len(got) != 2 || got[0]["id"] != got[1]["id"] || got[0]["id"] != strconv.FormatInt(bobSent.ID, 10) {
				t.Errorf("gateway got %v for bob, want the same message twice", got)
			}

			// A 4xx is permanent: failed with the HTTP status as code, no retry.
			w.order("cy", cy, "2003")
			failed := w.outcome("cy", "thanks", smsflow.MessageFailed)
			if m := w.message("cy", failed.ID); m["error_code"] != "400" {
				t.Errorf("cy's message: %v", m)
			}
			if ds := w.timeline("cy", "decision"); !slices.Contains(ds, "failed:provider(code=400)") {
				t.Errorf("cy's decisions %v", ds)
			}
			if n := len(fake.sentTo(cy)); n != 1 {
				t.Errorf("gateway got %d requests for cy, want 1", n)
			}

			// A report that overtakes the send's answer (the gateway calls
			// back before smsflow has recorded its id) is kept and applied
			// when the id is recorded.
			const dan = "+14155550103"
			fake.before[dan] = func(id string) {
				delete(fake.before, dan) // once (the fake holds its lock)
				if r := w.gatewayCallback(httpgw.StatusPath, fmt.Sprintf(`{"id":%q,"status":"delivered"}`, id), true); r.status != 204 {
					t.Errorf("early report: %d %s", r.status, r.raw)
				}
			}
			w.order("dan", dan, "2004")
			danSent := w.outcome("dan", "thanks", smsflow.MessageSent)
			if danSent.ProviderID != "gw-"+strconv.FormatInt(danSent.ID, 10) {
				t.Errorf("dan's message %+v", danSent)
			}
			w.receiptsApplied()
			if m := w.message("dan", danSent.ID); m["status"] != smsflow.MessageDelivered {
				t.Errorf("dan's message after its early report: %v, want delivered", m["status"])
			}
			w.outcome("dan", "arrived", smsflow.MessageSent)

			// Inbound: signed STOP goes through keyword handling; with the
			// http provider smsflow sends the confirmation itself.
			in := `{"from":"+14155550101","to":"12345","body":"STOP","id":"gw-in-1"}`
			if r := w.gatewayCallback(httpgw.InboundPath, in, false); r.status != 401 {
				t.Errorf("unsigned inbound: %d", r.status)
			}
			if r := w.gatewayCallback(httpgw.InboundPath, in, true); r.status != 204 {
				t.Fatalf("signed inbound: %d %s", r.status, r.raw)
			}
			if got := w.consent("bob"); !slices.Equal(got, []string{"unsubscribed/keyword"}) {
				t.Errorf("bob's ledger after STOP: %v", got)
			}
			w.outcome("bob", "keyword:stop", smsflow.MessageSent)
			fake.mu.Lock()
			if len(fake.problems) > 0 {
				t.Errorf("fake gateway saw bad requests: %v", fake.problems)
			}
			fake.mu.Unlock()
		})
	}
}

func TestProviderConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*config.Config)
		want []string
	}{
		{"unknown", func(c *config.Config) { c.Provider = "nexmo" }, []string{`provider "nexmo" is not one of console, twilio, smpp, http`}},
		{"twilio empty", func(c *config.Config) { c.Provider = "twilio" },
			[]string{"provider twilio is not configured correctly", "twilio.account_sid is empty", "twilio.auth_token is empty", "set twilio.from", "public_url"}},
		{"twilio api key", func(c *config.Config) {
			c.Provider, c.PublicURL = "twilio", fakePublic
			c.Twilio.AccountSID, c.Twilio.AuthToken, c.Twilio.From = "SK0123", "x", fakeFrom
		}, []string{"twilio.account_sid must be \"AC\""}},
		{"http", func(c *config.Config) { c.Provider = "http"; c.PublicURL = fakePublic }, []string{"http.url", "http.secret is empty"}},
		{"smpp", func(c *config.Config) { c.Provider = "smpp" }, []string{"smpp.addr"}},
		{"twilio reconcile_after", func(c *config.Config) {
			c.Provider, c.PublicURL = "twilio", fakePublic
			c.Twilio.AccountSID, c.Twilio.AuthToken, c.Twilio.From, c.Twilio.ReconcileAfter = fakeSID, fakeToken, fakeFrom, "soon"
		}, []string{`twilio.reconcile_after is "soon"`}},
		{"smpp on_unknown", func(c *config.Config) { c.Provider, c.SMPP.OnUnknown = "smpp", "retry" }, []string{`smpp.on_unknown is "retry"`, "hold", "resend"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			tc.edit(&cfg)
			_, err := newProvider(cfg, nil, slog.New(slog.DiscardHandler))
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}
