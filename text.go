package smsflow

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// What text from outside may hold. PostgreSQL refuses a NUL (U+0000) in
// text and jsonb and invalid UTF-8 anywhere, and an index row larger than
// about 2,700 bytes; SQLite stores all three. So that both databases answer
// the same, input is made storable at the edge, before it reaches either:
// identifiers (ids, names, codes) are refused when they break these rules,
// free text (message bodies, string values and keys of properties, traits,
// context and evidence) is cleaned.

// MaxIDLength is the longest identifier accepted from outside (userId,
// anonymousId, previousId, groupId, order_id, a provider's message id), in
// characters. Ids are index keys: 255 characters are at most 1,020 bytes of
// UTF-8, which leaves room for smsflow's prefixes ("anon:", "order:") and
// composite keys under PostgreSQL's index row limit.
const MaxIDLength = 255

// NumberID spells a JSON number used as an identifier (an order_id or a
// userId sent as a number): an integer keeps every digit, so ids above 2^53
// do not collide; any other number is its shortest decimal ("1e3" is
// "1000", as a float64 1000 is). ok is false when lit is not a number.
func NumberID(lit string) (id string, ok bool) {
	if isInteger(lit) {
		return lit, true
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return "", false
	}
	return strconv.FormatFloat(f, 'f', -1, 64), true
}

// isInteger reports whether s is an optional minus and decimal digits.
func isInteger(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// CheckID returns an invalid *Error naming field when s cannot be an
// identifier: invalid UTF-8, any control character (C0, DEL and C1,
// newline and tab included) or more than max characters. "" passes: whether
// an id is required is the caller's rule.
func CheckID(field, s string, max int) *Error {
	if !utf8.ValidString(s) {
		return FieldErrorf(EINVALID, field, "%s is not valid UTF-8 text", field)
	}
	n := 0
	for _, r := range s {
		n++
		if unicode.IsControl(r) {
			return FieldErrorf(EINVALID, field, "%s contains the control character U+%04X (character %d); identifiers are printable text", field, r, n)
		}
	}
	if n > max {
		return FieldErrorf(EINVALID, field, "%s is %d characters long; the limit is %d", field, n, max)
	}
	return nil
}

// CleanText makes free text storable and sendable: NUL and the other
// control characters (C0, DEL, C1) are removed, except newline and tab; a
// carriage return becomes a newline (CRLF one newline), so line breaks
// survive; each byte of invalid UTF-8 becomes U+FFFD, as encoding/json
// decodes it. Text that needs none of this is returned as is.
func CleanText(s string) string {
	if cleanText(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r == '\r':
			if !strings.HasPrefix(s[i+1:], "\n") {
				b.WriteByte('\n')
			}
		case r == '\n' || r == '\t' || !unicode.IsControl(r):
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// cleanText reports whether CleanText would leave s unchanged.
func cleanText(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
			return false
		}
		if c >= 0x80 {
			return cleanUnicode(s[i:])
		}
	}
	return true
}

func cleanUnicode(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || (unicode.IsControl(r) && r != '\n' && r != '\t') {
			return false // RuneError: invalid UTF-8, or a literal U+FFFD (harmless to redo)
		}
	}
	return true
}

// CleanJSON applies CleanText to every string of a decoded JSON object, in
// place: values at any depth and object keys. When cleaning makes a key
// equal to another, the key sent clean wins, else the smallest as sent, so
// the result does not depend on map order. m must belong to the caller (a
// freshly decoded value, not a shared one).
func CleanJSON(m map[string]any) {
	type entry struct {
		sent string
		v    any
	}
	var renamed map[string]entry
	for k, v := range m {
		v, changed := cleanValue(v)
		if !cleanText(k) {
			delete(m, k)
			if renamed == nil {
				renamed = map[string]entry{}
			}
			ck := CleanText(k)
			if e, ok := renamed[ck]; !ok || k < e.sent {
				renamed[ck] = entry{k, v}
			}
			continue
		}
		if changed {
			m[k] = v
		}
	}
	for k, e := range renamed {
		if _, taken := m[k]; !taken {
			m[k] = e.v
		}
	}
}

// cleanValue cleans a decoded JSON value: objects and arrays in place, a
// string into a new one (changed is true when it had to be).
func cleanValue(v any) (_ any, changed bool) {
	switch t := v.(type) {
	case string:
		if !cleanText(t) {
			return CleanText(t), true
		}
	case map[string]any:
		CleanJSON(t)
	case []any:
		for i, e := range t {
			if e, changed := cleanValue(e); changed {
				t[i] = e
			}
		}
	}
	return v, false
}
