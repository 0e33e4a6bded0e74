package httpgw

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
)

// FuzzWebhooks posts arbitrary bodies, correctly signed, to both webhooks:
// the handlers must answer 204 or 400 (never panic, never 5xx with a
// working store) and only hand well-formed events on.
func FuzzWebhooks(f *testing.F) {
	f.Add(true, []byte(`{"id":"gw-1","status":"delivered","error_code":"30003"}`))
	f.Add(true, []byte(`{"id":1e400,"status":"sent"}`))
	f.Add(false, []byte(`{"from":"+14155550100","to":"12345","body":"STOP","id":"in-1"}`))
	f.Add(false, []byte(`{"from":"","id":null}`))
	f.Add(true, []byte(`{"id":"\ud800","status":"sent"}`))
	f.Add(false, []byte("\xff\xfe"))
	g := newTestGateway(f, "http://127.0.0.1:1/send", nil)
	ts := strconv.FormatInt(clock.Unix(), 10)
	f.Fuzz(func(t *testing.T, status bool, body []byte) {
		ev := &events{}
		hooks := g.Webhooks(ev)
		path := InboundPath
		if status {
			path = StatusPath
		}
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1"+path, bytes.NewReader(body))
		req.Header.Set(TimestampHeader, ts)
		req.Header.Set(SignatureHeader, Sign(testSecret, clock.Unix(), body))
		rec := httptest.NewRecorder()
		hooks[path].ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusNoContent, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
		receipts, inbound := ev.snapshot()
		for _, r := range receipts {
			switch r.Status {
			case smsflow.MessageSent, smsflow.MessageDelivered, smsflow.MessageUndelivered, smsflow.MessageFailed:
			default:
				t.Fatalf("receipt with status %q", r.Status)
			}
			if r.ProviderID == "" {
				t.Fatal("receipt without an id")
			}
		}
		for _, m := range inbound {
			if m.From == "" || m.ProviderID == "" {
				t.Fatalf("inbound without from or id: %+v", m)
			}
		}
	})
}

// FuzzSignature checks that a request signed with Sign passes, and that
// changing the body, the timestamp or the secret makes it fail.
func FuzzSignature(f *testing.F) {
	f.Add("secret", int64(0), []byte(`{}`))
	f.Add("", int64(-1), []byte(nil))
	f.Fuzz(func(t *testing.T, secret string, offset int64, body []byte) {
		offset %= int64(MaxSkew / time.Second) // within the window
		now := time.Unix(1700000000, 0)
		ts := now.Unix() + offset
		tsText := strconv.FormatInt(ts, 10)
		sig := Sign(secret, ts, body)
		if why := checkSignature(secret, tsText, sig, body, now); why != "" {
			t.Fatalf("own signature refused: %s", why)
		}
		if checkSignature(secret, tsText, sig, append(append([]byte(nil), body...), ' '), now) == "" {
			t.Fatal("a longer body passed")
		}
		if checkSignature(secret+"x", tsText, sig, body, now) == "" {
			t.Fatal("another secret passed")
		}
		if checkSignature(secret, strconv.FormatInt(ts+1, 10), sig, body, now.Add(time.Second)) == "" {
			t.Fatal("a changed timestamp passed")
		}
	})
}
