package template

import (
	"net/url"
	"strings"
	"unicode"

	"github.com/smsflow/smsflow/sms/segments"
)

// Limits on one value from a public source (an event sent with the write
// key, a trait it set) printed in a message. Such values are data from
// anyone who reads the web page; a few words are what a template needs from
// them (a first name, an order number, a carrier), a paragraph of
// instructions is what an abuser needs.
const (
	// PublicTextLimit is the most characters such a value prints.
	PublicTextLimit = 100
	// PublicURLLimit is the most characters kept of such a value that is
	// one http(s) URL, so that a tracking or checkout link survives whole;
	// its host must still be allowed (the engine's link check).
	PublicURLLimit = 1024
)

// Plain returns a value from a public source as plain text: every run of
// line breaks, tabs and other control characters (and the bidirectional
// overrides that make text read backwards) becomes one space, the ends are
// trimmed, and the result is cut to PublicTextLimit characters
// (PublicURLLimit for a lone http(s) URL), never inside a character.
func Plain(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || bidiControl(r) {
			if !space {
				b.WriteByte(' ')
				space = true
			}
			continue
		}
		space = false
		b.WriteRune(r)
	}
	out := strings.TrimSpace(b.String())
	limit := PublicTextLimit
	if isURL(out) {
		limit = PublicURLLimit
	}
	if cut, ok := segments.Cut(out, limit); ok {
		out = strings.TrimRightFunc(cut, unicode.IsSpace)
	}
	return out
}

// PlainValue applies Plain to every string inside v: a decoded JSON value
// whose maps and lists are copied, never changed in place.
func PlainValue(v any) any {
	return MapLeaves(v, func(x any) any {
		if s, ok := x.(string); ok {
			return Plain(s)
		}
		return x
	})
}

// MapLeaves returns a copy of a decoded JSON value with f applied to every
// value in it that is not a map or a list (map keys are kept).
func MapLeaves(v any, f func(any) any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = MapLeaves(x, f)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = MapLeaves(x, f)
		}
		return out
	}
	return f(v)
}

// bidiControl reports the explicit bidirectional formatting characters
// (embeddings, overrides, isolates and marks).
func bidiControl(r rune) bool {
	return r == '\u200e' || r == '\u200f' || r == '\u061c' || r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069'
}

// isURL reports whether s is one absolute http(s) URL with a host.
func isURL(s string) bool {
	if strings.ContainsAny(s, " \t") {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
