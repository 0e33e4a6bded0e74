package policy

import (
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func TestStateForNumber(t *testing.T) {
	tests := []struct {
		number string
		want   string
	}{
		{"+13055550100", "FL"}, // Miami: "Florida"
		{"+14155550100", "CA"}, // "San Francisco, CA"
		{"+16195550100", "CA"}, // "California"
		{"+12125550100", "NY"}, // "New York, NY"
		{"+15185550100", "NY"}, // "New York"
		{"+15125550100", "TX"}, // Austin
		{"+12105550100", "TX"}, // "San Antonio, TX"
		{"+12085550100", "ID"}, // Boise
		{"+12065550100", "WA"}, // "Washington State"
		{"+12025550100", "DC"}, // "Washington D.C."
		{"+18015550100", "UT"}, // "Windsor North, Orem, UT"
		{"+12055550100", "AL"},
		{"+15025550100", "KY"},
		{"+442079460958", ""}, // United Kingdom
		{"+14165550100", ""},  // Toronto: NANP but not US
		{"+17875550100", ""},  // Puerto Rico: its own region
		{"+18005550100", ""},  // toll-free: "United States", no state
		{"+15005550006", ""},  // non-geographic 5XX
		{"14155550100", ""},   // not E.164
		{"", ""},
		{"+1415555010000000000000000000000000000", ""},
	}
	for _, tc := range tests {
		if got := StateForNumber(tc.number); got != tc.want {
			t.Errorf("StateForNumber(%q) = %q, want %q", tc.number, got, tc.want)
		}
	}
}

// Every US area code libphonenumber knows geocodes to a state, a place
// ending in a state code, or the country (non-geographic codes): a new
// spelling in a library update fails here instead of silently losing
// state rules.
func TestEveryUSAreaCodeHasAState(t *testing.T) {
	states := 0
	for ac := 200; ac <= 999; ac++ {
		num, err := phonenumbers.Parse("+1"+itoa(ac)+"5550100", "")
		if err != nil || phonenumbers.GetRegionCodeForNumber(num) != "US" {
			continue
		}
		place, err := phonenumbers.GetGeocodingForNumber(num, "en")
		if err != nil {
			t.Fatal(err)
		}
		if place == "United States" || place == "" {
			continue
		}
		if stateFromPlace(place) == "" {
			t.Errorf("area code %d geocodes to %q, which names no state", ac, place)
			continue
		}
		states++
	}
	if states < 300 {
		t.Errorf("only %d area codes mapped to a state; the geocoding data looks missing", states)
	}
}

func itoa(n int) string {
	return string(rune('0'+n/100)) + string(rune('0'+n/10%10)) + string(rune('0'+n%10))
}

func TestStateRulesTable(t *testing.T) {
	federal := hours(8, 21)
	seen := map[string]bool{}
	for _, r := range States() {
		if seen[r.State] {
			t.Errorf("%s listed twice", r.State)
		}
		seen[r.State] = true
		if _, ok := stateCodes[r.State]; !ok {
			t.Errorf("%s is not a state code", r.State)
		}
		if r.Window.Empty() || r.Window.Start < federal.Start || r.Window.End > federal.End {
			t.Errorf("%s window %s is not within the federal %s", r.State, r.Window, federal)
		}
		if r.Source == "" {
			t.Errorf("%s has no source", r.State)
		}
		if r.NoHolidays && len(Holidays(r.State)) == 0 {
			t.Errorf("%s forbids holidays but has none in the table", r.State)
		}
	}
	for _, tc := range []struct {
		state  string
		window string
		cap    int
		sunday bool
	}{
		{"FL", "08:00-20:00", 3, false}, {"OK", "08:00-20:00", 3, false}, {"MD", "08:00-20:00", 3, false},
		{"WA", "08:00-20:00", 0, false}, {"CT", "09:00-20:00", 0, false}, {"AL", "08:00-20:00", 0, true},
		{"LA", "08:00-20:00", 0, true}, {"MS", "08:00-20:00", 0, true}, {"MA", "08:00-20:00", 0, false},
		{"MI", "09:00-21:00", 0, false}, {"MN", "09:00-21:00", 0, false}, {"NM", "09:00-21:00", 0, false},
		{"NV", "09:00-20:00", 0, false}, {"KY", "10:00-21:00", 0, false},
	} {
		r, ok := LookupState(tc.state)
		if !ok {
			t.Errorf("%s missing", tc.state)
			continue
		}
		if got := r.Window.String(); got != tc.window {
			t.Errorf("%s window = %s, want %s", tc.state, got, tc.window)
		}
		if r.MaxMarketingPer24h != tc.cap || r.NoSunday != tc.sunday {
			t.Errorf("%s cap = %d, no Sunday = %v; want %d, %v", tc.state, r.MaxMarketingPer24h, r.NoSunday, tc.cap, tc.sunday)
		}
	}
	if got, want := len(seen), 14; got != want {
		t.Errorf("%d states, want %d", got, want)
	}
	if _, ok := LookupState("TX"); ok {
		t.Error("TX has no stricter rule")
	}
}
