package config

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
)

// EventRate is an ingestion limit: at most Events per Per, on average. The
// zero EventRate means no limit.
type EventRate struct {
	Events int
	Per    time.Duration
}

// IsZero reports whether the rate sets no limit.
func (r EventRate) IsZero() bool { return r.Events == 0 }

// PerSecond is the rate in events per second.
func (r EventRate) PerSecond() float64 {
	if r.IsZero() {
		return 0
	}
	return float64(r.Events) / r.Per.Seconds()
}

// ParseEventRate reads an ingestion limit: a whole number of events per
// second, minute or hour ("200/s", "1000/m"); "" means no limit. key names
// the setting in the error.
func ParseEventRate(key, s string) (EventRate, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return EventRate{}, nil
	}
	bad := func(why string) (EventRate, error) {
		return EventRate{}, smsflow.FieldErrorf(smsflow.EINVALID, key, "%s %q %s: write events per second, minute or hour, like \"200/s\" or \"1000/m\" (or \"\" for no limit)", key, s, why)
	}
	num, unit, ok := strings.Cut(s, "/")
	if !ok {
		return bad("has no unit")
	}
	n, err := strconv.Atoi(strings.TrimSpace(num))
	switch {
	case err != nil:
		return bad("does not start with a whole number of events")
	case n <= 0:
		return bad("must be at least 1 event")
	case n > 100_000_000:
		return bad("is more than 100000000 events")
	}
	per := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[strings.TrimSpace(unit)]
	if per == 0 {
		return bad("has an unknown unit (s, m or h)")
	}
	return EventRate{Events: n, Per: per}, nil
}

// IngestLimits are the limits section's ingestion rates.
func (c Config) IngestLimits() (perIP, perKey EventRate, err error) {
	if perIP, err = ParseEventRate("limits.ingest_per_ip", c.Limits.IngestPerIP); err != nil {
		return
	}
	perKey, err = ParseEventRate("limits.ingest_per_key", c.Limits.IngestPerKey)
	return
}

// AllowedLinkHosts is links.allowed_domains in the form the engine matches
// against: lower case, without a trailing dot, a leading "." kept (that
// host and its subdomains), public_url's host added.
func (c Config) AllowedLinkHosts() ([]string, error) {
	var out []string
	for i, d := range c.Links.AllowedDomains {
		h := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		bare := strings.TrimPrefix(h, ".")
		if bare == "" || strings.ContainsAny(bare, "/:@ *") || strings.Contains(bare, "..") {
			return nil, smsflow.FieldErrorf(smsflow.EINVALID, "links.allowed_domains", "links.allowed_domains[%d] %q is not a host name: write a host like shop.example, or .shop.example for it and its subdomains", i, d)
		}
		out = append(out, h)
	}
	if u, err := url.Parse(c.PublicURL); err == nil && u.Hostname() != "" {
		out = append(out, strings.ToLower(u.Hostname()))
	}
	return out, nil
}

// checkKeysAndLimits validates the keys and the limits section.
func (c Config) checkKeysAndLimits() error {
	if c.ServerKey != "" && c.ServerKey == c.WriteKey {
		return smsflow.FieldErrorf(smsflow.EINVALID, "server_key", "server_key is the same as write_key: the write key is public (it sits in web pages), the server key must be a secret of its own")
	}
	if _, _, err := c.IngestLimits(); err != nil {
		return err
	}
	if _, err := c.AllowedLinkHosts(); err != nil {
		return err
	}
	if sl := c.Limits.ServicePerNumber; sl.Max > 0 && strings.TrimSpace(sl.Per) == "" {
		return smsflow.FieldErrorf(smsflow.EINVALID, "limits.service_per_number.per", "limits.service_per_number.per is empty: write a window like 24h")
	}
	return nil
}
