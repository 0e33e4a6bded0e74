package config

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/sms/links"
)

// Check validates the whole configuration beyond its YAML shape —
// governance, keywords, footer, link UTM keys, senders, keys and limits, the
// provider's name, log settings — and returns every problem found (as
// Problems), each naming the key that is wrong and what to write instead, at
// the key's line and column in the file or naming the environment variable
// that set it. The provider's own settings (credentials, URLs) are checked
// by the provider package, which the caller runs too (serve, validate).
func (c Config) Check() error {
	var errs []error
	if _, err := c.Policy(); err != nil {
		errs = append(errs, err)
	}
	if err := c.KeywordConfig().Validate(); err != nil {
		errs = append(errs, smsflow.FieldErrorf(smsflow.EINVALID, "keywords", "keywords: %v", err))
	}
	if f := strings.TrimSpace(c.Brand.Footer); f != "" && !policy.HasOptOutLanguage(f) {
		errs = append(errs, smsflow.FieldErrorf(smsflow.EINVALID, "brand.footer", "brand.footer %q does not tell the reader how to opt out; write e.g. %q (or \"\" to turn the footer off)", f, policy.DefaultFooter))
	}
	if err := links.CheckUTM(c.Links.UTM); err != nil {
		errs = append(errs, smsflow.FieldErrorf(smsflow.EINVALID, "links.utm", "links.utm: %v", err))
	}
	if err := c.checkSenders(); err != nil {
		errs = append(errs, err)
	}
	if err := c.checkKeysAndLimits(); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.Workers(); err != nil {
		errs = append(errs, smsflow.FieldErrorf(smsflow.EINVALID, "engine_workers", "%v", err))
	}
	if _, err := c.NodeLease(); err != nil {
		errs = append(errs, smsflow.FieldErrorf(smsflow.EINVALID, "node_ttl", "%v", err))
	}
	errs = append(errs, c.checkService()...)
	ps := c.Locate(errors.Join(errs...))
	ps.Sort()
	return ps.OrNil()
}

// Providers are the values of the provider key.
var Providers = []string{"console", "twilio", "smpp", "http"}

// checkService checks the keys serve reads at start: provider,
// trigger_max_age, log_level and log_format.
func (c Config) checkService() []error {
	var errs []error
	if name := strings.TrimSpace(c.Provider); name != "" && !slices.Contains(Providers, name) {
		hint := ""
		if s := flow.Suggest(name, Providers); s != "" {
			hint = fmt.Sprintf(" (did you mean `%s`?)", s)
		}
		errs = append(errs, smsflow.FieldErrorf(smsflow.EINVALID, "provider", "provider `%s` is not one of %s or %s%s", name, strings.Join(Providers[:len(Providers)-1], ", "), Providers[len(Providers)-1], hint))
	}
	if d, err := flow.ParseDuration(c.TriggerMaxAge); err != nil {
		errs = append(errs, smsflow.FieldErrorf(smsflow.EINVALID, "trigger_max_age", "trigger_max_age: %s", smsflow.ErrorMessage(err)))
	} else if d <= 0 {
		errs = append(errs, smsflow.FieldErrorf(smsflow.EINVALID, "trigger_max_age", "trigger_max_age must be longer than zero (default 6h): events older than it when received trigger no flow"))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); c.LogLevel != "" && err != nil {
		errs = append(errs, smsflow.FieldErrorf(smsflow.EINVALID, "log_level", "log_level `%s` is not one of debug, info, warn, error", c.LogLevel))
	}
	if c.LogFormat != "" && c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, smsflow.FieldErrorf(smsflow.EINVALID, "log_format", "log_format `%s` is not text or json", c.LogFormat))
	}
	return errs
}

// KeywordConfig is the keywords section as the keyword classifier takes it.
func (c Config) KeywordConfig() policy.KeywordConfig {
	return policy.KeywordConfig{Join: c.Keywords.Join, OptOut: c.Keywords.OptOut, NoRevocation: !c.Keywords.Revocation}
}

// Policy turns the governance keys (quiet_hours, caps, on_cap,
// smart_sending, max_deferral) into the policy every send is checked
// against, with an error naming the key for each one that is wrong.
func (c Config) Policy() (policy.Policy, error) {
	p := policy.Default()
	var errs []error
	bad := func(key string, err error) {
		errs = append(errs, smsflow.FieldErrorf(smsflow.EINVALID, key, "%s: %s", key, smsflow.ErrorMessage(err)))
	}
	w, err := policy.ParseWindow(c.QuietHours.Allowed)
	if err != nil {
		bad("quiet_hours.allowed", err)
	}
	p.Quiet = policy.QuietHours{Allowed: w, StateRules: c.QuietHours.StateRules, Exempt: c.QuietHours.Exempt, OnQuiet: c.QuietHours.OnQuiet}
	for i, cp := range c.Caps {
		per, err := flow.ParseDuration(cp.Per)
		if err != nil {
			bad(fmt.Sprintf("caps[%d].per", i), err)
		}
		p.Caps = append(p.Caps, policy.Cap{Name: cp.Name, Max: cp.Max, Per: per, Categories: cp.Categories})
	}
	p.OnCap = c.OnCap
	if p.SmartSending, err = parseHours(c.SmartSending); err != nil {
		bad("smart_sending", err)
	}
	if p.MaxDeferral, err = flow.ParseDuration(c.MaxDeferral); err != nil {
		bad("max_deferral", err)
	}
	p.ServicePerNumber = policy.ServiceLimit{Max: c.Limits.ServicePerNumber.Max}
	if p.ServicePerNumber.Max > 0 {
		if p.ServicePerNumber.Per, err = flow.ParseDuration(c.Limits.ServicePerNumber.Per); err != nil {
			bad("limits.service_per_number.per", err)
		}
	}
	if len(errs) > 0 {
		return p, errors.Join(errs...)
	}
	return p, p.Validate()
}

// parseHours reads smart_sending: a duration ("4h", "0h") or a bare number
// of hours ("4").
func parseHours(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	if strings.Trim(s, "0123456789") == "" {
		s += "h"
	}
	return flow.ParseDuration(s)
}
