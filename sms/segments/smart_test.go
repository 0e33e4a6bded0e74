package segments

import (
	"testing"
)

func TestSmartEncode(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		out     string
		changed bool
	}{
		{"curly double quotes", "“Hi”", `"Hi"`, true},
		{"angle quotes", "«oui»", `"oui"`, true},
		{"curly single quotes and acute", "it‘s it’s it´s", "it's it's it's", true},
		{"backtick", "`code`", "'code'", true},
		{"dashes", "a–b—c", "a-b-c", true},
		{"ellipsis", "wait…", "wait...", true},
		{"bullet", "• one", "- one", true},
		{"no-break space", "10\u00a0€", "10 €", true},
		{"thin and ideographic spaces", "a\u2009b\u3000c", "a b c", true},
		{"zero-width characters and BOM removed", "\ufeffa\u200bb\u200cc\u200dd\u2060e", "abcde", true},
		{"tab is seven spaces (reference)", "a\tb", "a       b", true},
		{"fullwidth letters", "ＳＭＳ", "SMS", true},
		{"replacement to an extension character", "～", "~", true},
		{"already GSM-7: unchanged", "Hello, world!", "Hello, world!", false},
		{"empty", "", "", false},
		{"stays UCS-2 because of an emoji: unchanged", "“Hi” 😀", "“Hi” 😀", false},
		{"stays UCS-2 because of ç: unchanged", "ça — oui", "ça — oui", false},
		{"UCS-2 with nothing to replace", "日本", "日本", false},
		{"invalid UTF-8: unchanged", "“Hi”\xff", "“Hi”\xff", false},
		{"combining tilde becomes a tilde", "n\u0303", "n~", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, changed := SmartEncode(tt.in)
			if out != tt.out || changed != tt.changed {
				t.Errorf("SmartEncode(%+q) = %+q, %v; want %+q, %v", tt.in, out, changed, tt.out, tt.changed)
			}
			checkSmartEncode(t, tt.in)
		})
	}
}

// TestSmartReplacementsTable checks the table is usable: every key is
// outside GSM-7 (else the message would not need it) and every replacement is
// GSM-7 (else it could not help).
func TestSmartReplacementsTable(t *testing.T) {
	if got := len(smartReplacements); got < 270 {
		t.Errorf("%d replacements; the reference has 271", got)
	}
	for from, to := range smartReplacements {
		if IsGSM7(from) {
			t.Errorf("%U is GSM-7 but has a replacement", from)
		}
		for _, r := range to {
			if !IsGSM7(r) {
				t.Errorf("%U is replaced with %q, which is not GSM-7", from, to)
			}
		}
		body := "x" + string(from) + "y"
		out, changed := SmartEncode(body)
		if want := "x" + to + "y"; out != want || !changed {
			t.Errorf("SmartEncode(%+q) = %+q, %v; want %+q, true", body, out, changed, want)
		}
	}
	// The look-alikes smart encoding promises to replace; all must be in the table.
	for _, r := range "“”«»‘’´`–—…•\u00a0\u200b\ufeff" {
		if _, ok := smartReplacements[r]; !ok {
			t.Errorf("%U (%q) is missing from smartReplacements", r, r)
		}
	}
}
