package phone

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// MaskText masks every phone-shaped run of s with Mask, leaving the rest as
// it is; logs pass every string through it. What is phone-shaped:
//
//   - "+" and at least 7 digits, the digits possibly grouped by single
//     spaces, dots, hyphens or brackets ("+14155550100", "+1 (415)
//     555-0100", "+44 20 7946 0958"), however long;
//   - a NANP-shaped number (10 digits, the first 2–9, or 11 with
//     a leading 1), bare or grouped ("4155550100", "(415) 555-0100",
//     "415.555.0100", "1-415-555-0100");
//   - a national number with a trunk 0: 10 or 11 digits starting 0 then
//     1–9, bare or grouped ("07400 123456");
//   - a bare run of 12 to 15 digits that libphonenumber reads as a valid
//     number once a "+" is put in front ("447400123456", as SMPP writes
//     addresses).
//
// A run counts only as a whole token: not glued to a letter, digit, "_",
// "+" or "*" on either side ("SM4155550100" is an id, "+1415***0100" is
// already masked, so masking twice changes nothing). Not phone-shaped, so
// left alone: shorter digit runs (message ids, ports, counts, short codes),
// dates and times, versions and addresses with dots, durations, Unix
// timestamps (10 digits starting with 1 are no NANP number) and 13-digit
// ids such as Shopify's that are no valid number.
func MaskText(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
		}
	}
	if n < 7 { // nothing below can match: no copy
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	changed := false
	for i := 0; i < len(s); {
		c := s[i]
		plus := c == '+' && i+1 < len(s) && isDigit(s[i+1])
		if !(plus || isDigit(c) || (c == '(' && i+1 < len(s) && isDigit(s[i+1]))) || !boundaryBefore(s, i) {
			b.WriteByte(c)
			i++
			continue
		}
		if end, digits, ok := phoneRun(s, i, plus); ok {
			b.WriteString(maskRun(plus, digits))
			changed = true
			i = end
			continue
		}
		if !isDigit(c) {
			b.WriteByte(c)
			i++
			continue
		}
		// The grouped run is no phone; its first bare digit run may be one
		// ("order 12 4155550100" is "12", then "4155550100").
		k := i
		for k < len(s) && isDigit(s[k]) {
			k++
		}
		if boundaryAfter(s, k) && phoneShaped(false, false, s[i:k]) {
			b.WriteString(maskRun(false, s[i:k]))
			changed = true
		} else {
			b.WriteString(s[i:k])
		}
		i = k
	}
	if !changed {
		return s
	}
	return b.String()
}

// phoneRun finds the phone-shaped run starting at i: the whole grouped run,
// or else its longest phone-shaped prefix of whole groups ("200000000 0
// 0100000000" is "200000000 0", then "0100000000"). Masking a prefix leaves
// no phone-shaped run behind it, which keeps MaskText idempotent.
func phoneRun(s string, i int, plus bool) (end int, digits string, ok bool) {
	end, digits, grouped, groups := groupedRun(s, i)
	if boundaryAfter(s, end) && phoneShaped(plus, grouped, digits) {
		return end, digits, true
	}
	for g := len(groups) - 2; g >= 0; g-- {
		e, n := groups[g][0], groups[g][1]
		if boundaryAfter(s, e) && phoneShaped(plus, g > 0, digits[:n]) {
			return e, digits[:n], true
		}
	}
	return 0, "", false
}

// groupedRun reads the run of digits and separators starting at i (a digit,
// "+" or "("): its end (without trailing separators), its digits, whether
// it has separators, and where each group ends (its end and the digits
// read so far).
func groupedRun(s string, i int) (end int, digits string, grouped bool, groups [][2]int) {
	var d []byte
	j := i
	if s[j] == '+' {
		j++
	}
	end = j
	for j < len(s) {
		c := s[j]
		switch {
		case isDigit(c):
			d = append(d, c)
			j++
			end = j
			if j < len(s) && s[j] == ')' && grouped { // "(415)"
				end = j + 1
			}
		case c == ' ' || c == '.' || c == '-' || c == '(' || c == ')':
			// One separator (or ") " / " (") between two digit groups.
			k := j + 1
			if k < len(s) && (s[k] == '(' || (c == ')' && (s[k] == ' ' || s[k] == '-' || s[k] == '.'))) {
				k++
			}
			if k >= len(s) || !isDigit(s[k]) {
				return end, string(d), grouped, append(groups, [2]int{end, len(d)})
			}
			groups = append(groups, [2]int{end, len(d)})
			grouped = true
			j = k
		default:
			return end, string(d), grouped, append(groups, [2]int{end, len(d)})
		}
	}
	return end, string(d), grouped, append(groups, [2]int{end, len(d)})
}

// phoneShaped applies MaskText's rule to a run's digits; plus: the run
// starts with "+"; grouped: it has separators.
func phoneShaped(plus, grouped bool, d string) bool {
	if plus {
		return len(d) >= 7
	}
	nanp := func(d string) bool { return len(d) == 10 && d[0] >= '2' }
	switch {
	case nanp(d), len(d) == 11 && d[0] == '1' && nanp(d[1:]):
		return true
	case (len(d) == 10 || len(d) == 11) && d[0] == '0' && d[1] != '0':
		return true
	case !grouped && len(d) >= 12 && len(d) <= 15:
		n, err := phonenumbers.Parse("+"+d, "")
		return err == nil && phonenumbers.IsValidNumber(n)
	}
	return false
}

// maskRun masks a phone-shaped run in the format of Mask.
func maskRun(plus bool, digits string) string {
	if plus {
		return Mask("+" + digits)
	}
	return Mask(digits)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// glued reports whether a byte next to a run makes it part of a larger
// token. Bytes of multi-byte characters do not: "电话4155550100" is masked.
func glued(c byte) bool {
	return isDigit(c) || c == '_' || c == '+' || c == '*' || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

func boundaryBefore(s string, i int) bool { return i == 0 || !glued(s[i-1]) }

func boundaryAfter(s string, end int) bool { return end >= len(s) || !glued(s[end]) }

// phoneKeys are the attribute names that always hold a phone number: their
// values are masked whole with Mask (a typo or a name pasted into a phone
// field is not phone-shaped, and must not reach a log either).
var phoneKeys = map[string]bool{"phone": true, "to": true, "from": true}

// MaskAttr is a slog.HandlerOptions.ReplaceAttr that keeps phone numbers
// out of logs, at every level: the message and every string value (in
// groups too) go through MaskText, error values and other values are
// rendered as text first when that text holds a phone-shaped run, and the
// values of "phone", "to" and "from" are masked whole. It is idempotent: a
// value already masked ("+1415***0100", "***66") is left as it is. Typed
// numbers (ints, floats, durations) are never phones and stay as they are.
func MaskAttr(_ []string, a slog.Attr) slog.Attr {
	v := a.Value
	switch v.Kind() {
	case slog.KindString:
		s := v.String()
		if phoneKeys[a.Key] && s != "" && !strings.Contains(s, maskStars) {
			return slog.String(a.Key, Mask(s))
		}
		if m := MaskText(s); m != s {
			return slog.String(a.Key, m)
		}
	case slog.KindAny:
		var s string
		switch x := v.Any().(type) {
		case nil:
			return a
		case error:
			s = x.Error()
			return slog.String(a.Key, MaskText(s))
		case fmt.Stringer:
			s = x.String()
		default:
			s = fmt.Sprintf("%+v", x)
		}
		if m := MaskText(s); m != s {
			return slog.String(a.Key, m)
		}
	}
	return a
}
