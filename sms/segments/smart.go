package segments

import (
	"strings"
	"unicode/utf8"
)

// SmartEncode is Twilio's "SmartEncoded" option: it replaces typographic
// characters that have a GSM-7 look-alike (curly quotes, dashes, the
// ellipsis, Unicode spaces, zero-width characters …; see smartReplacements)
// but only when the whole message is then GSM-7. Otherwise, or when nothing
// was replaced, it returns body unchanged and changed is false: a message
// that stays UCS-2 is sent as written. Invalid UTF-8 is never GSM-7, so such
// a body comes back unchanged.
func SmartEncode(body string) (out string, changed bool) {
	if !utf8.ValidString(body) {
		return body, false
	}
	var b strings.Builder
	for i, r := range body {
		rep, ok := smartReplacements[r]
		if !ok {
			if changed {
				b.WriteRune(r)
			}
			continue
		}
		if !changed {
			b.Grow(len(body))
			b.WriteString(body[:i])
			changed = true
		}
		b.WriteString(rep)
	}
	if !changed {
		return body, false
	}
	out = b.String()
	if encodingOf(splitGraphemes(out)) != GSM7 {
		return body, false
	}
	return out, true
}
