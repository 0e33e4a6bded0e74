package twilio

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/provider"
)

const publicURL = "https://sms.example.com"

// events records what the webhooks hand over; fail makes them refuse.
type events struct {
	mu       sync.Mutex
	receipts []provider.Receipt
	inbound  []provider.Inbound
	fail     error
}

func (e *events) Receipt(_ context.Context, r provider.Receipt) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fail != nil {
		return e.fail
	}
	e.receipts = append(e.receipts, r)
	return nil
}

func (e *events) Inbound(_ context.Context, m provider.Inbound) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fail != nil {
		return e.fail
	}
	e.inbound = append(e.inbound, m)
	return nil
}

// snapshot returns copies of what was stored.
func (e *events) snapshot() ([]provider.Receipt, []provider.Inbound) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]provider.Receipt(nil), e.receipts...), append([]provider.Inbound(nil), e.inbound...)
}

func (e *events) count() (int, int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.receipts), len(e.inbound)
}

// webhookServer mounts the Twilio webhooks on a loopback server the way
// serve does, with public_url https://sms.example.com (what Twilio signs).
func webhookServer(t *testing.T, ev provider.Events) *httptest.Server {
	t.Helper()
	tw := newTestTwilio(t, testConfig("http://127.0.0.1:1"), nil)
	mux := http.NewServeMux()
	for path, h := range tw.Webhooks(ev) {
		mux.Handle(path, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// post sends form to srv at pathAndQuery with the signature header sig
// ("" for none).
func post(t *testing.T, srv *httptest.Server, pathAndQuery, body, sig string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+pathAndQuery, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sig != "" {
		req.Header.Set(SignatureHeader, sig)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// signed posts form signed the way Twilio does for publicURL + pathAndQuery.
func signed(t *testing.T, srv *httptest.Server, pathAndQuery string, form url.Values) (int, string, http.Header) {
	t.Helper()
	return post(t, srv, pathAndQuery, form.Encode(), Sign(testToken, publicURL+pathAndQuery, form))
}

func statusForm(sid, status, code string) url.Values {
	f := url.Values{
		"AccountSid": {testSID}, "ApiVersion": {"2010-04-01"}, "From": {testFrom}, "To": {testTo},
		"MessageSid": {sid}, "SmsSid": {sid}, "MessageStatus": {status}, "SmsStatus": {status},
	}
	if code != "" {
		f.Set("ErrorCode", code)
	}
	return f
}

func TestStatusCallbackMapsStatuses(t *testing.T) {
	for _, tc := range []struct{ twilio, code, want string }{
		{"accepted", "", smsflow.MessageSent},
		{"queued", "", smsflow.MessageSent},
		{"sending", "", smsflow.MessageSent},
		{"sent", "", smsflow.MessageSent},
		{"delivered", "", smsflow.MessageDelivered},
		{"undelivered", "30003", smsflow.MessageUndelivered},
		{"failed", "30008", smsflow.MessageFailed},
	} {
		ev := &events{}
		srv := webhookServer(t, ev)
		status, body, _ := signed(t, srv, StatusPath, statusForm("SM123", tc.twilio, tc.code))
		if status != http.StatusNoContent {
			t.Fatalf("%s: status %d (%s), want 204", tc.twilio, status, body)
		}
		want := provider.Receipt{ProviderID: "SM123", Status: tc.want, ErrorCode: tc.code}
		if got, _ := ev.snapshot(); len(got) != 1 || got[0] != want {
			t.Errorf("%s: receipts %+v, want [%+v]", tc.twilio, got, want)
		}
	}
}

func TestStatusCallbackIgnoresStatusesSmsflowDoesNotTrack(t *testing.T) {
	ev := &events{}
	srv := webhookServer(t, ev)
	for _, s := range []string{"scheduled", "canceled", "read", "receiving", "received", "partially_delivered"} {
		if status, body, _ := signed(t, srv, StatusPath, statusForm("SM1", s, "")); status != http.StatusNoContent {
			t.Errorf("%s: status %d (%s), want 204", s, status, body)
		}
	}
	if n, _ := ev.count(); n != 0 {
		t.Errorf("%d receipts stored for ignored statuses", n)
	}
}

func TestWebhooksRejectBadSignatures(t *testing.T) {
	form := statusForm("SM1", "delivered", "")
	good := Sign(testToken, publicURL+StatusPath, form)
	tampered := statusForm("SM1", "failed", "")
	for _, tc := range []struct {
		name, path, body, sig string
	}{
		{"no signature", StatusPath, form.Encode(), ""},
		{"garbage", StatusPath, form.Encode(), "bm90IGEgc2lnbmF0dXJl"},
		{"other token", StatusPath, form.Encode(), Sign("another-token", publicURL+StatusPath, form)},
		{"tampered form", StatusPath, tampered.Encode(), good},
		{"extra param", StatusPath, form.Encode() + "&Injected=1", good},
		{"signed for the other path", InboundPath, form.Encode(), good},
		{"signed for the loopback URL", StatusPath, form.Encode(), Sign(testToken, "http://127.0.0.1"+StatusPath, form)},
		{"query added", StatusPath + "?x=1", form.Encode(), good},
	} {
		ev := &events{}
		srv := webhookServer(t, ev)
		status, body, _ := post(t, srv, tc.path, tc.body, tc.sig)
		if status != http.StatusForbidden || !strings.Contains(body, SignatureHeader) {
			t.Errorf("%s: %d %q, want 403 naming %s", tc.name, status, body, SignatureHeader)
		}
		if r, i := ev.count(); r+i != 0 {
			t.Errorf("%s: an unsigned request reached the pipeline", tc.name)
		}
	}
}

func TestWebhookSignatureCoversQueryAndDefaultPort(t *testing.T) {
	ev := &events{}
	srv := webhookServer(t, ev)
	form := statusForm("SM9", "delivered", "")
	if status, body, _ := signed(t, srv, StatusPath+"?flow=welcome&x=%20y", form); status != http.StatusNoContent {
		t.Errorf("signed with query: %d %s", status, body)
	}
	withPort := Sign(testToken, "https://sms.example.com:443"+StatusPath, form)
	if status, body, _ := post(t, srv, StatusPath, form.Encode(), withPort); status != http.StatusNoContent {
		t.Errorf("signed with :443: %d %s", status, body)
	}
	if n, _ := ev.count(); n != 2 {
		t.Errorf("%d receipts, want 2", n)
	}
}

func TestStatusCallbackStoreFailureIs500(t *testing.T) {
	ev := &events{fail: errors.New("database is locked")}
	srv := webhookServer(t, ev)
	status, body, _ := signed(t, srv, StatusPath, statusForm("SM1", "delivered", ""))
	if status != http.StatusInternalServerError {
		t.Errorf("status %d (%s), want 500 so Twilio retries", status, body)
	}
	if strings.Contains(body, "database is locked") {
		t.Error("internal error details leak to the caller")
	}
}

func TestWebhookMalformedRequests(t *testing.T) {
	ev := &events{}
	srv := webhookServer(t, ev)
	if status, body, _ := post(t, srv, StatusPath, "MessageSid=%zz&MessageStatus=sent", "x"); status != http.StatusBadRequest || !strings.Contains(body, "malformed") {
		t.Errorf("bad escape: %d %q, want 400 saying malformed", status, body)
	}
	if status, body, _ := signed(t, srv, StatusPath, url.Values{"MessageStatus": {"sent"}}); status != http.StatusBadRequest || !strings.Contains(body, "MessageSid") {
		t.Errorf("no MessageSid: %d %q, want 400 naming it", status, body)
	}
	if status, body, _ := signed(t, srv, InboundPath, url.Values{"MessageSid": {"SM1"}, "Body": {"hi"}}); status != http.StatusBadRequest || !strings.Contains(body, "From") {
		t.Errorf("no From: %d %q, want 400 naming it", status, body)
	}
	big := "Body=" + strings.Repeat("a", maxForm+1)
	if status, _, _ := post(t, srv, InboundPath, big, "x"); status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized form: %d, want 413", status)
	}
	resp, err := srv.Client().Get(srv.URL + StatusPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
		t.Errorf("GET: %d Allow=%q, want 405 Allow: POST", resp.StatusCode, resp.Header.Get("Allow"))
	}
	if r, i := ev.count(); r+i != 0 {
		t.Error("a malformed request reached the pipeline")
	}
}

func TestInboundWebhook(t *testing.T) {
	ev := &events{}
	srv := webhookServer(t, ev)
	form := url.Values{
		"MessageSid": {"SMabc"}, "SmsSid": {"SMabc"}, "AccountSid": {testSID}, "From": {testTo}, "To": {testFrom},
		"Body": {"Stop & don't text me ✋"}, "NumMedia": {"0"}, "FromCity": {"SAN FRANCISCO"}, "FromState": {"CA"},
		"FromZip": {"94105"}, "FromCountry": {"US"}, "OptOutType": {"STOP"}, "SomeFutureParam": {"x"},
	}
	status, body, h := signed(t, srv, InboundPath, form)
	if status != http.StatusOK {
		t.Fatalf("status %d (%s), want 200", status, body)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/xml") {
		t.Errorf("Content-Type %q, want text/xml", ct)
	}
	var twiml struct {
		XMLName  xml.Name
		Children []xml.Name `xml:",any"`
	}
	if err := xml.Unmarshal([]byte(body), &twiml); err != nil || twiml.XMLName.Local != "Response" || len(twiml.Children) != 0 {
		t.Errorf("answer %q is not an empty TwiML <Response/> (%v)", body, err)
	}
	want := provider.Inbound{From: testTo, To: testFrom, Body: "Stop & don't text me ✋", ProviderID: "SMabc"}
	if _, got := ev.snapshot(); len(got) != 1 || got[0] != want {
		t.Errorf("inbound %+v, want [%+v]", got, want)
	}
}

func TestInboundStoreFailureIs500(t *testing.T) {
	ev := &events{fail: errors.New("disk full")}
	srv := webhookServer(t, ev)
	form := url.Values{"MessageSid": {"SM1"}, "From": {testTo}, "To": {testFrom}, "Body": {"hi"}}
	if status, body, _ := signed(t, srv, InboundPath, form); status != http.StatusInternalServerError {
		t.Errorf("status %d (%s), want 500", status, body)
	}
}

// The message id in the StatusCallback URL (signed with it) reaches the
// receipt; one that is not an id is refused.
func TestStatusCallbackCarriesTheMessageID(t *testing.T) {
	ev := &events{}
	srv := webhookServer(t, ev)
	if status, body, _ := signed(t, srv, StatusPath+"?m=42", statusForm("SM123", "sent", "")); status != http.StatusNoContent {
		t.Fatalf("status %d (%s), want 204", status, body)
	}
	want := provider.Receipt{ProviderID: "SM123", Status: smsflow.MessageSent, MessageID: 42}
	if got, _ := ev.snapshot(); len(got) != 1 || got[0] != want {
		t.Errorf("receipts %+v, want [%+v]", got, want)
	}
	for _, bad := range []string{"0", "-1", "x", "99999999999999999999"} {
		if status, _, _ := signed(t, srv, StatusPath+"?m="+bad, statusForm("SM124", "sent", "")); status != http.StatusBadRequest {
			t.Errorf("m=%s: status %d, want 400", bad, status)
		}
	}
}
