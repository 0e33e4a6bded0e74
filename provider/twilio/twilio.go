package twilio

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/provider"
)

// DefaultAPIBase is where the Messages API lives unless Config.APIBase says
// otherwise (a local test server, a regional edge).
const DefaultAPIBase = "https://api.twilio.com"

// Webhook paths, relative to Config.PublicURL. StatusPath is sent with
// every message as its StatusCallback; InboundPath is the URL to set as the
// number's "A message comes in" webhook.
const (
	StatusPath  = "/webhooks/twilio/status"
	InboundPath = "/webhooks/twilio/inbound"
)

// Opt-out reply modes (config twilio.opt_out_replies).
const (
	// OptOutRepliesTwilio: Twilio's Advanced Opt-Out answers STOP/START/HELP
	// itself; smsflow only records the change.
	OptOutRepliesTwilio = "twilio"
	// OptOutRepliesSmsflow: smsflow sends the confirmation texts.
	OptOutRepliesSmsflow = "smsflow"
)

// Config is the Twilio account and sender. Exactly one of From and
// MessagingServiceSID is set.
type Config struct {
	AccountSID          string // AC followed by 32 hex digits
	AuthToken           string // signs API calls (Basic auth) and webhooks
	From                string // sending number or sender id, e.g. "+15005550006"
	MessagingServiceSID string // MG followed by 32 hex digits, instead of From
	APIBase             string // default DefaultAPIBase
	PublicURL           string // base URL Twilio calls back, e.g. "https://sms.example.com"
	OptOutReplies       string // OptOutRepliesTwilio (default) or OptOutRepliesSmsflow
}

// The provider contracts it meets.
var (
	_ provider.Provider = (*Twilio)(nil)
	_ provider.Webhooks = (*Twilio)(nil)
)

// Twilio is the provider. It is safe for concurrent use.
type Twilio struct {
	cfg       Config
	endpoint  string // the Messages.json URL
	statusURL string // StatusCallback given to Twilio
	client    *http.Client
	log       *slog.Logger
	now       func() time.Time // for Retry-After dates
}

var (
	accountSIDShape = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	serviceSIDShape = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
)

// DefaultTimeout bounds one API call when New is given no client.
const DefaultTimeout = 30 * time.Second

// New checks cfg and returns the provider. client may be nil (a client with
// DefaultTimeout), log may be nil (discard). Every problem with cfg is
// reported at once, each naming its configuration key.
func New(cfg Config, client *http.Client, log *slog.Logger) (*Twilio, error) {
	cfg.AccountSID = strings.TrimSpace(cfg.AccountSID)
	cfg.From = strings.TrimSpace(cfg.From)
	cfg.MessagingServiceSID = strings.TrimSpace(cfg.MessagingServiceSID)
	if cfg.APIBase == "" {
		cfg.APIBase = DefaultAPIBase
	}
	if cfg.OptOutReplies == "" {
		cfg.OptOutReplies = OptOutRepliesTwilio
	}
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, smsflow.FieldErrorf(smsflow.EINVALID, field, format, args...))
	}
	switch {
	case cfg.AccountSID == "":
		bad("twilio.account_sid", "twilio.account_sid is empty: copy the Account SID (AC…) from console.twilio.com")
	case !accountSIDShape.MatchString(cfg.AccountSID):
		bad("twilio.account_sid", "twilio.account_sid must be \"AC\" followed by 32 hex digits (the Account SID on console.twilio.com), not an API key (SK…) or a number")
	}
	if cfg.AuthToken == "" {
		bad("twilio.auth_token", "twilio.auth_token is empty: set it (or SMSFLOW_TWILIO_AUTH_TOKEN) to the account's Auth Token from console.twilio.com")
	}
	switch {
	case cfg.From == "" && cfg.MessagingServiceSID == "":
		bad("twilio.from", "set twilio.from (the sending number, e.g. +15005550006) or twilio.messaging_service_sid (MG…)")
	case cfg.From != "" && cfg.MessagingServiceSID != "":
		bad("twilio.from", "set only one of twilio.from and twilio.messaging_service_sid: Twilio refuses a message that has both")
	case cfg.MessagingServiceSID != "" && !serviceSIDShape.MatchString(cfg.MessagingServiceSID):
		bad("twilio.messaging_service_sid", "twilio.messaging_service_sid must be \"MG\" followed by 32 hex digits")
	}
	apiBase, err := baseURL(cfg.APIBase)
	if err != nil {
		bad("twilio.api_base", "twilio.api_base %s (default %s)", err, DefaultAPIBase)
	}
	publicURL, err := baseURL(cfg.PublicURL)
	if err != nil {
		bad("public_url", "public_url %s: Twilio posts status callbacks and signs webhooks over it", err)
	}
	if cfg.OptOutReplies != OptOutRepliesTwilio && cfg.OptOutReplies != OptOutRepliesSmsflow {
		bad("twilio.opt_out_replies", "twilio.opt_out_replies is %q: use %q (Twilio answers STOP/HELP itself) or %q", cfg.OptOutReplies, OptOutRepliesTwilio, OptOutRepliesSmsflow)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	cfg.APIBase, cfg.PublicURL = apiBase, publicURL
	if client == nil {
		client = provider.HTTPClient(DefaultTimeout)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Twilio{
		cfg:       cfg,
		endpoint:  apiBase + "/2010-04-01/Accounts/" + url.PathEscape(cfg.AccountSID) + "/Messages.json",
		statusURL: publicURL + StatusPath,
		client:    client,
		log:       log,
		now:       time.Now,
	}, nil
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

// Name is "twilio".
func (t *Twilio) Name() string { return "twilio" }

// RepliesToOptOuts reports whether Twilio answers STOP, START and HELP
// itself (opt_out_replies: twilio), in which case smsflow records the
// consent change but sends no confirmation of its own: the person would
// get two.
func (t *Twilio) RepliesToOptOuts() bool { return t.cfg.OptOutReplies == OptOutRepliesTwilio }
