package httpgw

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/provider"
)

func webhookServer(t *testing.T, ev provider.Events) *httptest.Server {
	t.Helper()
	g := newTestGateway(t, "http://127.0.0.1:1/send", nil)
	mux := http.NewServeMux()
	for path, h := range g.Webhooks(ev) {
		mux.Handle(path, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// postSigned posts body to path, signed at ts with secret as a gateway
// would (the signature computed from the package comment's recipe).
func postSigned(t *testing.T, srv *httptest.Server, path, secret string, ts int64, body string) (int, apiError) {
	t.Helper()
	tsText := strconv.FormatInt(ts, 10)
	return postRaw(t, srv, path, body, map[string]string{
		"X-Smsflow-Timestamp": tsText,
		"X-Smsflow-Signature": gatewaySignature(secret, tsText, []byte(body)),
	})
}

func postRaw(t *testing.T, srv *httptest.Server, path, body string, headers map[string]string) (int, apiError) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e apiError
	if resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(b, &e); err != nil || e.Error.Message == "" {
			t.Errorf("answer %d %q is not a JSON error with a message", resp.StatusCode, b)
		}
	}
	return resp.StatusCode, e
}

func TestStatusReports(t *testing.T) {
	for _, tc := range []struct {
		body string
		want provider.Receipt
	}{
		{`{"id":"gw-1","status":"sent"}`, provider.Receipt{ProviderID: "gw-1", Status: smsflow.MessageSent}},
		{`{"id":"gw-1","status":"delivered","error_code":""}`, provider.Receipt{ProviderID: "gw-1", Status: smsflow.MessageDelivered}},
		{`{"id":"gw-1","status":"undelivered","error_code":"30003"}`, provider.Receipt{ProviderID: "gw-1", Status: smsflow.MessageUndelivered, ErrorCode: "30003"}},
		{`{"id":77,"status":"failed","error_code":12,"extra":"ignored"}`, provider.Receipt{ProviderID: "77", Status: smsflow.MessageFailed, ErrorCode: "12"}},
	} {
		ev := &events{}
		srv := webhookServer(t, ev)
		status, e := postSigned(t, srv, StatusPath, testSecret, clock.Unix(), tc.body)
		if status != http.StatusNoContent {
			t.Fatalf("%s: %d %+v, want 204", tc.body, status, e)
		}
		if got, _ := ev.snapshot(); len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s: receipts %+v, want [%+v]", tc.body, got, tc.want)
		}
	}
}

func TestInboundText(t *testing.T) {
	ev := &events{}
	srv := webhookServer(t, ev)
	status, e := postSigned(t, srv, InboundPath, testSecret, clock.Unix(), `{"from":"+14155550100","to":"12345","body":"STOP ✋","id":"gw-in-9"}`)
	if status != http.StatusNoContent {
		t.Fatalf("%d %+v, want 204", status, e)
	}
	want := provider.Inbound{From: "+14155550100", To: "12345", Body: "STOP ✋", ProviderID: "gw-in-9"}
	if _, got := ev.snapshot(); len(got) != 1 || got[0] != want {
		t.Errorf("inbound %+v, want [%+v]", got, want)
	}
}

func TestWebhooksRejectBadSignatures(t *testing.T) {
	body := `{"id":"gw-1","status":"delivered"}`
	ts := strconv.FormatInt(clock.Unix(), 10)
	good := gatewaySignature(testSecret, ts, []byte(body))
	for _, tc := range []struct {
		name    string
		path    string
		body    string
		headers map[string]string
	}{
		{"no headers", StatusPath, body, nil},
		{"no timestamp", StatusPath, body, map[string]string{"X-Smsflow-Signature": good}},
		{"no signature", InboundPath, body, map[string]string{"X-Smsflow-Timestamp": ts}},
		{"other secret", StatusPath, body, map[string]string{"X-Smsflow-Timestamp": ts, "X-Smsflow-Signature": gatewaySignature("guess", ts, []byte(body))}},
		{"tampered body", StatusPath, strings.Replace(body, "delivered", "failed", 1), map[string]string{"X-Smsflow-Timestamp": ts, "X-Smsflow-Signature": good}},
		{"replayed with a new timestamp", StatusPath, body, map[string]string{"X-Smsflow-Timestamp": strconv.FormatInt(clock.Unix()+1, 10), "X-Smsflow-Signature": good}},
		{"bare hex", StatusPath, body, map[string]string{"X-Smsflow-Timestamp": ts, "X-Smsflow-Signature": strings.TrimPrefix(good, "sha256=")}},
	} {
		ev := &events{}
		srv := webhookServer(t, ev)
		status, e := postRaw(t, srv, tc.path, tc.body, tc.headers)
		if status != http.StatusUnauthorized || e.Error.Code != smsflow.EUNAUTHORIZED {
			t.Errorf("%s: %d %+v, want 401 unauthorized", tc.name, status, e)
		}
		if r, i := ev.snapshot(); len(r)+len(i) != 0 {
			t.Errorf("%s: an unsigned request reached the pipeline", tc.name)
		}
	}
}

func TestWebhooksRejectStaleTimestamps(t *testing.T) {
	ev := &events{}
	srv := webhookServer(t, ev)
	body := `{"id":"gw-1","status":"delivered"}`
	for _, tc := range []struct {
		offset int64
		want   int
	}{
		{-301, http.StatusUnauthorized},
		{301, http.StatusUnauthorized},
		{-3600, http.StatusUnauthorized},
		{-299, http.StatusNoContent},
		{299, http.StatusNoContent},
	} {
		status, e := postSigned(t, srv, StatusPath, testSecret, clock.Unix()+tc.offset, body)
		if status != tc.want {
			t.Errorf("timestamp %+ds: %d %+v, want %d", tc.offset, status, e, tc.want)
		}
		if status == http.StatusUnauthorized && !strings.Contains(e.Error.Message, "clock") {
			t.Errorf("timestamp %+ds: message %q should point at the clock", tc.offset, e.Error.Message)
		}
	}
}

func TestWebhooksMalformedBodies(t *testing.T) {
	for _, tc := range []struct {
		path, body, field, inMsg string
	}{
		{StatusPath, `{"id":"gw-1","status":`, "", "malformed JSON"},
		{StatusPath, `not json`, "", "malformed JSON"},
		{StatusPath, `{"id":"gw-1","status":"delivered"} trailing`, "", "malformed JSON"},
		{StatusPath, `{"id":true,"status":"sent"}`, "", "malformed JSON"},
		{StatusPath, `{"status":"delivered"}`, "id", "id is required"},
		{StatusPath, `null`, "id", "id is required"},
		{StatusPath, `{"id":"gw-1","status":"read"}`, "status", "not one of"},
		{StatusPath, `{"id":"gw-1","status":"DELIVERED"}`, "status", "not one of"},
		{InboundPath, `[]`, "", "malformed JSON"},
		{InboundPath, `{"to":"1","body":"hi","id":"x"}`, "from", "from is required"},
		{InboundPath, `{"from":"+14155550100","body":"hi"}`, "id", "id is required"},
	} {
		ev := &events{}
		srv := webhookServer(t, ev)
		status, e := postSigned(t, srv, tc.path, testSecret, clock.Unix(), tc.body)
		if status != http.StatusBadRequest || e.Error.Code != smsflow.EINVALID || e.Error.Field != tc.field || !strings.Contains(e.Error.Message, tc.inMsg) {
			t.Errorf("%s %s: %d %+v, want 400 field %q saying %q", tc.path, tc.body, status, e, tc.field, tc.inMsg)
		}
		if r, i := ev.snapshot(); len(r)+len(i) != 0 {
			t.Errorf("%s: a malformed body reached the pipeline", tc.body)
		}
	}
}

func TestWebhooksStoreFailureIs500(t *testing.T) {
	ev := &events{fail: errors.New("database is locked")}
	srv := webhookServer(t, ev)
	for path, body := range map[string]string{
		StatusPath:  `{"id":"gw-1","status":"delivered"}`,
		InboundPath: `{"from":"+14155550100","body":"hi","id":"x"}`,
	} {
		status, e := postSigned(t, srv, path, testSecret, clock.Unix(), body)
		if status != http.StatusInternalServerError || strings.Contains(e.Error.Message, "locked") {
			t.Errorf("%s: %d %+v, want 500 without internal details", path, status, e)
		}
	}
}

func TestWebhooksLimitsAndMethod(t *testing.T) {
	srv := webhookServer(t, &events{})
	big := `{"id":"` + strings.Repeat("a", maxBody) + `","status":"sent"}`
	if status, _ := postSigned(t, srv, StatusPath, testSecret, clock.Unix(), big); status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d, want 413", status)
	}
	resp, err := srv.Client().Get(srv.URL + InboundPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
		t.Errorf("GET: %d, want 405 with Allow: POST", resp.StatusCode)
	}
}
