package httpx

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsflow/smsflow/provider"
)

// post is one call through Do to url with client.
func post(t *testing.T, ctx context.Context, client *http.Client, url string) (*http.Response, *provider.Error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader("To=%2B14155550100&Body=hi"))
	if err != nil {
		t.Fatal(err)
	}
	resp, perr := Do(client, req, "the peer")
	if resp != nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, perr
}

// server answers with respond and counts the requests it read.
func server(t *testing.T, respond http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		respond(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// stall makes a handler that says on got that it read the request, then
// answers nothing until the test ends. Call it after server, so that its
// release runs before the server's Close (which waits for the handler).
func stall(t *testing.T) (http.HandlerFunc, <-chan struct{}) {
	got := make(chan struct{}, 1)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // before the server's Close
	return func(http.ResponseWriter, *http.Request) {
		got <- struct{}{}
		<-release
	}, got
}

func wantKind(t *testing.T, perr *provider.Error, kind provider.ErrorKind, says string) {
	t.Helper()
	if perr == nil {
		t.Fatalf("no error, want %s", kind)
	}
	if perr.Kind != kind {
		t.Fatalf("kind %s, want %s (%v)", perr.Kind, kind, perr)
	}
	if !strings.Contains(perr.Message, says) {
		t.Errorf("message %q does not say %q", perr.Message, says)
	}
}

func TestDoAnswerIsReturned(t *testing.T) {
	srv, n := server(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	resp, perr := post(t, context.Background(), srv.Client(), srv.URL)
	if perr != nil {
		t.Fatal(perr)
	}
	if resp.StatusCode != http.StatusTeapot || n.Load() != 1 {
		t.Errorf("status %d after %d requests, want 418 after 1: any answer is the caller's to read", resp.StatusCode, n.Load())
	}
}

// A failure before a connection was obtained sent nothing: Transient, so
// the sender retries without risking a second text.
func TestDoNotReachedIsTransient(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // nothing listens there now
		_, perr := post(t, context.Background(), &http.Client{}, "http://"+addr)
		wantKind(t, perr, provider.Transient, "the peer was not reached, nothing was sent")
	})
	t.Run("dns", func(t *testing.T) {
		client := &http.Client{Transport: &http.Transport{
			DialContext: func(_ context.Context, _, addr string) (net.Conn, error) {
				host, _, _ := net.SplitHostPort(addr)
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
			},
		}}
		_, perr := post(t, context.Background(), client, "http://api.peer.invalid")
		wantKind(t, perr, provider.Transient, "was not reached")
	})
	t.Run("canceled before sending", func(t *testing.T) {
		srv, n := server(t, func(http.ResponseWriter, *http.Request) {})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, perr := post(t, ctx, srv.Client(), srv.URL)
		wantKind(t, perr, provider.Transient, "was not reached")
		if n.Load() != 0 {
			t.Error("a canceled call reached the server")
		}
	})
}

// A failure after the request was handed to a connection may have sent the
// message: Unknown, never retried blindly.
func TestDoBrokenOffIsUnknown(t *testing.T) {
	t.Run("canceled after writing", func(t *testing.T) {
		var h http.HandlerFunc
		srv, n := server(t, func(w http.ResponseWriter, r *http.Request) { h(w, r) })
		h, got := stall(t) // after the server: its release runs before the server's Close
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-got; cancel() }()
		_, perr := post(t, ctx, srv.Client(), srv.URL)
		wantKind(t, perr, provider.Unknown, "the call to the peer broke off")
		if n.Load() != 1 {
			t.Fatal("the server did not get the request")
		}
	})
	t.Run("client timeout after writing", func(t *testing.T) {
		var h http.HandlerFunc
		srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) { h(w, r) })
		h, got := stall(t)
		client := srv.Client()
		client.Timeout = 200 * time.Millisecond
		_, perr := post(t, context.Background(), client, srv.URL)
		wantKind(t, perr, provider.Unknown, "may have been sent")
		select {
		case <-got:
		default:
			t.Fatal("the server never saw the request")
		}
	})
	t.Run("reset after writing", func(t *testing.T) {
		srv, n := server(t, func(w http.ResponseWriter, _ *http.Request) {
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
		_, perr := post(t, context.Background(), srv.Client(), srv.URL)
		wantKind(t, perr, provider.Unknown, "may have been sent")
		if n.Load() != 1 {
			t.Fatal("the server did not get the request")
		}
	})
}

func TestBeforeSending(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"dial", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("x")}, true},
		{"read", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("x")}, false},
		{"deadline", context.DeadlineExceeded, true},
		{"eof", errors.New("unexpected EOF"), false},
	} {
		if got := beforeSending(tc.err); got != tc.want {
			t.Errorf("%s: beforeSending = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{"0", 0},
		{"-3", 0},
		{"999999999", 24 * time.Hour},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"soon", 0},
	} {
		h := http.Header{}
		if tc.header != "" {
			h.Set("Retry-After", tc.header)
		}
		if got := RetryAfter(h, now); got != tc.want {
			t.Errorf("Retry-After %q = %v, want %v", tc.header, got, tc.want)
		}
	}
}
