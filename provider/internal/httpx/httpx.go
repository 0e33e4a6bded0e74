// Package httpx is the HTTP transport the HTTP providers (twilio, httpgw)
// share: one call classified by whether the message may have left, and the
// Retry-After an API answers with. Both providers send one message per
// request, so the same two rules decide whether a failed call may be
// retried without sending a text twice.
package httpx

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/smsflow/smsflow/provider"
)

// Do sends req and, when it fails without a response, classifies the
// failure: Transient when the request certainly never reached the server
// (no connection was obtained: DNS, refused, TLS handshake, canceled while
// dialing), Unknown otherwise (a timeout or reset after a connection was
// given the request: the provider may have accepted the message). peer
// names the far end in the error's message ("Twilio", "the gateway").
//
// It relies on the GetConn/GotConn hooks of net/http/httptrace, which
// http.Transport calls for every attempt.
func Do(client *http.Client, req *http.Request, peer string) (*http.Response, *provider.Error) {
	var connected atomic.Bool
	trace := &httptrace.ClientTrace{
		GetConn: func(string) { connected.Store(false) },
		GotConn: func(httptrace.GotConnInfo) { connected.Store(true) },
	}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := client.Do(req)
	if err == nil {
		return resp, nil
	}
	if !connected.Load() && beforeSending(err) {
		return nil, &provider.Error{Kind: provider.Transient, Message: peer + " was not reached, nothing was sent: " + err.Error()}
	}
	return nil, &provider.Error{Kind: provider.Unknown, Message: "the call to " + peer + " broke off after the request was handed to the connection; the message may have been sent: " + err.Error()}
}

// beforeSending reports whether err is of a kind that happens before a
// request is written: name resolution, dialing, the TLS handshake, or the
// context ending while waiting for a connection.
func beforeSending(err error) bool {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	switch {
	case errors.As(err, &dnsErr), errors.As(err, &certErr), errors.As(err, &recErr):
		return true
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return true
	case errors.Is(err, syscall.ECONNREFUSED):
		return true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return true // only reached when no connection was obtained
	}
	return false
}

// RetryAfter reads a Retry-After header: delay-seconds or an HTTP date,
// capped at a day. It returns 0 when the header is absent, malformed or in
// the past.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		const ceiling = 24 * time.Hour
		if secs > int64(ceiling/time.Second) {
			return ceiling
		}
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}
