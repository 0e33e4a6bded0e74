package metrics

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/provider/console"
	"github.com/smsflow/smsflow/provider/httpgw"
	"github.com/smsflow/smsflow/store/storetest"
)

// stopwatch returns start, then start+step, start+2·step … : each call a
// provider call's start or end.
func stopwatch(step time.Duration) func() time.Time {
	var n atomic.Int64
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return func() time.Time { return start.Add(time.Duration(n.Add(1)-1) * step) }
}

func TestProviderCountsAndTimesConsole(t *testing.T) {
	m := New(storetest.OpenSQLite(t), smsflow.WallClock{}, nil)
	m.now = stopwatch(120 * time.Millisecond)
	cons := console.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	p := Provider(cons, m)
	if p.Name() != "console" {
		t.Errorf("Name = %q", p.Name())
	}
	msg := &smsflow.Message{ID: 7, Phone: "+14155550100", Body: "hi"}
	res, err := p.Send(context.Background(), msg)
	if err != nil || res.Status != smsflow.MessageDelivered || res.ProviderID != "console-7" {
		t.Fatalf("Send = %+v, %v; want the console's own answer", res, err)
	}
	if cons.Sent() != 1 {
		t.Errorf("console sent %d, want 1", cons.Sent())
	}
	fams := scrape(t, m.Handler())
	if got := value(t, fams, ProviderSends, "provider=console,result=delivered"); got != 1 {
		t.Errorf("delivered = %v, want 1", got)
	}
	if got := value(t, fams, ProviderSends, "provider=console,result=transient"); got != 0 {
		t.Errorf("transient = %v, want 0 (reported before it happens)", got)
	}
	h := histogram(t, fams, ProviderCallDuration, "provider=console")
	if h.GetSampleCount() != 1 || h.GetSampleSum() != 0.12 {
		t.Errorf("latency count %d sum %v, want 1 and 0.12", h.GetSampleCount(), h.GetSampleSum())
	}
	if b1, b2 := bucket(t, h, 0.1), bucket(t, h, 0.25); b1 != 0 || b2 != 1 {
		t.Errorf("buckets le=0.1: %d, le=0.25: %d; want 0 and 1", b1, b2)
	}
	if _, ok := p.(provider.Webhooks); ok {
		t.Error("the wrapped console claims webhooks")
	}
	if _, ok := p.(provider.Connector); ok {
		t.Error("the wrapped console claims a connection")
	}
	u, ok := p.(interface{ Unwrap() provider.Provider })
	if !ok || u.Unwrap() != provider.Provider(cons) {
		t.Error("Unwrap does not return the console")
	}
	if Provider(cons, nil) != provider.Provider(cons) {
		t.Error("Provider(p, nil) is not p")
	}
}

// TestProviderResultsOverHTTP sends through the HTTP gateway provider to a
// real loopback server that accepts, throttles, then refuses.
func TestProviderResultsOverHTTP(t *testing.T) {
	answers := []struct {
		status int
		body   string
	}{{200, `{"id":"g-1"}`}, {503, `{"error":"busy"}`}, {400, `{"error":"bad number"}`}}
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := answers[int(calls.Add(1)-1)%len(answers)]
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(srv.Close)
	gw, err := httpgw.New(httpgw.Config{URL: srv.URL + "/send", Secret: "s3cret", PublicURL: "https://sms.glow.example"}, srv.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	m := New(storetest.OpenSQLite(t), smsflow.WallClock{}, nil)
	m.now = stopwatch(30 * time.Millisecond)
	p := Provider(gw, m)
	wantKinds := []provider.ErrorKind{0, provider.Transient, provider.Permanent}
	for i, want := range wantKinds {
		_, err := p.Send(context.Background(), &smsflow.Message{ID: int64(i + 1), Phone: "+14155550100", Body: "hi", Encoding: "GSM-7", Segments: 1})
		if got := kindOf(err); got != want {
			t.Errorf("send %d: error kind %v (%v), want %v: the error must pass through unchanged", i, got, err, want)
		}
	}
	fams := scrape(t, m.Handler())
	for result, want := range map[string]float64{"sent": 1, "transient": 1, "permanent": 1, "unknown": 0} {
		if got := value(t, fams, ProviderSends, "provider=http,result="+result); got != want {
			t.Errorf("%s{http,%s} = %v, want %v", ProviderSends, result, got, want)
		}
	}
	if h := histogram(t, fams, ProviderCallDuration, "provider=http"); h.GetSampleCount() != 3 || h.GetSampleSum() != 0.09 {
		t.Errorf("latency count %d sum %v, want 3 and 0.09", h.GetSampleCount(), h.GetSampleSum())
	}
	// The gateway receives receipts over webhooks: the wrapper keeps them.
	w, ok := p.(provider.Webhooks)
	if !ok {
		t.Fatal("the wrapped gateway lost its webhooks")
	}
	if hooks := w.Webhooks(nil); hooks[httpgw.StatusPath] == nil || hooks[httpgw.InboundPath] == nil {
		t.Errorf("webhooks = %v, want the gateway's status and inbound paths", hooks)
	}
	if _, ok := p.(provider.Connector); ok {
		t.Error("the wrapped gateway claims a connection")
	}
}

func kindOf(err error) provider.ErrorKind {
	if pe, ok := err.(*provider.Error); ok {
		return pe.Kind
	}
	if err != nil {
		return -1
	}
	return 0
}

// connected is a provider with a connection of its own (as SMPP is).
type connected struct {
	console.Console
	connects int
}

func (c *connected) Connect(context.Context, provider.Events) error { c.connects++; return nil }
func (c *connected) Close() error                                   { return nil }

func TestProviderKeepsTheConnection(t *testing.T) {
	m := New(storetest.OpenSQLite(t), smsflow.WallClock{}, nil)
	inner := &connected{}
	p := Provider(inner, m)
	c, ok := p.(provider.Connector)
	if !ok {
		t.Fatal("the wrapped provider lost its Connect")
	}
	if err := c.Connect(context.Background(), nil); err != nil || inner.connects != 1 {
		t.Errorf("Connect reached the provider %d times (%v), want 1", inner.connects, err)
	}
	if _, ok := p.(provider.Webhooks); ok {
		t.Error("the wrapped provider claims webhooks")
	}
}

func TestDecisionKind(t *testing.T) {
	for _, tc := range []struct {
		kind, reason string
		want         string
		ok           bool
	}{
		{"send", smsflow.DecisionSent, "sent", true},
		{"skip", "skipped:cap(rule=promo-daily)", "skipped:cap", true},
		{"skip", "skipped:collision(flow=cart)", "skipped:collision", true},
		{"skip", "skipped:template(missing variable name)", "skipped:template", true},
		{"skip", smsflow.DecisionReentry, "skipped:reentry", true},
		{"defer", "deferred:quiet_hours(until=2026-03-02T16:00:00Z)", "deferred:quiet_hours", true},
		{"defer", "held:flow_paused", "", false},
		{"cancel", smsflow.DecisionCanceledOptOut, "canceled:opt_out", true},
		{"cancel", "event:Order Completed", "", false}, // a run exited: not a decision
		{"error", "error:condition(x > 1: no such key)", "error:condition", true},
		{"enter", "trigger:Checkout Started", "", false},
		{"wait", "until=2026-03-02T16:00:00Z", "", false},
		{"exit", "goal", "", false},
		{"goal", "goal:Order Completed", "", false},
	} {
		got, ok := DecisionKind(engine.Trace{Kind: tc.kind, Reason: tc.reason})
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("DecisionKind(%s, %q) = %q, %v; want %q, %v", tc.kind, tc.reason, got, ok, tc.want, tc.ok)
		}
	}
}
