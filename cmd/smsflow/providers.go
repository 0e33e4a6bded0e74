package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/ingest/shopify"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/provider/console"
	"github.com/smsflow/smsflow/provider/httpgw"
	"github.com/smsflow/smsflow/provider/smpp"
	"github.com/smsflow/smsflow/provider/twilio"
)

// Provider names accepted by the provider key.
var providerNames = []string{"console", "twilio", "smpp", "http"}

// newProvider builds the configured provider (config key provider). Every
// problem with its settings is reported at once, each line naming the key
// to fix. client is the HTTP client of the HTTP providers (nil: their
// default).
func newProvider(cfg config.Config, client *http.Client, log *slog.Logger) (provider.Provider, error) {
	p, err := buildProvider(cfg, client, log)
	if err != nil {
		if smsflow.ErrorField(err) == "provider" {
			return nil, errors.New(plainMessage(err))
		}
		return nil, fmt.Errorf("provider %s is not configured correctly:\n  %s", cfg.Provider, indentErrors(err))
	}
	return p, nil
}

// buildProvider is newProvider with the provider's own errors as they are
// (joined *smsflow.Error, each with the key it is about). It connects
// nothing: the SMPP bind is Connect's.
func buildProvider(cfg config.Config, client *http.Client, log *slog.Logger) (provider.Provider, error) {
	switch name := strings.TrimSpace(cfg.Provider); name {
	case "", "console":
		return console.New(log), nil
	case "twilio":
		// The provider's own sender is the default one (the first of
		// twilio.senders); each message names the one it goes from.
		from, service := cfg.Twilio.From, cfg.Twilio.MessagingServiceSID
		if ss := cfg.Twilio.Senders; len(ss) > 0 {
			from, service = ss[0].From, ss[0].MessagingServiceSID
		}
		if _, err := reconcileAfter(cfg); err != nil {
			return nil, err
		}
		return nilIfError(twilio.New(twilio.Config{
			AccountSID: cfg.Twilio.AccountSID, AuthToken: cfg.Twilio.AuthToken, From: from,
			MessagingServiceSID: service, APIBase: cfg.Twilio.APIBase,
			PublicURL: cfg.PublicURL, OptOutReplies: cfg.Twilio.OptOutReplies,
		}, client, log.With("provider", "twilio")))
	case "http":
		return nilIfError(httpgw.New(httpgw.Config{URL: cfg.HTTP.URL, Secret: cfg.HTTP.Secret, PublicURL: cfg.PublicURL},
			client, log.With("provider", "http")))
	case "smpp":
		if u := strings.TrimSpace(cfg.SMPP.OnUnknown); u != "" && u != "hold" && u != "resend" {
			return nil, smsflow.FieldErrorf(smsflow.EINVALID, "smpp.on_unknown", "smpp.on_unknown is %q: use hold (an interrupted submit stays unknown for an operator) or resend (sent again: the number may get it twice)", u)
		}
		sc := smpp.Config{Addr: cfg.SMPP.Addr, SystemID: cfg.SMPP.SystemID, Password: cfg.SMPP.Password, SourceAddr: cfg.SMPP.SourceAddr}
		if len(cfg.SMPP.Senders) > 0 {
			// As configured, normalized: the addresses messages name.
			ss, serr := cfg.Senders()
			if serr != nil {
				return nil, serr
			}
			for _, x := range ss.List {
				sc.Senders = append(sc.Senders, x.Address)
			}
			sc.SourceAddr = sc.Senders[0]
		}
		return nilIfError(smpp.New(sc, log))
	default:
		return nil, smsflow.FieldErrorf(smsflow.EINVALID, "provider", "provider %q is not one of %s: set provider (or SMSFLOW_PROVIDER) to one of them",
			name, strings.Join(providerNames, ", "))
	}
}

// nilIfError returns a constructor's provider as the interface, a nil one
// (not a typed nil) with an error.
func nilIfError[P provider.Provider](p P, err error) (provider.Provider, error) {
	if err != nil {
		return nil, err
	}
	return p, nil
}

// checkConfig checks a configuration exactly as serve runs it: its values
// (config.Check) and the configured provider's own settings — credentials,
// URLs, what the provider's constructor refuses — by building the provider,
// which connects nothing. It returns every problem (config.Problems), each
// at its file:line:col or naming its environment variable. serve calls it
// before it touches the database, validate for each configuration file.
func checkConfig(cfg config.Config) error {
	var problems config.Problems
	if err := cfg.Check(); err != nil {
		problems = cfg.Locate(err)
	}
	reported := func(key string) bool {
		return slices.ContainsFunc(problems, func(p config.Problem) bool { return p.Key == key })
	}
	if reported("provider") {
		return problems // an unknown provider has no settings to check
	}
	if _, err := buildProvider(cfg, nil, slog.New(slog.DiscardHandler)); err != nil {
		for _, p := range cfg.Locate(err) {
			if p.Key == "" || !reported(p.Key) { // the senders check may have said it already
				problems = append(problems, p)
			}
		}
	}
	problems.Sort()
	return problems.OrNil()
}

// indentErrors puts each of a joined error's lines on its own indented line.
func indentErrors(err error) string {
	var lines []string
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		for _, e := range joined.Unwrap() {
			lines = append(lines, plainMessage(e))
		}
	} else {
		lines = []string{plainMessage(err)}
	}
	return strings.Join(lines, "\n  ")
}

// plainMessage is an error's words for people, without its code.
func plainMessage(err error) string {
	var e *smsflow.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// mountWebhooks serves the provider's webhooks (receipts, inbound texts)
// next to the API: each handler checks its own signature, so they sit
// outside the API's key checks. It returns the paths mounted, sorted.
func mountWebhooks(mux *http.ServeMux, p provider.Provider, ev provider.Events) []string {
	w, ok := p.(provider.Webhooks)
	if !ok {
		return nil
	}
	var paths []string
	for path, h := range w.Webhooks(ev) {
		mux.Handle(path, h)
		paths = append(paths, path)
	}
	sort.Strings(paths)
	return paths
}

// mountShopify serves POST /webhooks/shopify next to the API, whatever the
// provider: the handler checks X-Shopify-Hmac-Sha256 itself. Without
// shopify.secret the route answers 404 saying to set it, and no path is
// returned for the banner.
func mountShopify(mux *http.ServeMux, cfg config.Config, w *ingest.Writer, clock smsflow.Clock, log *slog.Logger) []string {
	mux.Handle("POST "+shopify.Path, &shopify.Webhook{Secret: cfg.Shopify.Secret, Region: cfg.DefaultRegion,
		Writer: w, Clock: clock, Log: log.With("webhook", "shopify"), OptIn: ingest.OptInOptionsFromConfig(cfg)})
	if cfg.Shopify.Secret == "" {
		return nil
	}
	return []string{shopify.Path}
}

// senderAddresses are the configured senders as the send pipeline takes
// them: each address with its own pacing, the default first.
func senderAddresses(s config.Senders) []delivery.Address {
	out := make([]delivery.Address, 0, len(s.List))
	for _, x := range s.List {
		p := x.Pacing
		out = append(out, delivery.Address{From: x.Address, Pacing: delivery.Pacing{Sender: p.Sender, Segments: p.Rate.Segments, Per: p.Rate.Per, DailyCap: p.DailyCap}})
	}
	return out
}

// reconcileAfter is twilio.reconcile_after: how long a message whose call
// a crash interrupted, and that Twilio has no record of, waits before it is
// sent again.
func reconcileAfter(cfg config.Config) (time.Duration, error) {
	v := strings.TrimSpace(cfg.Twilio.ReconcileAfter)
	if v == "" {
		return delivery.DefaultReconcileAfter, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second || d > 7*24*time.Hour {
		return 0, smsflow.FieldErrorf(smsflow.EINVALID, "twilio.reconcile_after", "twilio.reconcile_after is %q: write a duration between 1s and 168h, e.g. 10m (how long Twilio is given to show an interrupted message before it is sent again)", v)
	}
	return d, nil
}

// sendRecovery sets how the sender settles the messages a crash left
// unknown: asked of the provider when it can be (Twilio), sent again when
// the provider dedupes (http.idempotent) or the operator chose so
// (smpp.on_unknown: resend), else held for an operator.
func sendRecovery(s *delivery.Sender, cfg config.Config, prov provider.Provider) error {
	if r, ok := prov.(provider.Reconciler); ok {
		d, err := reconcileAfter(cfg)
		if err != nil {
			return err
		}
		s.Reconciler, s.ReconcileAfter = r, d
		return nil
	}
	switch strings.TrimSpace(cfg.Provider) {
	case "http":
		s.ResendInterrupted = cfg.HTTP.Idempotent
	case "smpp":
		s.ResendInterrupted = strings.TrimSpace(cfg.SMPP.OnUnknown) == "resend"
	}
	return nil
}
