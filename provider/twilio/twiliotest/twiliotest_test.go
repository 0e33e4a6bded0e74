package twiliotest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/provider/twilio"
	"github.com/smsflow/smsflow/provider/twilio/twiliotest"
)

const (
	sid    = "AC0123456789abcdef0123456789abcdef"
	token  = "0123456789abcdef0123456789abcdef"
	public = "https://sms.example.com"
)

// receipts records what the provider's webhooks hand on.
type receipts struct {
	mu  sync.Mutex
	got []provider.Receipt
}

func (r *receipts) Receipt(_ context.Context, rc provider.Receipt) error {
	r.mu.Lock()
	r.got = append(r.got, rc)
	r.mu.Unlock()
	return nil
}

func (r *receipts) Inbound(context.Context, provider.Inbound) error { return nil }

// TestFakeTakesTheProvidersSendsAndCallsBack sends through the real twilio
// provider: the fake accepts each message once with its own sid, and its
// delivered callbacks pass the provider's signature check.
func TestFakeTakesTheProvidersSendsAndCallsBack(t *testing.T) {
	ev := &receipts{}
	var app *httptest.Server
	fake, err := twiliotest.Start(twiliotest.Config{AccountSID: sid, AuthToken: token,
		Callbacks: func(cb string) string { return app.URL + strings.TrimPrefix(cb, public) }})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	tw, err := twilio.New(twilio.Config{AccountSID: sid, AuthToken: token, From: "+15005550006", APIBase: fake.URL(), PublicURL: public}, fake.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for path, h := range tw.Webhooks(ev) {
		mux.Handle(path, h)
	}
	app = httptest.NewServer(mux)
	defer app.Close()

	var sids []string
	for i, to := range []string{"+14155550100", "+14155550101"} {
		res, err := tw.Send(context.Background(), &smsflow.Message{ID: int64(i + 1), Phone: to, Body: "hi", Encoding: "GSM-7", Segments: 1})
		if err != nil {
			t.Fatal(err)
		}
		sids = append(sids, res.ProviderID)
	}
	reqs := fake.Requests()
	if len(reqs) != 2 || reqs[0].SID != sids[0] || reqs[1].SID != sids[1] || sids[0] == sids[1] || reqs[1].To != "+14155550101" {
		t.Fatalf("fake accepted %+v; the provider got sids %v", reqs, sids)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if done, _ := fake.Callbacks(); done == 2 || time.Now().After(deadline) {
			break
		}
	}
	fake.Close() // waits for the callbacks
	if done, failed := fake.Callbacks(); done != 2 || failed != 0 {
		t.Errorf("callbacks: %d done, %d failed (%v), want 2 and 0", done, failed, fake.Problems())
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if len(ev.got) != 2 || ev.got[0].Status != smsflow.MessageDelivered {
		t.Errorf("receipts handed on: %+v, want 2 delivered", ev.got)
	}
}

// TestFakeRefusesAndScripts checks the answers a test relies on: wrong
// credentials are Twilio's 20003 and record no form; a script answers a
// number's next requests, then the fake accepts again.
func TestFakeRefusesAndScripts(t *testing.T) {
	fake, err := twiliotest.Start(twiliotest.Config{AccountSID: sid, AuthToken: token})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	send := func(token, to string) error {
		tw, err := twilio.New(twilio.Config{AccountSID: sid, AuthToken: token, From: "+15005550006", APIBase: fake.URL(), PublicURL: public}, fake.Client(), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tw.Send(context.Background(), &smsflow.Message{ID: 1, Phone: to, Body: "hi", Encoding: "GSM-7", Segments: 1})
		return err
	}
	if err := send("wrong", "+14155550100"); err == nil || !strings.Contains(err.Error(), "20003") {
		t.Errorf("wrong token: %v, want Twilio's 20003", err)
	}
	if n := len(fake.Forms()); n != 0 {
		t.Errorf("%d forms recorded for a refused request, want 0", n)
	}
	fake.Script("+14155550101", twiliotest.Error(429, 20429, "Too Many Requests"))
	if err := send(token, "+14155550101"); err == nil || !strings.Contains(err.Error(), "Too Many Requests") {
		t.Errorf("scripted answer: %v, want the 429", err)
	}
	if err := send(token, "+14155550101"); err != nil {
		t.Errorf("after the script: %v, want accepted", err)
	}
	if got, forms := fake.Count(), len(fake.Forms()); got != 1 || forms != 2 {
		t.Errorf("%d accepted, %d forms; want 1 and 2", got, forms)
	}
}
