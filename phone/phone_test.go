package phone

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"

	"github.com/smsflow/smsflow"
)

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		raw, region string
		want        Number
	}{
		{"(415) 555-0100", "US", Number{E164: "+14155550100", Type: "fixed_line_or_mobile", Region: "US", Timezones: []string{"America/Los_Angeles"}}},
		{"415.555.0100", "US", Number{E164: "+14155550100", Type: "fixed_line_or_mobile", Region: "US", Timezones: []string{"America/Los_Angeles"}}},
		{"415-555-0100", "us", Number{E164: "+14155550100", Type: "fixed_line_or_mobile", Region: "US", Timezones: []string{"America/Los_Angeles"}}},
		{"  4155550100 ", " US ", Number{E164: "+14155550100", Type: "fixed_line_or_mobile", Region: "US", Timezones: []string{"America/Los_Angeles"}}},
		{"1 (415) 555-0100", "US", Number{E164: "+14155550100", Type: "fixed_line_or_mobile", Region: "US", Timezones: []string{"America/Los_Angeles"}}},
		{"+1 415-555-0100", "", Number{E164: "+14155550100", Type: "fixed_line_or_mobile", Region: "US", Timezones: []string{"America/Los_Angeles"}}},
		{"+1 415-555-0100", "GB", Number{E164: "+14155550100", Type: "fixed_line_or_mobile", Region: "US", Timezones: []string{"America/Los_Angeles"}}},
		{"+14155550100", "XX", Number{E164: "+14155550100", Type: "fixed_line_or_mobile", Region: "US", Timezones: []string{"America/Los_Angeles"}}},
		{"+1 (201) 555-0123", "", Number{E164: "+12015550123", Type: "fixed_line_or_mobile", Region: "US", Timezones: []string{"America/New_York"}}},
		{"+44 20 7946 0958", "US", Number{E164: "+442079460958", Type: "fixed_line", Region: "GB", Timezones: []string{"Europe/London"}}},
		{"0044 20 7946 0958", "GB", Number{E164: "+442079460958", Type: "fixed_line", Region: "GB", Timezones: []string{"Europe/London"}}},
		{"020 7946 0958", "GB", Number{E164: "+442079460958", Type: "fixed_line", Region: "GB", Timezones: []string{"Europe/London"}}},
		{"011 44 20 7946 0958", "US", Number{E164: "+442079460958", Type: "fixed_line", Region: "GB", Timezones: []string{"Europe/London"}}},
		{"07400 123456", "GB", Number{E164: "+447400123456", Type: "mobile", Region: "GB", Timezones: []string{"Europe/Guernsey", "Europe/Isle_of_Man", "Europe/London"}}},
		{"0151 12345678", "DE", Number{E164: "+4915112345678", Type: "mobile", Region: "DE", Timezones: []string{"Europe/Berlin"}}},
		{"06 12 34 56 78", "FR", Number{E164: "+33612345678", Type: "mobile", Region: "FR", Timezones: []string{"Europe/Paris"}}},
		{"+91 98765 43210", "", Number{E164: "+919876543210", Type: "mobile", Region: "IN", Timezones: []string{"Asia/Calcutta"}}},
		{"(11) 98765-4321", "BR", Number{E164: "+5511987654321", Type: "mobile", Region: "BR", Timezones: []string{"America/Sao_Paulo"}}},
		{"+1 684 733 1234", "", Number{E164: "+16847331234", Type: "mobile", Region: "AS", Timezones: []string{"Pacific/Pago_Pago"}}},
		// Full-width digits and plus, as typed on some Asian keyboards.
		{"＋１ ４１５ ５５５ ０１００", "", Number{E164: "+14155550100", Type: "fixed_line_or_mobile", Region: "US", Timezones: []string{"America/Los_Angeles"}}},
		// Non-geographic: no zone at all, region 001.
		{"+800 1234 5678", "", Number{E164: "+80012345678", Type: "toll_free", Region: "001"}},
	}
	for _, tt := range tests {
		t.Run(tt.raw+"/"+tt.region, func(t *testing.T) {
			got, err := Parse(tt.raw, tt.region)
			if err != nil {
				t.Fatalf("Parse(%q, %q) error: %v", tt.raw, tt.region, err)
			}
			if got, want := got.E164, tt.want.E164; got != want {
				t.Errorf("E164 = %q, want %q", got, want)
			}
			if got, want := got.Type, tt.want.Type; got != want {
				t.Errorf("Type = %q, want %q", got, want)
			}
			if got, want := got.Region, tt.want.Region; got != want {
				t.Errorf("Region = %q, want %q", got, want)
			}
			if got, want := got.Timezones, tt.want.Timezones; !slices.Equal(got, want) {
				t.Errorf("Timezones = %q, want %q", got, want)
			}
		})
	}
}

func TestParseTollFreeListsEveryNANPZoneInLibraryOrder(t *testing.T) {
	got, err := Parse("+1 800 555 0100", "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := got.Type, "toll_free"; got != want {
		t.Errorf("Type = %q, want %q", got, want)
	}
	if n, want := len(got.Timezones), 10; n < want {
		t.Fatalf("len(Timezones) = %d, want at least %d: %q", n, want, got.Timezones)
	}
	if !slices.IsSorted(got.Timezones) {
		t.Errorf("Timezones not in the library's (alphabetical) order: %q", got.Timezones)
	}
	for _, tz := range []string{"America/New_York", "America/Los_Angeles", "Pacific/Honolulu"} {
		if !slices.Contains(got.Timezones, tz) {
			t.Errorf("Timezones lack %s: %q", tz, got.Timezones)
		}
	}
	if slices.Contains(got.Timezones, phonenumbers.UNKNOWN_TIMEZONE) {
		t.Errorf("Timezones contain %s", phonenumbers.UNKNOWN_TIMEZONE)
	}
}

// The library hands out its internal slices; a caller editing Timezones must
// not change what the next Parse returns.
func TestParseTimezonesAreACopy(t *testing.T) {
	a, err := Parse("+14155550100", "")
	if err != nil {
		t.Fatal(err)
	}
	a.Timezones[0] = "Mars/Olympus_Mons"
	b, err := Parse("+14155550101", "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.Timezones[0], "America/Los_Angeles"; got != want {
		t.Errorf("second Parse Timezones[0] = %q, want %q", got, want)
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		raw, region string
		want        string // the exact message, or a prefix ending in "…"
	}{
		{"415555", "US", `"415555" is not a valid phone number for region US; use E.164 like +14155550100`},
		{"", "US", `phone number is empty; use E.164 like +14155550100`},
		{"   ", "US", `phone number is empty; use E.164 like +14155550100`},
		{"4155550100", "", `"4155550100" is not a valid phone number; without a default region write it in E.164 with + and the country code, like +14155550100`},
		{"0044 20 7946 0958", "", `"0044 20 7946 0958" is not a valid phone number; without a default region…`},
		{"call me", "US", `"call me" is not a valid phone number for region US: it contains letters (extensions and vanity numbers cannot be texted); use E.164 like +14155550100`},
		{"1-800-FLOWERS", "US", `"1-800-FLOWERS" is not a valid phone number for region US: it contains letters…`},
		{"415-555-0100 x12", "US", `"415-555-0100 x12" is not a valid phone number for region US: it contains letters…`},
		{"415-555-0100 ext. 12", "US", `"415-555-0100 ext. 12" is not a valid phone number for region US: it contains letters…`},
		{"abc4155550100", "US", `"abc4155550100" is not a valid phone number for region US: it contains letters…`},
		{"tel:+1-415-555-0100", "", `"tel:+1-415-555-0100" is not a valid phone number: it contains letters…`},
		{"415#555#0100", "US", `"415#555#0100" is not a valid phone number for region US: it contains '#', which does not belong in a phone number; use E.164 like +14155550100`},
		{"*123#", "US", `"*123#" is not a valid phone number for region US: it contains '*'…`},
		{"+-()", "US", `"+-()" is not a valid phone number for region US: it has no digits; use E.164 like +14155550100`},
		{"\xff4155550100", "US", `"\xff4155550100" is not a valid phone number for region US: it is not valid UTF-8 text…`},
		{"+1 415 555 0100 0000", "", `"+1 415 555 0100 0000" is not a valid phone number; without a default region…`},
		{"+1 415 555 0100 00000", "", `"+1 415 555 0100 00000" is not a valid phone number: it has 16 digits and a phone number has at most 15 (E.164, country code included); use E.164 like +14155550100`},
		{"123456789012345678901", "US", `"123456789012345678901" is not a valid phone number: it has 21 digits…`},
		{"+1 555 555 5555", "", `"+1 555 555 5555" is not a valid phone number; without a default region…`},
		{"+44 20 7946", "", `"+44 20 7946" is not a valid phone number; without a default region…`},
		{"+999 1234 5678", "", `"+999 1234 5678" is not a valid phone number; without a default region…`},
		{"4155550100", "XX", `"4155550100" cannot be read: the default region "XX" is not a known region code (ISO 3166-1 like US or GB); write the number in E.164 like +14155550100`},
		{strings.Repeat("1 ", 30), "US", `"1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 "… is not a valid phone number: it has 30 digits…`},
	}
	for _, tt := range tests {
		t.Run(tt.raw+"/"+tt.region, func(t *testing.T) {
			got, err := Parse(tt.raw, tt.region)
			if err == nil {
				t.Fatalf("Parse(%q, %q) = %+v, want an error", tt.raw, tt.region, got)
			}
			var e *smsflow.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not a *smsflow.Error", err, err)
			}
			if got, want := e.Code, smsflow.EINVALID; got != want {
				t.Errorf("Code = %q, want %q", got, want)
			}
			if got, want := e.Field, ""; got != want {
				t.Errorf("Field = %q, want %q", got, want)
			}
			if prefix, ok := strings.CutSuffix(tt.want, "…"); ok {
				if !strings.HasPrefix(e.Message, prefix) {
					t.Errorf("Message = %q, want prefix %q", e.Message, prefix)
				}
			} else if got, want := e.Message, tt.want; got != want {
				t.Errorf("Message = %q, want %q", got, want)
			}
			if got, want := got, (Number{}); got.E164 != want.E164 || got.Timezones != nil {
				t.Errorf("Number = %+v, want the zero Number", got)
			}
		})
	}
}

// Every zone the library can answer must be one ValidTimezone (and so the
// engine's quiet-hours code) accepts, including legacy names like
// Asia/Calcutta.
func TestParseZonesAreLoadable(t *testing.T) {
	types := []phonenumbers.PhoneNumberType{phonenumbers.MOBILE, phonenumbers.FIXED_LINE, phonenumbers.TOLL_FREE, phonenumbers.VOIP}
	checked := 0
	for region := range phonenumbers.GetSupportedRegions() {
		for _, typ := range types {
			ex := phonenumbers.GetExampleNumberForType(region, typ)
			if ex == nil {
				continue
			}
			n, err := Parse(phonenumbers.Format(ex, phonenumbers.E164), "")
			if err != nil {
				t.Errorf("%s example %s: %v", region, phonenumbers.Format(ex, phonenumbers.E164), err)
				continue
			}
			for _, tz := range n.Timezones {
				checked++
				if !ValidTimezone(tz) {
					t.Errorf("%s (%s): zone %q is not loadable", n.E164, region, tz)
				}
			}
		}
	}
	if checked < 500 {
		t.Errorf("checked %d zones, want at least 500", checked)
	}
}

// Only non-geographic calling codes have no zone in the library's data; every
// other calling code has zones of its own, which is where the library's
// longest-prefix lookup ends for numbers of an unknown area (see the
// toll-free test).
func TestTimezonesOnlyNonGeographicCodesHaveNone(t *testing.T) {
	for cc := range phonenumbers.GetSupportedCallingCodes() {
		ex := phonenumbers.GetExampleNumber(phonenumbers.GetRegionCodeForCountryCode(cc))
		if phonenumbers.GetRegionCodeForCountryCode(cc) == "001" {
			ex = phonenumbers.GetExampleNumberForNonGeoEntity(cc)
		}
		if ex == nil {
			continue
		}
		nonGeo := phonenumbers.GetSupportedGlobalNetworkCallingCodes()[cc]
		if got, want := len(timezones(ex)) == 0, nonGeo; got != want {
			t.Errorf("calling code %d (non-geographic %v): timezones = %q", cc, nonGeo, timezones(ex))
		}
	}
}

func TestValidRegion(t *testing.T) {
	tests := []struct {
		region string
		want   bool
	}{
		{"US", true}, {"GB", true}, {"DE", true}, {"BR", true},
		{"us", false}, {"", false}, {"XX", false}, {"001", false}, {"ZZ", false},
	}
	for _, tt := range tests {
		if got, want := ValidRegion(tt.region), tt.want; got != want {
			t.Errorf("ValidRegion(%q) = %v, want %v", tt.region, got, want)
		}
	}
}

var e164Pattern = regexp.MustCompile(`^\+[1-9]\d{1,14}$`)

func FuzzParse(f *testing.F) {
	regions := []string{"US", "GB", "DE", "FR", "IN", "BR", ""}
	for _, s := range []string{
		"(415) 555-0100", "415.555.0100", "+1 415-555-0100", "+44 20 7946 0958",
		"0044 20 7946 0958", "07400 123456", "0151 12345678", "06 12 34 56 78",
		"+91 98765 43210", "(11) 98765-4321", "+800 1234 5678", "415555", "",
		"1-800-FLOWERS", "+1 415 555 0100 00000", "＋１ ４１５ ５５５ ０１００",
		"011 44 20 7946 0958", "+-()", "00", "+0", "tel:+1-415-555-0100;ext=1",
		"\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660", "+54 9 11 1234 5678",
	} {
		for i := range regions {
			f.Add(s, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, raw string, r uint8) {
		region := regions[int(r)%len(regions)]
		n, err := Parse(raw, region)
		if err != nil {
			var e *smsflow.Error
			if !errors.As(err, &e) || e.Code != smsflow.EINVALID {
				t.Fatalf("Parse(%q, %q) error %v is not an invalid *smsflow.Error", raw, region, err)
			}
			return
		}
		if !e164Pattern.MatchString(n.E164) {
			t.Fatalf("Parse(%q, %q).E164 = %q, not E.164", raw, region, n.E164)
		}
		if n.Type == "" || n.Region == "" {
			t.Fatalf("Parse(%q, %q) = %+v, missing Type or Region", raw, region, n)
		}
		// Parsing the canonical form again is a fixed point.
		again, err := Parse(n.E164, "")
		if err != nil || again.E164 != n.E164 {
			t.Fatalf("Parse(%q) = %+v, %v; want %q again", n.E164, again, err, n.E164)
		}
		_ = Mask(n.E164)
	})
}
