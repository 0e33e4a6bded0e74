package phone

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
)

// Real log lines and message bodies, and what of them is a phone number.
func TestMaskText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		// E.164 and international formats.
		{"contact=phone:+14155550100", "contact=phone:+1415***0100"},
		{`phone +14155550100 already belongs to contact "ana@example.com"`, `phone +1415***0100 already belongs to contact "ana@example.com"`},
		{"call +1 (415) 555-0100 today", "call +1415***0100 today"},
		{"+44 20 7946 0958", "+44207***0958"},
		{"tel:+4915112345678.", "tel:+49151***5678."},
		{`{"to":"+14155550100","body":"hi"}`, `{"to":"+1415***0100","body":"hi"}`},
		{"+14155550100,+14155550101", "+1415***0100,+1415***0101"},
		{"电话+8613800138000", "电话+86138***8000"},
		// National formats in bodies.
		{"Text us at (415) 555-0100 or 415.555.0101!", "Text us at ***00 or ***01!"},
		// A grouped run that is no number may begin with one.
		{"200000000 0 0100000000", "***00 ***00"},
		{"(415) 555-0100 22", "***00 22"},
		{"call 415-555-0100", "call ***00"},
		{"my number is 4155550100", "my number is ***00"},
		{"1-415-555-0100", "***00"},
		{"14155550100", "***00"},
		{"07400 123456 is my mobile", "***56 is my mobile"},
		{"order 12 4155550100", "order 12 ***00"},
		{"from 447400123456 via SMPP", "from ***56 via SMPP"},
		{"电话4155550100", "电话***00"},
		// Already masked: unchanged (idempotent).
		{"from=+1415***0100 to=***66", "from=+1415***0100 to=***66"},
		{"+800123***5678", "+800123***5678"},
		// Not phones.
		{"message=12345 provider_id=2A00000F port=8080", "message=12345 provider_id=2A00000F port=8080"},
		{"sid=SM4155550100abcdef", "sid=SM4155550100abcdef"},
		{"at=2026-03-01T12:00:00Z took=1.234567891s", "at=2026-03-01T12:00:00Z took=1.234567891s"},
		{"unix=1733520000 ms=1733520000123", "unix=1733520000 ms=1733520000123"},
		{"shopify order 5927481065635", "shopify order 5927481065635"},
		{"listening on http://127.0.0.1:8080 version 1.25.0", "listening on http://127.0.0.1:8080 version 1.25.0"},
		{"id 123e4567-e89b-12d3-a456-426614174000", "id 123e4567-e89b-12d3-a456-426614174000"},
		{"short code 12345, 3 segments, 160 chars", "short code 12345, 3 segments, 160 chars"},
		{"+123456", "+123456"},
		{"", ""},
	} {
		if got := MaskText(c.in); got != c.want {
			t.Errorf("MaskText(%q) = %q, want %q", c.in, got, c.want)
		}
		if again := MaskText(c.want); again != c.want {
			t.Errorf("MaskText is not idempotent: %q → %q", c.want, again)
		}
	}
}

// digitsRe finds what would identify a number in a log: 7 digits in a row.
var digitsRe = regexp.MustCompile(`\d{7}`)

// The log lines of issue 16 item 12, through a handler with MaskAttr: no
// number reaches the output, in text or JSON, at any level, in the message,
// an attribute, a group or an error; a masked value is not masked again.
func TestMaskAttr(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		opts := &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{} // its nanoseconds are digits too
			}
			return MaskAttr(groups, a)
		}}
		var h slog.Handler = slog.NewTextHandler(&buf, opts)
		if format == "json" {
			h = slog.NewJSONHandler(&buf, opts)
		}
		log := slog.New(h)
		log.Warn("send failed", "contact", "phone:+14155550100", "message", 42)
		log.Debug("provider accepted", "to", "+14155550100", "body", "Call me at 415-555-0101")
		log.Info("inbound SMS", "from", Mask("+14155550166"), "to", "12345")
		log.Error("store inbound message", "err", fmt.Errorf("contact %q: %w", "phone:+14155550102", errors.New("phone +14155550102 is taken")))
		log.Info("number +14155550103 opted out")
		log.With("contact", "phone:+14155550104").WithGroup("run").Info("entered", "phone", "+14155550105", "ids", []string{"phone:+14155550106"})
		log.Info("typed numbers stay", "message", int64(4155550100), "count", 14155550100)
		out := buf.String()
		if got := digitsRe.FindAllString(strings.ReplaceAll(out, "4155550100", ""), -1); len(got) > 0 {
			t.Errorf("%s: digits of a number in the log %v:\n%s", format, got, out)
		}
		for _, want := range []string{"phone:+1415***0100", "to=+1415***0100", "Call me at ***01", "+1415***0166", "+1415***0102", "+1415***0103", "phone:+1415***0104", "+1415***0105", "phone:+1415***0106"} {
			if !strings.Contains(out, want) && !strings.Contains(out, strings.ReplaceAll(want, "to=", `"to":"`)) {
				t.Errorf("%s: %q missing:\n%s", format, want, out)
			}
		}
		if strings.Contains(out, "***66") && !strings.Contains(out, "+1415***0166") {
			t.Errorf("%s: a masked number was masked again:\n%s", format, out)
		}
		if !strings.Contains(out, "4155550100") {
			t.Errorf("%s: a typed number was masked:\n%s", format, out)
		}
	}
}

func FuzzMaskText(f *testing.F) {
	for _, s := range []string{"+14155550100", "(415) 555-0100", "+1415***0100", "1-415-555-0100)", "((4", "+(", "4155550100a", "+1 (", "0", "+44 20 7946 0958 ", "07400 123456"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m := MaskText(s)
		if again := MaskText(m); again != m {
			t.Fatalf("not idempotent: %q → %q → %q", s, m, again)
		}
		// Each masked number may grow by at most the stars it gained.
		if len(m) > len(s)+len(maskStars)*strings.Count(m, maskStars) {
			t.Fatalf("MaskText(%q) = %q grew", s, m)
		}
		if strings.Count(m, maskStars) < strings.Count(s, maskStars) {
			t.Fatalf("MaskText(%q) = %q lost a mask", s, m)
		}
	})
}
