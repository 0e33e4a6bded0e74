// Package provider is the outcome edge of the loop: the one small interface
// every SMS gateway implements (console, twilio, smpp, http). Rate limiting,
// retries and crash safety live once in the send pipeline (delivery.Sender),
// not in each adapter.
package provider

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/smsflow/smsflow"
)

// Result is what a provider answered for one message.
type Result struct {
	ProviderID string // the provider's id for the message
	// Status is the message's status after the call: usually "sent"; a
	// provider that knows delivery at once (console) says "delivered".
	Status string
}

// Provider sends SMS. Send must not retry by itself: the pipeline decides.
// A failed Send returns an *Error saying what kind of failure it was; any
// other error is treated as ErrUnknown (the message may have gone out).
type Provider interface {
	Name() string
	Send(ctx context.Context, m *smsflow.Message) (Result, error)
}

// ErrorKind says what the pipeline should do after a failed send.
type ErrorKind int

const (
	// Transient: the provider certainly did not accept the message (429,
	// 5xx, connection refused, throttled); retry with backoff.
	Transient ErrorKind = iota + 1
	// Permanent: the provider refused this message for good; do not retry.
	Permanent
	// Unsubscribed: the carrier or provider says the number opted out
	// (Twilio 21610); record it in the consent ledger (source carrier).
	Unsubscribed
	// InvalidNumber: the number cannot receive SMS (Twilio 21211, 21614,
	// 21635); mark it invalid, do not retry.
	InvalidNumber
	// Unknown: the message may or may not have been accepted (a timeout
	// after the request was written); never resent automatically.
	Unknown
)

func (k ErrorKind) String() string {
	switch k {
	case Transient:
		return "transient"
	case Permanent:
		return "permanent"
	case Unsubscribed:
		return "unsubscribed"
	case InvalidNumber:
		return "invalid_number"
	case Unknown:
		return "unknown"
	}
	return fmt.Sprintf("ErrorKind(%d)", int(k))
}

// Error is a classified send failure.
type Error struct {
	Kind    ErrorKind
	Code    string        // the provider's error code ("21610", "0x58"), "" when none
	Message string        // the provider's words, for people
	Retry   time.Duration // a provider-suggested wait (Retry-After), 0 when none
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s (code %s): %s", e.Kind, e.Code, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Message)
}

// Receipt is a delivery report for a message sent earlier.
type Receipt struct {
	ProviderID string // the id Send returned
	// MessageID is smsflow's id of the message when the provider echoes it
	// (Twilio: in the StatusCallback URL), 0 when not: it settles a message
	// whose call was interrupted before its provider id was recorded.
	MessageID int64
	Status    string    // smsflow.MessageSent, MessageDelivered, MessageUndelivered or MessageFailed
	ErrorCode string    // the provider's error code, "" when none
	At        time.Time // when the provider reported it (zero: now)
}

// Inbound is a text a contact sent us (MO).
type Inbound struct {
	From       string // the contact's number as the provider gave it
	To         string // our number or short code
	Body       string
	ProviderID string // the provider's id of the inbound message, for dedupe
}

// Events is what the pipeline offers a provider for what it receives. Both
// methods are safe for concurrent use; an error means "not stored, ask the
// provider to retry" (a 5xx answer to a webhook, no deliver_sm_resp).
type Events interface {
	Receipt(ctx context.Context, r Receipt) error
	Inbound(ctx context.Context, m Inbound) error
}

// Webhooks is implemented by providers that receive receipts and replies
// over HTTP: it returns handlers by path ("/webhooks/twilio/status"), which
// serve mounts without authentication (each handler verifies its own
// signature).
type Webhooks interface {
	Webhooks(ev Events) map[string]http.Handler
}

// Connector is implemented by providers that hold a connection of their own
// (SMPP): Connect starts it (and keeps reconnecting until Close), handing
// receipts and inbound messages to ev.
type Connector interface {
	Connect(ctx context.Context, ev Events) error
	Close() error
}

// MaxConnsPerHost is how many idle connections the HTTP providers keep to
// their API: at least as many as the sender has calls in flight (16), so a
// call reuses a connection instead of dialing (and, against a real API, a
// TLS handshake per message). Go's default transport keeps 2.
const MaxConnsPerHost = 64

// HTTPClient is the client the HTTP providers use when none is given: the
// default transport (proxy from the environment, HTTP/2, dial and TLS
// timeouts) with MaxConnsPerHost idle connections, and timeout per call.
func HTTPClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 2 * MaxConnsPerHost
	t.MaxIdleConnsPerHost = MaxConnsPerHost
	return &http.Client{Timeout: timeout, Transport: t}
}

// Reconciler is implemented by providers that can be asked whether they
// received a message whose call a crash interrupted (Twilio's list API).
// The SMPP protocol and a plain HTTP gateway cannot be asked.
type Reconciler interface {
	// Reconcile lists what the provider holds that may be m, sent to its
	// number no earlier than since: every candidate, or Unclear when the
	// provider's record cannot be compared (a redacted body). An error
	// means "ask again later".
	Reconcile(ctx context.Context, m *smsflow.Message, since time.Time) (Reconciled, error)
}

// Reconciled is what a provider holds that may be one interrupted message.
type Reconciled struct {
	// Candidates are the provider's messages that match the interrupted
	// one (number, body, time), newest first.
	Candidates []Result
	// Unclear says a message to the number in the time range could not be
	// compared (its body is redacted): whether m was received is unknown.
	Unclear bool
}
