package policy

import (
	"regexp"
	"strings"
)

// DefaultFooter is the opt-out language appended to a contact's first
// marketing message when the body has none (config brand.footer).
const DefaultFooter = "Reply STOP to opt out."

// optOutLanguage recognizes opt-out instructions already in a body: "Reply
// STOP to opt out", "Txt END to cancel", "opt-out", "unsubscribe". The STOP
// words are those of the STOP keyword set (keywordTable).
var optOutLanguage = regexp.MustCompile(`(?i)\b(reply|text|txt|send)\s+["'“]?(stop|stopall|end|cancel|unsubscribe|quit|optout|revoke)\b|\bopt[- ]?out\b|\bunsubscribe\b`)

// HasOptOutLanguage reports whether body tells the reader how to opt out.
func HasOptOutLanguage(body string) bool { return optOutLanguage.MatchString(body) }

// ApplyFooter makes body carry the brand name and opt-out language, as the
// first marketing message a contact receives must (carriers and CTIA ask
// for both): the brand is
// prefixed ("Glow: …") when the body does not name it, and footer is
// appended when the body has no opt-out language. It returns what it
// added, empty when nothing was missing.
func ApplyFooter(body, brand, footer string) (out string, added []string) {
	out = body
	if brand = strings.TrimSpace(brand); brand != "" && !strings.Contains(strings.ToLower(body), strings.ToLower(brand)) {
		out = brand + ": " + out
		added = append(added, "brand name")
	}
	if footer = strings.TrimSpace(footer); footer != "" && !HasOptOutLanguage(body) {
		out = strings.TrimRight(out, " \n") + " " + footer
		added = append(added, "opt-out footer")
	}
	return out, added
}
