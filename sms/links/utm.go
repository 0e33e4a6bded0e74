package links

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// UTMKeys are the UTM parameters AddUTM adds, in the order it adds them.
// Configuration (links.utm) names them without the "utm_" prefix; the
// prefixed spelling is accepted too.
var UTMKeys = []string{"source", "medium", "campaign", "content", "term"}

// CheckUTM validates a links.utm setting: every key must be one of UTMKeys
// (with or without "utm_"), given once. It does not look at the values,
// which are Liquid and are checked when a link is made.
func CheckUTM(utm map[string]string) error {
	seen := map[string]string{}
	var errs []error
	for _, k := range sortedKeys(utm) {
		name, ok := utmName(k)
		if !ok {
			errs = append(errs, fmt.Errorf("links.utm: unknown key %q; use source, medium, campaign, content or term", k))
			continue
		}
		if prev, dup := seen[name]; dup {
			errs = append(errs, fmt.Errorf("links.utm: %q and %q are the same parameter; keep one", prev, k))
			continue
		}
		seen[name] = k
	}
	return errors.Join(errs...)
}

// AddUTM adds the UTM parameters of utm (keys as in UTMKeys) to the query of
// the destination URL dest and returns the result. It never overwrites a
// parameter dest already has (compared case-insensitively), keeps dest's
// own query and fragment byte for byte, and skips a value that renders
// empty. Each value goes through render first (the engine renders it as
// Liquid with the message's scope); a nil render uses values as written.
//
// Only absolute http(s) URLs get parameters; any other destination is
// returned unchanged. The returned URL is always usable: when dest does not
// parse it is dest itself, and when a value fails to render or a key is
// unknown the other parameters are still added and the error names what was
// left out.
func AddUTM(dest string, utm map[string]string, render func(string) (string, error)) (string, error) {
	if len(utm) == 0 {
		return dest, nil
	}
	u, err := url.Parse(dest)
	if err != nil {
		return dest, fmt.Errorf("add UTM parameters: destination %q is not a URL: %w", dest, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.Opaque != "" {
		return dest, nil
	}
	base, frag := dest, ""
	if i := strings.IndexByte(dest, '#'); i >= 0 {
		base, frag = dest[:i], dest[i:]
	}
	present := queryKeys(base)

	values := map[string]string{} // "source" → raw value
	var errs []error
	for _, k := range sortedKeys(utm) {
		name, ok := utmName(k)
		if !ok {
			errs = append(errs, fmt.Errorf("links.utm: unknown key %q left out; use source, medium, campaign, content or term", k))
			continue
		}
		if _, dup := values[name]; dup {
			continue // CheckUTM reports it; the first spelling in sort order wins
		}
		values[name] = utm[k]
	}
	var add []string
	for _, name := range UTMKeys {
		raw, ok := values[name]
		if !ok || present["utm_"+name] {
			continue
		}
		v := raw
		if render != nil {
			if v, err = render(raw); err != nil {
				errs = append(errs, fmt.Errorf("links.utm.%s %q left out: %w", name, raw, err))
				continue
			}
		}
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		add = append(add, "utm_"+name+"="+url.QueryEscape(v))
	}
	if len(add) > 0 {
		sep := "&"
		switch q := strings.IndexByte(base, '?'); {
		case q < 0:
			sep = "?"
		case strings.HasSuffix(base, "?") || strings.HasSuffix(base, "&"):
			sep = ""
		}
		base += sep + strings.Join(add, "&")
	}
	return base + frag, errors.Join(errs...)
}

// utmName maps a configuration key ("source", "utm_source", "Source") to
// the UTMKeys name.
func utmName(key string) (string, bool) {
	k := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(key)), "utm_")
	for _, name := range UTMKeys {
		if k == name {
			return name, true
		}
	}
	return "", false
}

// queryKeys returns the lower-cased parameter names in the query of
// base (a URL without its fragment). Both & and ; count as separators, as
// some servers read them, so a parameter is never added twice.
func queryKeys(base string) map[string]bool {
	keys := map[string]bool{}
	q := strings.IndexByte(base, '?')
	if q < 0 {
		return keys
	}
	for _, part := range strings.FieldsFunc(base[q+1:], func(r rune) bool { return r == '&' || r == ';' }) {
		k, _, _ := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		keys[strings.ToLower(strings.TrimSpace(k))] = true
	}
	return keys
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
