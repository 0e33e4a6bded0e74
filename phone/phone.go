package phone

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/smsflow/smsflow"
)

// Number is a phone number that libphonenumber considers valid, in the forms
// the engine stores.
type Number struct {
	// E164 is the canonical form: "+", country code and national number, at
	// most 15 digits in all (e.g. "+14155550100"). It is the contact's key.
	E164 string
	// Type is libphonenumber's number type in lower snake case: "mobile",
	// "fixed_line", "fixed_line_or_mobile", "voip", "toll_free",
	// "premium_rate", "shared_cost", "personal_number", "pager", "uan",
	// "voicemail" or "unknown". In NANP (+1) mobile and fixed lines share
	// number ranges, so US numbers are usually "fixed_line_or_mobile".
	Type string
	// Region is the ISO 3166-1 alpha-2 region the number belongs to ("US",
	// "GB"), or "001" for non-geographic numbers such as +800.
	Region string
	// Timezones are every IANA zone the number may be in, in the library's
	// order (alphabetical). Numbers that span zones (toll-free, some mobile
	// ranges) list all of them; the first is not "the most likely" one. Empty
	// when the library knows none.
	Timezones []string
}

// MaxDigits is the most digits an E.164 number has, country code included.
const MaxDigits = 15

// maxInputDigits bounds the digits of any written form: 15 for the number
// itself plus room for an international prefix such as 00 or 011 (or a
// carrier-selecting one like Brazil's 0015).
const maxInputDigits = MaxDigits + 5

// maxQuoted is how much of the raw input an error message repeats, so that
// a 32 KB traits.phone does not end up in a response or a log.
const maxQuoted = 40

// e164Example is the format hint every error message ends with.
const e164Example = "+14155550100"

// Parse normalizes raw, written in any common format ("(415) 555-0100",
// "415.555.0100", "+44 20 7946 0958", "0044 20 7946 0958"), to a Number.
// defaultRegion ("US", "GB"; case-insensitive) is the region assumed for
// numbers written without a country code; with "" (or an unknown region)
// only international forms ("+…") are accepted.
//
// It rejects empty input, letters (vanity numbers like 1-800-FLOWERS and
// extensions like "x12" cannot be texted), characters that do not belong in a
// phone number, more than 15 digits, and anything libphonenumber does not
// consider a valid number (IsValidNumber). Every rejection is a
// *smsflow.Error with code EINVALID and a message a person can act on; its
// Field is empty, for the caller to set ("traits.phone").
func Parse(raw, defaultRegion string) (Number, error) {
	region := strings.ToUpper(strings.TrimSpace(defaultRegion))
	s := strings.TrimSpace(raw)
	if s == "" {
		return Number{}, smsflow.Errorf(smsflow.EINVALID, "phone number is empty; use E.164 like %s", e164Example)
	}
	if !utf8.ValidString(s) {
		return Number{}, invalidf(s, region, "it is not valid UTF-8 text")
	}
	digits := 0
	for _, r := range s {
		switch {
		case unicode.IsDigit(r):
			digits++
		case unicode.IsLetter(r):
			return Number{}, invalidf(s, region, "it contains letters (extensions and vanity numbers cannot be texted)")
		case !isPhonePunctuation(r):
			return Number{}, invalidf(s, region, "it contains %q, which does not belong in a phone number", r)
		}
	}
	if digits == 0 {
		return Number{}, invalidf(s, region, "it has no digits")
	}
	if digits > maxInputDigits {
		return Number{}, tooManyDigits(s, digits)
	}

	num, err := phonenumbers.Parse(s, region)
	switch {
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return Number{}, tooManyDigits(s, digits)
	case err != nil && region != "" && !ValidRegion(region):
		// An unknown default region only matters for numbers written
		// without a country code; say so rather than blame the number.
		return Number{}, smsflow.Errorf(smsflow.EINVALID,
			"%s cannot be read: the default region %s is not a known region code (ISO 3166-1 like US or GB); write the number in E.164 like %s",
			quote(s), quote(region), e164Example)
	case err != nil:
		return Number{}, invalidf(s, region, "")
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	if n := len(e164) - 1; n > MaxDigits {
		return Number{}, tooManyDigits(s, n)
	}
	if !phonenumbers.IsValidNumber(num) || !isE164(e164) {
		return Number{}, invalidf(s, region, "")
	}
	return Number{
		E164:      e164,
		Type:      typeName(phonenumbers.GetNumberType(num)),
		Region:    phonenumbers.GetRegionCodeForNumber(num),
		Timezones: timezones(num),
	}, nil
}

// ValidRegion reports whether region is a region code libphonenumber knows
// ("US", "GB"; upper case), i.e. one Parse can use as its default region.
// Configuration loaders use it to reject a bad default before any number
// is parsed.
func ValidRegion(region string) bool {
	return phonenumbers.GetSupportedRegions()[region]
}

// timezones returns the number's candidate zones without the library's
// "Etc/Unknown" placeholder. The library already falls back: it looks the
// number up by its longest known prefix, down to the country calling code
// alone, so a number whose area is unknown gets its calling code's zones
// (for +1 every NANP zone). Only non-geographic codes (+800, +808, +870,
// +878, +881, +882, +883, +888, +979) have no zone; they get none.
func timezones(num *phonenumbers.PhoneNumber) []string {
	tzs, err := phonenumbers.GetTimezonesForNumber(num)
	if err != nil {
		return nil
	}
	// Copy: the library returns its internal slice, which must not be shared.
	var out []string
	for _, tz := range tzs {
		if tz != "" && tz != phonenumbers.UNKNOWN_TIMEZONE {
			out = append(out, tz)
		}
	}
	return out
}

// typeName spells libphonenumber's number types the way smsflow stores them.
func typeName(t phonenumbers.PhoneNumberType) string {
	switch t {
	case phonenumbers.MOBILE:
		return "mobile"
	case phonenumbers.FIXED_LINE:
		return "fixed_line"
	case phonenumbers.FIXED_LINE_OR_MOBILE:
		return "fixed_line_or_mobile"
	case phonenumbers.VOIP:
		return "voip"
	case phonenumbers.TOLL_FREE:
		return "toll_free"
	case phonenumbers.PREMIUM_RATE:
		return "premium_rate"
	case phonenumbers.SHARED_COST:
		return "shared_cost"
	case phonenumbers.PERSONAL_NUMBER:
		return "personal_number"
	case phonenumbers.PAGER:
		return "pager"
	case phonenumbers.UAN:
		return "uan"
	case phonenumbers.VOICEMAIL:
		return "voicemail"
	default:
		return "unknown"
	}
}

// isPhonePunctuation reports whether r may separate the digits of a written
// phone number: white space, plus signs, dashes, dots, slashes, brackets and
// tildes, in their ASCII and full-width forms (libphonenumber's
// VALID_PUNCTUATION without its letter 'x').
func isPhonePunctuation(r rune) bool {
	if unicode.IsSpace(r) {
		return true
	}
	switch r {
	case '+', '\uFF0B', // plus signs
		'-', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212', '\u30FC', '\uFF0D', // dashes
		'.', '\uFF0E', '/', '\uFF0F', // dots and slashes
		'(', ')', '\uFF08', '\uFF09', '[', ']', '\uFF3B', '\uFF3D', // brackets
		'~', '\u2053', '\u223C', '\uFF5E', // tildes
		'\u00AD', '\u200B', '\u2060': // invisible separators
		return true
	}
	return false
}

// isE164 checks the shape ^\+[1-9]\d{1,14}$ without a regular expression.
func isE164(s string) bool {
	if len(s) < 3 || len(s) > MaxDigits+1 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// invalidf builds the "not a valid phone number" error; why, when not empty,
// says what is wrong with it.
func invalidf(s, region, why string, args ...any) *smsflow.Error {
	msg := quote(s) + " is not a valid phone number"
	if region != "" {
		msg += " for region " + region
	}
	if why != "" {
		msg += ": " + fmt.Sprintf(why, args...)
	}
	if region == "" {
		return smsflow.Errorf(smsflow.EINVALID, "%s; without a default region write it in E.164 with + and the country code, like %s", msg, e164Example)
	}
	return smsflow.Errorf(smsflow.EINVALID, "%s; use E.164 like %s", msg, e164Example)
}

func tooManyDigits(s string, n int) *smsflow.Error {
	return smsflow.Errorf(smsflow.EINVALID, "%s is not a valid phone number: it has %d digits and a phone number has at most %d (E.164, country code included); use E.164 like %s",
		quote(s), n, MaxDigits, e164Example)
}

// quote quotes s for a message, cut to maxQuoted runes.
func quote(s string) string {
	if utf8.RuneCountInString(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	r := []rune(s)
	return strconv.Quote(string(r[:maxQuoted])) + "…"
}
