package phone

import (
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// maskStars replaces the hidden digits. It is always three stars, whatever
// their number, so a masked number does not tell its length.
const maskStars = "***"

// Mask hides the middle of a phone number for logs: "+14155550100" becomes
// "+1415***0100" (country code, the first 3 and the last 4 national digits).
// National numbers under 8 digits keep only their last 2 digits
// ("+49123456" becomes "+49***56"), under 4 digits none. Anything that is not E.164 keeps
// at most its last 2 digits and none of its other characters, so raw input
// (a typo, a name pasted in the phone field) never reaches a log in full.
// It accepts any string and never panics.
func Mask(e164 string) string {
	if e164 == "" {
		return ""
	}
	if !isE164(e164) {
		return maskStars + lastDigits(e164, 2, 6)
	}
	digits := e164[1:]
	cc := countryCodeLen(digits)
	national := digits[cc:]
	var b strings.Builder
	b.WriteString("+")
	b.WriteString(digits[:cc])
	switch n := len(national); {
	case n >= 8:
		b.WriteString(national[:3])
		b.WriteString(maskStars)
		b.WriteString(national[n-4:])
	case n >= 4:
		b.WriteString(maskStars)
		b.WriteString(national[n-2:])
	default:
		b.WriteString(maskStars)
	}
	return b.String()
}

// MaskSender is a sender's address for logs: a number masked like a
// contact's (every phone-shaped value is), a short code, alphanumeric id or
// Messaging Service SID as it is. The engine (queueing for a sender) and the
// sender (sending as it) log the same addresses the same way.
func MaskSender(addr string) string {
	if addr = strings.TrimSpace(addr); strings.HasPrefix(addr, "+") {
		return Mask(addr)
	}
	return addr
}

// countryCodeLen returns how many leading digits of an E.164 number (without
// its +) are the country calling code. Calling codes are prefix-free, so the
// first known one of 1, 2 or 3 digits is it; unknown codes count as 1 digit.
func countryCodeLen(digits string) int {
	known := phonenumbers.GetSupportedCallingCodes()
	for l := 1; l <= 3 && l < len(digits); l++ {
		if cc, err := strconv.Atoi(digits[:l]); err == nil && known[cc] {
			return l
		}
	}
	return 1
}

// lastDigits returns the last keep ASCII digits of s when s has at least
// min digits, else "".
func lastDigits(s string, keep, min int) string {
	var ds []byte
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			ds = append(ds, s[i])
		}
	}
	if len(ds) < min {
		return ""
	}
	return string(ds[len(ds)-keep:])
}
