package httpgw

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/provider"
)

// sent is a send request as a gateway decodes it.
type sent struct {
	ID        string `json:"id"`
	To        string `json:"to"`
	Body      string `json:"body"`
	Encoding  string `json:"encoding"`
	Segments  int    `json:"segments"`
	StatusURL string `json:"status_url"`
}

// fakeGateway is a loopback gateway: it checks the signature as the package
// comment tells gateway authors to (401 otherwise), decodes the JSON
// strictly, records it and answers what the test asks for, or 200 with an
// id by default.
type fakeGateway struct {
	*httptest.Server
	mu      sync.Mutex
	got     []sent
	headers []http.Header
	respond func(w http.ResponseWriter, r *http.Request)
}

func newFakeGateway(t *testing.T) *fakeGateway {
	f := &fakeGateway{}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeGateway) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts := r.Header.Get("X-Smsflow-Timestamp")
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
		r.Header.Get("X-Smsflow-Signature") != gatewaySignature(testSecret, ts, body) {
		http.Error(w, `{"error":"bad signature"}`, http.StatusUnauthorized)
		return
	}
	var s sent
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		http.Error(w, `{"error":"bad json"}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.got = append(f.got, s)
	f.headers = append(f.headers, r.Header.Clone())
	n, respond := len(f.got), f.respond
	f.mu.Unlock()
	if respond != nil {
		respond(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"id":"gw-` + strconv.Itoa(n) + `","queued":true}`))
}

func (f *fakeGateway) received() ([]sent, []http.Header) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sent(nil), f.got...), append([]http.Header(nil), f.headers...)
}

func (f *fakeGateway) setRespond(h func(http.ResponseWriter, *http.Request)) {
	f.mu.Lock()
	f.respond = h
	f.mu.Unlock()
}

func msg() *smsflow.Message {
	return &smsflow.Message{ID: 1234, Phone: testTo, Body: "Hi Ann — 20% off ✨ \"today\"", Encoding: "UCS-2", Segments: 1}
}

func TestSendPostsSignedJSON(t *testing.T) {
	f := newFakeGateway(t)
	g := newTestGateway(t, f.URL+"/send?account=7", f.Client())
	res, err := g.Send(context.Background(), msg())
	if err != nil {
		t.Fatal(err)
	}
	if res != (provider.Result{ProviderID: "gw-1", Status: smsflow.MessageSent}) {
		t.Errorf("result %+v", res)
	}
	got, headers := f.received()
	if len(got) != 1 {
		t.Fatalf("gateway got %d requests, want 1", len(got))
	}
	want := sent{ID: "1234", To: testTo, Body: msg().Body, Encoding: "UCS-2", Segments: 1, StatusURL: testPublic + "/webhooks/http/status"}
	if got[0] != want {
		t.Errorf("gateway got %+v\nwant %+v", got[0], want)
	}
	if ts := headers[0].Get("X-Smsflow-Timestamp"); ts != strconv.FormatInt(clock.Unix(), 10) {
		t.Errorf("timestamp header %q, want %d", ts, clock.Unix())
	}
}

func TestSendWrongSecretIsPermanent(t *testing.T) {
	f := newFakeGateway(t)
	g, err := New(Config{URL: f.URL, Secret: "not-the-gateways", PublicURL: testPublic}, f.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.Send(context.Background(), msg())
	pe := assertKind(t, err, provider.Permanent, "401")
	if !strings.Contains(pe.Message, "bad signature") {
		t.Errorf("message %q does not carry the gateway's words", pe.Message)
	}
}

func TestSendAnswerMapping(t *testing.T) {
	answer := func(status int, body string, header ...string) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, _ *http.Request) {
			for i := 0; i+1 < len(header); i += 2 {
				w.Header().Set(header[i], header[i+1])
			}
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}
	}
	for _, tc := range []struct {
		name    string
		respond func(http.ResponseWriter, *http.Request)
		id      string // for a success
		kind    provider.ErrorKind
		code    string
		retry   time.Duration
		inMsg   string
	}{
		{"202 with string id", answer(202, `{"id":"abc-9"}`), "abc-9", 0, "", 0, ""},
		{"201 with numeric id", answer(201, `{"id": 9007199254740993}`), "9007199254740993", 0, "", 0, ""},
		{"400 error string", answer(400, `{"error":"number is not mobile"}`), "", provider.Permanent, "400", 0, "number is not mobile"},
		{"422 nested error", answer(422, `{"error":{"message":"body too long"}}`), "", provider.Permanent, "422", 0, "body too long"},
		{"404 text", answer(404, "no such route"), "", provider.Permanent, "404", 0, "no such route"},
		{"429 Retry-After seconds", answer(429, `{"message":"slow down"}`, "Retry-After", "3"), "", provider.Transient, "429", 3 * time.Second, "slow down"},
		{"503 Retry-After date", answer(503, "", "Retry-After", clock.Add(time.Minute).Format(http.TimeFormat)), "", provider.Transient, "503", time.Minute, ""},
		{"500", answer(500, "boom"), "", provider.Transient, "500", 0, "boom"},
		{"200 without id", answer(200, `{"ok":true}`), "", provider.Unknown, "200", 0, "may have been sent"},
		{"200 not JSON", answer(200, "OK"), "", provider.Unknown, "200", 0, ""},
		{"200 id is an object", answer(200, `{"id":{}}`), "", provider.Unknown, "200", 0, ""},
		{"204 empty", answer(204, ""), "", provider.Unknown, "204", 0, ""},
		{"304", answer(304, ""), "", provider.Unknown, "304", 0, "http.url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGateway(t)
			f.setRespond(tc.respond)
			g := newTestGateway(t, f.URL, f.Client())
			res, err := g.Send(context.Background(), msg())
			if tc.kind == 0 {
				if err != nil || res.ProviderID != tc.id || res.Status != smsflow.MessageSent {
					t.Fatalf("Send = %+v, %v; want id %s sent", res, err, tc.id)
				}
				return
			}
			pe := assertKind(t, err, tc.kind, tc.code)
			if pe.Retry != tc.retry {
				t.Errorf("Retry = %v, want %v", pe.Retry, tc.retry)
			}
			if !strings.Contains(pe.Message, tc.inMsg) {
				t.Errorf("message %q does not contain %q", pe.Message, tc.inMsg)
			}
			if got, _ := f.received(); len(got) != 1 {
				t.Errorf("gateway got %d requests, want 1 (Send must not retry)", len(got))
			}
		})
	}
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
	l.Close()
	g := newTestGateway(t, "http://"+addr+"/send", nil)
	_, err = g.Send(context.Background(), msg())
	assertKind(t, err, provider.Transient, "")
}

func TestSendResetAfterWritingIsUnknown(t *testing.T) {
	f := newFakeGateway(t)
	f.setRespond(func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		if tcp, ok := conn.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0)
		}
		conn.Close()
	})
	g := newTestGateway(t, f.URL, f.Client())
	_, err := g.Send(context.Background(), msg())
	assertKind(t, err, provider.Unknown, "")
	if got, _ := f.received(); len(got) != 1 {
		t.Fatal("the gateway did not get the request")
	}
}

func TestSendCanceledAfterWritingIsUnknown(t *testing.T) {
	f := newFakeGateway(t)
	got := make(chan struct{}, 1)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f.setRespond(func(http.ResponseWriter, *http.Request) { got <- struct{}{}; <-release })
	g := newTestGateway(t, f.URL, f.Client())
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-got; cancel() }()
	_, err := g.Send(ctx, msg())
	assertKind(t, err, provider.Unknown, "")
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   Config
		field string
	}{
		{"no url", Config{Secret: "s", PublicURL: testPublic}, "http.url"},
		{"relative url", Config{URL: "gateway.example/send", Secret: "s", PublicURL: testPublic}, "http.url"},
		{"ftp url", Config{URL: "ftp://gateway.example/send", Secret: "s", PublicURL: testPublic}, "http.url"},
		{"no secret", Config{URL: "https://gw.example/send", PublicURL: testPublic}, "http.secret"},
		{"no public url", Config{URL: "https://gw.example/send", Secret: "s"}, "public_url"},
	} {
		g, err := New(tc.cfg, nil, nil)
		var e *smsflow.Error
		if g != nil || !errors.As(err, &e) || e.Field != tc.field {
			t.Errorf("%s: New = %v, %v; want an error naming %s", tc.name, g, err, tc.field)
		}
	}
	g, err := New(Config{URL: "https://gw.example/send", Secret: "s", PublicURL: "https://sms.example.com/"}, nil, nil)
	if err != nil || g.statusURL != "https://sms.example.com/webhooks/http/status" || g.Name() != "http" {
		t.Errorf("valid config: %v, %+v", err, g)
	}
}
