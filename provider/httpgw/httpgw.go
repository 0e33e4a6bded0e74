package httpgw

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/provider"
)

// Header names and limits of the wire format (see the package comment).
const (
	TimestampHeader = "X-Smsflow-Timestamp"
	SignatureHeader = "X-Smsflow-Signature"
	// MaxSkew is how far a request's timestamp may be from the receiver's
	// clock.
	MaxSkew = 5 * time.Minute
)

// Webhook paths, relative to Config.PublicURL.
const (
	StatusPath  = "/webhooks/http/status"
	InboundPath = "/webhooks/http/inbound"
)

// DefaultTimeout bounds one call to the gateway when New is given no
// client.
const DefaultTimeout = 30 * time.Second

// Config is where the gateway is and the secret both sides sign with.
type Config struct {
	URL       string // the gateway's send endpoint, e.g. "https://gateway.example/send"
	Secret    string // shared HMAC secret (config http.secret)
	PublicURL string // smsflow's base URL, where the gateway posts back
}

// The provider contracts it meets.
var (
	_ provider.Provider = (*Gateway)(nil)
	_ provider.Webhooks = (*Gateway)(nil)
)

// Gateway is the provider. It is safe for concurrent use.
type Gateway struct {
	cfg       Config
	statusURL string
	client    *http.Client
	log       *slog.Logger
	now       func() time.Time
}

// New checks cfg and returns the provider. client may be nil (a client with
// DefaultTimeout), log may be nil (discard). Every problem with cfg is
// reported at once, each naming its configuration key.
func New(cfg Config, client *http.Client, log *slog.Logger) (*Gateway, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, smsflow.FieldErrorf(smsflow.EINVALID, field, format, args...))
	}
	cfg.URL = strings.TrimSpace(cfg.URL)
	if u, err := url.Parse(cfg.URL); cfg.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("http.url", "http.url %q is not the gateway's absolute http(s) send URL, like https://gateway.example/send", cfg.URL)
	}
	if cfg.Secret == "" {
		bad("http.secret", "http.secret is empty: set a long random string (or SMSFLOW_HTTP_SECRET) and give the same one to the gateway; it signs requests both ways")
	}
	publicURL, err := baseURL(cfg.PublicURL)
	if err != nil {
		bad("public_url", "public_url %s: the gateway posts delivery reports and inbound texts to it", err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	cfg.PublicURL = publicURL
	if client == nil {
		client = provider.HTTPClient(DefaultTimeout)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Gateway{cfg: cfg, statusURL: publicURL + StatusPath, client: client, log: log, now: time.Now}, nil
}

// baseURL checks that s is an absolute http(s) URL without query or
// fragment and returns it without a trailing slash.
func baseURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("is empty: give an absolute URL like https://sms.example.com")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an absolute http(s) URL like https://sms.example.com", s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q must not have a query or fragment", s)
	}
	return strings.TrimRight(s, "/"), nil
}

// Name is "http", the provider's name in the configuration.
func (g *Gateway) Name() string { return "http" }
