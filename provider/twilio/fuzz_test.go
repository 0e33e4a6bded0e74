package twilio

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/smsflow/smsflow"
)

// FuzzVerify checks that Verify never panics, accepts what Sign produced for
// the same input, and rejects it once a value changes.
func FuzzVerify(f *testing.F) {
	f.Add(docToken, docURL, docParams("+14158675309").Encode(), "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
	f.Add("t", "http://[::1]:80/p?q", "a=1&a=2&b=", "")
	f.Add("t", "https://u:p@h:443", "%zz", "====")
	f.Add("", "", "", "")
	f.Fuzz(func(t *testing.T, token, rawURL, body, sig string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			form = url.Values{}
		}
		_ = Verify(token, rawURL, form, sig)
		if token == "" {
			return
		}
		good := Sign(token, rawURL, form)
		if !Verify(token, rawURL, form, good) {
			t.Fatalf("Verify rejects Sign's own signature for %q %q", rawURL, body)
		}
		changed := url.Values{"zzz": {"tail"}} // a name sorted last, so the signed string grows
		for k, vs := range form {
			changed[k] = vs
		}
		if _, had := form["zzz"]; !had && Verify(token, rawURL, changed, good) {
			t.Fatalf("Verify accepts a form with an added parameter")
		}
	})
}

// FuzzWebhooks posts arbitrary bodies, correctly signed when they parse as a
// form, to both webhooks: the handlers must answer with one of their
// documented statuses and only ever hand well-formed events on.
func FuzzWebhooks(f *testing.F) {
	f.Add(true, statusForm("SM1", "delivered", "").Encode())
	f.Add(true, statusForm("SM1", "bogus", "").Encode())
	f.Add(false, "From=%2B14155550100&To=%2B15005550006&Body=STOP&MessageSid=SM2")
	f.Add(false, "From=&MessageSid=")
	f.Add(true, "MessageSid=%zz")
	f.Add(false, strings.Repeat("a=b&", 100))
	tw, err := New(testConfig("http://127.0.0.1:1"), nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, status bool, body string) {
		ev := &events{}
		hooks := tw.Webhooks(ev)
		path := InboundPath
		if status {
			path = StatusPath
		}
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		form, parseErr := url.ParseQuery(body)
		if parseErr == nil {
			req.Header.Set(SignatureHeader, Sign(testToken, publicURL+path, form))
		}
		rec := httptest.NewRecorder()
		hooks[path].ServeHTTP(rec, req)
		allowed := map[int]bool{http.StatusOK: true, http.StatusNoContent: true, http.StatusBadRequest: true, http.StatusRequestEntityTooLarge: true, http.StatusForbidden: true}
		if !allowed[rec.Code] {
			t.Fatalf("status %d for %q", rec.Code, body)
		}
		if parseErr != nil && rec.Code != http.StatusBadRequest && rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("unparseable form %q answered %d, want 400", body, rec.Code)
		}
		receipts, inbound := ev.snapshot()
		for _, r := range receipts {
			switch r.Status {
			case smsflow.MessageSent, smsflow.MessageDelivered, smsflow.MessageUndelivered, smsflow.MessageFailed:
			default:
				t.Fatalf("receipt with status %q", r.Status)
			}
			if r.ProviderID == "" {
				t.Fatal("receipt without a provider id")
			}
		}
		for _, m := range inbound {
			if m.From == "" || m.ProviderID == "" {
				t.Fatalf("inbound without From or MessageSid: %+v", m)
			}
		}
	})
}
