package policy

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nyaruka/phonenumbers"
)

// StateRule is one US state's law on when marketing texts may reach its
// residents, stricter than the federal 08:00–21:00 (docs/governance.md). Law
// changes: edit the table in this file, nowhere else.
type StateRule struct {
	// State is the two-letter USPS code ("FL").
	State string
	// Window is the allowed local wall-clock window. Check intersects it with
	// the configured base window, so a state never loosens the base.
	Window Window
	// NoSunday forbids sends on the whole local Sunday.
	NoSunday bool
	// NoHolidays forbids sends on the state's holidays (holidays.go); a
	// date in a year the holiday table does not cover counts as a holiday.
	NoHolidays bool
	// MaxMarketingPer24h is the state's cap on marketing messages to one
	// person in any 24 hours (FL, OK, MD: 3); 0 means no state cap. The
	// frequency-cap code enforces it, not Check.
	MaxMarketingPer24h int
	// Source is where the rule comes from (statute, window, cap), verbatim,
	// so a reviewer can check the row against the law.
	Source string
	// Note records a judgement made on the source, if any.
	Note string
}

// stateRules is the state quiet-hours and cap law as data, one row per
// state.
var stateRules = []StateRule{
	{State: "FL", Window: hours(8, 20), MaxMarketingPer24h: 3,
		Source: "Florida (FTSA §501.616) | 08:00–20:00 | ≤ 3 per 24 h on the same subject | FL Senate bill 1120 (2021)",
		Note:   "the cap counts every marketing message, not only those on the same subject (stricter reading)"},
	{State: "OK", Window: hours(8, 20), MaxMarketingPer24h: 3,
		Source: "Oklahoma (OTSA, 2022-11-01) | 08:00–20:00 | ≤ 3 per 24 h | OTSA summaries"},
	{State: "MD", Window: hours(8, 20), MaxMarketingPer24h: 3,
		Source: "Maryland (Stop the Spam Calls Act, 2023) | 08:00–20:00 | ≤ 3 calls or texts per 24 h, same subject | MD reports",
		Note:   "the cap counts every marketing message, not only those on the same subject (stricter reading)"},
	{State: "WA", Window: hours(8, 20),
		Source: "Washington (RCW 19.158.040) | 08:00–20:00 | — | RCW"},
	{State: "CT", Window: hours(9, 20),
		Source: "Connecticut | 09:00–20:00 (Postscript lists 08:00–20:00) | — | vendor tables",
		Note:   "sources disagree; the stricter window 09:00–20:00 is used"},
	{State: "AL", Window: hours(8, 20), NoSunday: true, NoHolidays: true,
		Source: "Alabama, Louisiana | 08:00–20:00, none on Sunday/holidays | — | vendor state tables"},
	{State: "LA", Window: hours(8, 20), NoSunday: true, NoHolidays: true,
		Source: "Alabama, Louisiana | 08:00–20:00, none on Sunday/holidays | — | vendor state tables",
		Note:   "La. R.S. 45:811(3) forbids automated calls on Sundays and days declared a state holiday"},
	{State: "MS", Window: hours(8, 20), NoSunday: true,
		Source: "Mississippi | 08:00–20:00, none on Sunday | — | vendor state tables"},
	{State: "MA", Window: hours(8, 20),
		Source: "Massachusetts 08:00–20:00 | | | vendor state tables (secondary)"},
	{State: "MI", Window: hours(9, 21),
		Source: "Michigan, Minnesota, New Mexico 09:00–21:00 | | | vendor state tables (secondary)"},
	{State: "MN", Window: hours(9, 21),
		Source: "Michigan, Minnesota, New Mexico 09:00–21:00 | | | vendor state tables (secondary)"},
	{State: "NM", Window: hours(9, 21),
		Source: "Michigan, Minnesota, New Mexico 09:00–21:00 | | | vendor state tables (secondary)"},
	{State: "NV", Window: hours(9, 20),
		Source: "Nevada 09:00–20:00 | | | vendor state tables (secondary)"},
	{State: "KY", Window: hours(10, 21),
		Source: "Kentucky 10:00–21:00 | | | vendor state tables (secondary)"},
}

// hours is the window [from:00, to:00).
func hours(from, to int) Window {
	return Window{Start: TimeOfDay(from * 60), End: TimeOfDay(to * 60)}
}

// LookupState returns the stricter rule of a state, by its two-letter code;
// ok is false for states that only follow the federal window.
func LookupState(code string) (rule StateRule, ok bool) {
	for i := range stateRules {
		if stateRules[i].State == code {
			return stateRules[i], true
		}
	}
	return StateRule{}, false
}

// States returns every state rule, in table order (a copy: callers may not
// change the law).
func States() []StateRule {
	return append([]StateRule(nil), stateRules...)
}

// StateForNumber returns the two-letter code of the US state a number's area
// code (or longer prefix) belongs to, from libphonenumber's geocoding data
// ("Florida", "San Francisco, CA"); "" for numbers outside the US (Canada,
// Puerto Rico and other NANP regions included), non-geographic US numbers
// (toll-free, 5XX) and anything that does not parse. The state is where the
// number was issued, not where the person lives — FL and OK law presume the
// same.
//
// Results are cached by NANP prefix (+1 NPA NXX): libphonenumber's US
// geocoding data is keyed by no longer a prefix (TestStateCacheMatchesParser),
// and parsing was 7% of the engine's time with a send per timer.
func StateForNumber(e164 string) string {
	if len(e164) != 12 || !strings.HasPrefix(e164, "+1") {
		return stateForNumber(e164)
	}
	key := e164[:8]
	if v, ok := stateCache.Load(key); ok {
		return v.(string)
	}
	st := stateForNumber(e164)
	if stateCacheSize.Load() < stateCacheMax {
		if _, loaded := stateCache.LoadOrStore(key, st); !loaded {
			stateCacheSize.Add(1)
		}
	}
	return st
}

// stateCacheMax bounds the prefix cache (about 6 MB at most; the NANP has
// fewer than 640,000 NPA-NXX prefixes, the numbers of one brand far fewer).
const stateCacheMax = 100_000

var (
	stateCache     sync.Map // "+1NPANXX" → state code ("" outside the US)
	stateCacheSize atomic.Int64
)

// stateForNumber is StateForNumber without the cache.
func stateForNumber(e164 string) string {
	if len(e164) > 32 { // longer than any phone number; do not hand it to the parser
		return ""
	}
	num, err := phonenumbers.Parse(e164, "")
	if err != nil || phonenumbers.GetRegionCodeForNumber(num) != "US" {
		return ""
	}
	place, err := phonenumbers.GetGeocodingForNumber(num, "en")
	if err != nil {
		return ""
	}
	return stateFromPlace(place)
}

// stateFromPlace reads the state out of a geocoding description: a state
// name ("Texas", "Washington State") or a place ending in its code
// ("Windsor North, Orem, UT").
func stateFromPlace(place string) string {
	if i := strings.LastIndex(place, ", "); i >= 0 {
		code := place[i+2:]
		if _, ok := stateCodes[code]; ok {
			return code
		}
		return ""
	}
	return stateNames[place]
}

// stateNames maps the state names libphonenumber's English geocoding data
// uses to their USPS codes.
var stateNames = map[string]string{
	"Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR",
	"California": "CA", "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE",
	"Washington D.C.": "DC", "District of Columbia": "DC",
	"Florida": "FL", "Georgia": "GA", "Hawaii": "HI", "Idaho": "ID",
	"Illinois": "IL", "Indiana": "IN", "Iowa": "IA", "Kansas": "KS",
	"Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD",
	"Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS",
	"Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV",
	"New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY",
	"North Carolina": "NC", "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK",
	"Oregon": "OR", "Pennsylvania": "PA", "Rhode Island": "RI", "South Carolina": "SC",
	"South Dakota": "SD", "Tennessee": "TN", "Texas": "TX", "Utah": "UT",
	"Vermont": "VT", "Virginia": "VA", "Washington": "WA", "Washington State": "WA",
	"West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
}

// stateCodes is the set of codes stateNames produces.
var stateCodes = func() map[string]struct{} {
	m := make(map[string]struct{}, len(stateNames))
	for _, code := range stateNames {
		m[code] = struct{}{}
	}
	return m
}()
