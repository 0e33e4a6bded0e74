package twilio_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/provider/twilio"
	"github.com/smsflow/smsflow/provider/twilio/twiliotest"
)

// The send tests are in package twilio_test so that they can use the one
// Twilio fake, twiliotest, which imports package twilio.

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "0123456789abcdef0123456789abcdef"
	testFrom  = "+15005550006"
	testMG    = "MG0123456789abcdef0123456789abcdef"
	testTo    = "+14155550100"
)

// newFakeTwilio starts the fake Messages API for the test account; it
// closes when the test ends.
func newFakeTwilio(t *testing.T) *twiliotest.Server {
	t.Helper()
	f, err := twiliotest.Start(twiliotest.Config{AccountSID: testSID, AuthToken: testToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

// testConfig is a valid configuration pointing at apiBase.
func testConfig(apiBase string) twilio.Config {
	return twilio.Config{AccountSID: testSID, AuthToken: testToken, From: testFrom, APIBase: apiBase, PublicURL: "https://sms.example.com"}
}

func newTestTwilio(t *testing.T, cfg twilio.Config, client *http.Client) *twilio.Twilio {
	t.Helper()
	tw, err := twilio.New(cfg, client, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tw
}

func msg(body string) *smsflow.Message {
	return &smsflow.Message{ID: 42, Phone: testTo, Body: body, Encoding: "GSM-7", Segments: 1}
}

func TestSendPostsTheFormTwilioExpects(t *testing.T) {
	f := newFakeTwilio(t)
	tw := newTestTwilio(t, testConfig(f.URL()), f.Client())
	body := "Hi Ann & Bob: 50% off = deal+more? ✨ https://sms.example.com/l/x?a=1&b=2"
	res, err := tw.Send(context.Background(), msg(body))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != smsflow.MessageSent || !strings.HasPrefix(res.ProviderID, "SM") {
		t.Errorf("result = %+v, want a sent message with the SM sid", res)
	}
	forms := f.Forms()
	if len(forms) != 1 {
		t.Fatalf("server got %d requests, want exactly 1", len(forms))
	}
	want := url.Values{
		"To":   {testTo},
		"Body": {body},
		"From": {testFrom},
		// The message's id rides in the callback URL: any callback settles
		// a message whose sid a crash lost.
		"StatusCallback": {"https://sms.example.com/webhooks/twilio/status?m=42"},
	}
	if got := forms[0]; got.Encode() != want.Encode() {
		t.Errorf("form = %v\nwant   %v", got, want)
	}
}

func TestSendWithMessagingService(t *testing.T) {
	f := newFakeTwilio(t)
	cfg := testConfig(f.URL())
	cfg.From, cfg.MessagingServiceSID = "", testMG
	cfg.PublicURL = "https://sms.example.com/base/" // a path and a trailing slash
	tw := newTestTwilio(t, cfg, f.Client())
	if _, err := tw.Send(context.Background(), msg("hello")); err != nil {
		t.Fatal(err)
	}
	got := f.Forms()[0]
	if got.Get("MessagingServiceSid") != testMG || got.Has("From") {
		t.Errorf("form = %v, want MessagingServiceSid and no From", got)
	}
	if cb := got.Get("StatusCallback"); cb != "https://sms.example.com/base/webhooks/twilio/status?m=42" {
		t.Errorf("StatusCallback = %q", cb)
	}
}

func TestSendWrongTokenIsPermanentAuthError(t *testing.T) {
	f := newFakeTwilio(t)
	cfg := testConfig(f.URL())
	cfg.AuthToken = "wrong"
	tw := newTestTwilio(t, cfg, f.Client())
	_, err := tw.Send(context.Background(), msg("hi"))
	assertKind(t, err, provider.Permanent, "20003")
	if len(f.Forms()) != 0 {
		t.Error("the fake accepted a request with a wrong password")
	}
}

func TestSendErrorMapping(t *testing.T) {
	retryAt := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		respond  func(w http.ResponseWriter, r *http.Request)
		kind     provider.ErrorKind
		code     string
		retry    time.Duration
		inMesage string
	}{
		{"21610 unsubscribed", twilioAnswer(400, 21610, "Attempt to send to unsubscribed recipient"), provider.Unsubscribed, "21610", 0, "unsubscribed recipient"},
		{"21211 invalid To", twilioAnswer(400, 21211, "The 'To' number +1555 is not a valid phone number."), provider.InvalidNumber, "21211", 0, "not a valid phone number"},
		{"21614 not mobile", twilioAnswer(400, 21614, "'To' number is not a valid mobile number"), provider.InvalidNumber, "21614", 0, ""},
		{"21635 landline", twilioAnswer(400, 21635, "'To' number cannot be a landline"), provider.InvalidNumber, "21635", 0, ""},
		{"21606 other 4xx code", twilioAnswer(400, 21606, "The 'From' phone number provided is not a valid message-capable Twilio phone number"), provider.Permanent, "21606", 0, "docs/errors/21606"},
		{"21612 unroutable stays permanent", twilioAnswer(400, 21612, "not currently reachable"), provider.Permanent, "21612", 0, ""},
		{"403 without code", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(403)
			_, _ = w.Write([]byte("<html>Forbidden</html>"))
		}, provider.Permanent, "403", 0, "Forbidden"},
		{"429 with Retry-After seconds", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			twilioAnswer(429, 20429, "Too Many Requests")(w, r)
		}, provider.Transient, "20429", 7 * time.Second, "Too Many Requests"},
		{"503 with Retry-After date", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", retryAt.Add(90*time.Second).Format(http.TimeFormat))
			twilioAnswer(503, 20503, "Service Unavailable")(w, r)
		}, provider.Transient, "20503", 90 * time.Second, ""},
		{"500 empty body", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }, provider.Transient, "500", 0, "HTTP 500"},
		{"502 with garbage Retry-After", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "soon")
			w.WriteHeader(502)
		}, provider.Transient, "502", 0, ""},
		{"201 not JSON", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(201)
			_, _ = w.Write([]byte("<Response>ok</Response>"))
		}, provider.Unknown, "", 0, "may have been sent"},
		{"201 JSON without sid", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(201)
			_, _ = w.Write([]byte(`{"status":"queued"}`))
		}, provider.Unknown, "", 0, ""},
		{"201 truncated JSON", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(201)
			_, _ = w.Write([]byte(`{"sid":"SM1`))
		}, provider.Unknown, "", 0, ""},
		{"302 without Location", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(302) }, provider.Unknown, "302", 0, "api_base"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeTwilio(t)
			f.SetRespond(tc.respond)
			tw := newTestTwilio(t, testConfig(f.URL()), f.Client())
			twilio.SetNow(tw, func() time.Time { return retryAt })
			_, err := tw.Send(context.Background(), msg("hi"))
			pe := assertKind(t, err, tc.kind, tc.code)
			if pe.Retry != tc.retry {
				t.Errorf("Retry = %v, want %v", pe.Retry, tc.retry)
			}
			if !strings.Contains(pe.Message, tc.inMesage) {
				t.Errorf("message %q does not contain %q", pe.Message, tc.inMesage)
			}
			if len(f.Forms()) != 1 {
				t.Errorf("server got %d requests, want 1 (Send must not retry)", len(f.Forms()))
			}
		})
	}
}

func twilioAnswer(status, code int, message string) func(http.ResponseWriter, *http.Request) {
	return twiliotest.Error(status, code, message)
}

func assertKind(t *testing.T, err error, kind provider.ErrorKind, code string) *provider.Error {
	t.Helper()
	var pe *provider.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *provider.Error", err, err)
	}
	if pe.Kind != kind || pe.Code != code {
		t.Fatalf("error = %s / code %q, want %s / code %q (%v)", pe.Kind, pe.Code, kind, code, pe)
	}
	return pe
}

func TestSendConnectionRefusedIsTransient(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	tw := newTestTwilio(t, testConfig("http://"+addr), nil)
	_, err = tw.Send(context.Background(), msg("hi"))
	assertKind(t, err, provider.Transient, "")
}

func TestSendDNSFailureIsTransient(t *testing.T) {
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(_ context.Context, _, addr string) (net.Conn, error) {
			host, _, _ := net.SplitHostPort(addr)
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
		},
	}}
	tw := newTestTwilio(t, testConfig("http://api.twilio.invalid"), client)
	_, err := tw.Send(context.Background(), msg("hi"))
	assertKind(t, err, provider.Transient, "")
}

func TestSendCanceledBeforeSendingIsTransient(t *testing.T) {
	f := newFakeTwilio(t)
	tw := newTestTwilio(t, testConfig(f.URL()), f.Client())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := tw.Send(ctx, msg("hi"))
	assertKind(t, err, provider.Transient, "")
	if len(f.Forms()) != 0 {
		t.Error("a canceled send reached the server")
	}
}

// stall makes the fake read the request, say so on got, and then answer
// nothing until the test ends.
func stall(t *testing.T, f *twiliotest.Server) <-chan struct{} {
	got := make(chan struct{}, 1)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // runs before the server's Close
	f.SetRespond(func(http.ResponseWriter, *http.Request) {
		got <- struct{}{}
		<-release
	})
	return got
}

func TestSendCanceledAfterWritingIsUnknown(t *testing.T) {
	f := newFakeTwilio(t)
	got := stall(t, f)
	tw := newTestTwilio(t, testConfig(f.URL()), f.Client())
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-got; cancel() }()
	_, err := tw.Send(ctx, msg("hi"))
	assertKind(t, err, provider.Unknown, "")
	if len(f.Forms()) != 1 {
		t.Fatal("the server did not get the request")
	}
}

func TestSendClientTimeoutAfterWritingIsUnknown(t *testing.T) {
	f := newFakeTwilio(t)
	got := stall(t, f)
	client := f.Client()
	client.Timeout = 200 * time.Millisecond
	tw := newTestTwilio(t, testConfig(f.URL()), client)
	_, err := tw.Send(context.Background(), msg("hi"))
	assertKind(t, err, provider.Unknown, "")
	select {
	case <-got:
	default:
		t.Fatal("the server never saw the request")
	}
}

func TestSendConnectionResetAfterWritingIsUnknown(t *testing.T) {
	f := newFakeTwilio(t)
	f.SetRespond(func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		if tcp, ok := conn.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0) // close with RST
		}
		conn.Close()
	})
	tw := newTestTwilio(t, testConfig(f.URL()), f.Client())
	_, err := tw.Send(context.Background(), msg("hi"))
	assertKind(t, err, provider.Unknown, "")
	if len(f.Forms()) != 1 {
		t.Fatal("the server did not get the request")
	}
}

func TestSendWithoutPhoneIsPermanent(t *testing.T) {
	f := newFakeTwilio(t)
	tw := newTestTwilio(t, testConfig(f.URL()), f.Client())
	for _, m := range []*smsflow.Message{nil, {ID: 1, Body: "x"}} {
		_, err := tw.Send(context.Background(), m)
		assertKind(t, err, provider.Permanent, "")
	}
	if len(f.Forms()) != 0 {
		t.Error("a message without a phone reached Twilio")
	}
}
