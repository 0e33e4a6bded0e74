package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"
	"gopkg.in/yaml.v3"

	"github.com/smsflow/smsflow"
)

// local is the instant a wall-clock time means in zone; only for times that
// exist once (DST cases use UTC instants).
func local(t *testing.T, zone, s string) time.Time {
	t.Helper()
	loc, err := LoadZone(zone)
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func utc(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// numberZones is what the phone package derives: libphonenumber's zones.
func numberZones(t *testing.T, e164 string) []string {
	t.Helper()
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		t.Fatal(err)
	}
	zones, err := phonenumbers.GetTimezonesForNumber(num)
	if err != nil {
		t.Fatal(err)
	}
	return zones
}

func window(t *testing.T, s string) Window {
	t.Helper()
	w, err := ParseWindow(s)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestNumberZones(t *testing.T) {
	for _, tc := range []struct{ number, want string }{
		{"+13055550100", "America/New_York"},
		{"+12085550100", "America/Boise America/Los_Angeles"},
		{"+12055550100", "America/Chicago"},
		{"+15025550100", "America/New_York"},
		{"+442079460958", "Europe/London"},
	} {
		if got := strings.Join(numberZones(t, tc.number), " "); got != tc.want {
			t.Errorf("zones of %s = %q, want %q", tc.number, got, tc.want)
		}
	}
}

func TestCheck(t *testing.T) {
	def := DefaultQuietHours()
	noState := def
	noState.StateRules = false
	gapWindow := def
	gapWindow.Allowed = window(t, "02:30-21:00")
	overlapStart := def
	overlapStart.Allowed = window(t, "01:30-21:00")
	overlapEnd := def
	overlapEnd.Allowed = window(t, "00:00-01:30")
	narrow := def
	narrow.Allowed = window(t, "09:00-12:00")
	late := def
	late.Allowed = window(t, "21:00-22:00")
	var zero time.Time

	const ny, chicago = "America/New_York", "America/Chicago"
	tests := []struct {
		name     string
		q        QuietHours
		t        time.Time
		zones    []string
		state    string
		category string
		allowed  bool
		next     time.Time
	}{
		{"New York 20:59 allowed", def, local(t, ny, "2026-06-10 20:59"), []string{ny}, "NY", "promo",
			true, local(t, ny, "2026-06-10 20:59")},
		{"New York 21:00 waits for 08:00 next day", def, local(t, ny, "2026-06-10 21:00"), []string{ny}, "NY", "promo",
			false, local(t, ny, "2026-06-11 08:00")},
		{"New York 07:59:59 waits a second", def, local(t, ny, "2026-06-10 07:59").Add(59 * time.Second), []string{ny}, "NY", "lifecycle",
			false, local(t, ny, "2026-06-10 08:00")},
		{"Florida 20:30 blocked by state rule", def, local(t, ny, "2026-06-10 20:30"), numberZones(t, "+13055550100"), StateForNumber("+13055550100"), "promo",
			false, local(t, ny, "2026-06-11 08:00")},
		{"Florida 20:30 allowed without state rules", noState, local(t, ny, "2026-06-10 20:30"), numberZones(t, "+13055550100"), "FL", "promo",
			true, local(t, ny, "2026-06-10 20:30")},
		{"Boise 07:30 Pacific is 08:30 Mountain: waits for Pacific", def, local(t, "America/Los_Angeles", "2026-06-10 07:30"), numberZones(t, "+12085550100"), "ID", "promo",
			false, local(t, "America/Los_Angeles", "2026-06-10 08:00")},
		{"Boise 20:30 Pacific is 21:30 Mountain: waits for next day", def, local(t, "America/Los_Angeles", "2026-06-10 20:30"), numberZones(t, "+12085550100"), "ID", "promo",
			false, local(t, "America/Los_Angeles", "2026-06-11 08:00")},
		{"Boise noon allowed in both", def, local(t, "America/Los_Angeles", "2026-06-10 12:00"), numberZones(t, "+12085550100"), "ID", "promo",
			true, local(t, "America/Los_Angeles", "2026-06-10 12:00")},
		{"Alabama Sunday waits for Monday 08:00", def, local(t, chicago, "2026-03-01 10:00"), numberZones(t, "+12055550100"), "AL", "promo",
			false, local(t, chicago, "2026-03-02 08:00")},
		{"Alabama Saturday 20:30 skips Sunday", def, local(t, chicago, "2026-02-28 20:30"), []string{chicago}, "AL", "promo",
			false, local(t, chicago, "2026-03-02 08:00")},
		{"Alabama Confederate Memorial Day waits for the day after", def, local(t, chicago, "2026-04-27 10:00"), []string{chicago}, "AL", "behavior",
			false, local(t, chicago, "2026-04-28 08:00")},
		{"Alabama Christmas observed Friday, then weekend", def, local(t, chicago, "2027-12-23 20:15"), []string{chicago}, "AL", "promo",
			false, local(t, chicago, "2027-12-27 08:00")},
		{"Louisiana Juneteenth Friday, Juneteenth Day Saturday, Sunday", def, local(t, chicago, "2026-06-19 10:00"), []string{chicago}, "LA", "promo",
			false, local(t, chicago, "2026-06-22 08:00")},
		{"Mississippi Sunday waits for Monday", def, local(t, chicago, "2026-03-01 12:00"), []string{chicago}, "MS", "promo",
			false, local(t, chicago, "2026-03-02 08:00")},
		{"Mississippi has no holiday rule", def, local(t, chicago, "2026-04-27 12:00"), []string{chicago}, "MS", "promo",
			true, local(t, chicago, "2026-04-27 12:00")},
		{"Kentucky 09:30 blocked until 10:00", def, local(t, ny, "2026-06-10 09:30"), numberZones(t, "+15025550100"), "KY", "promo",
			false, local(t, ny, "2026-06-10 10:00")},
		{"Connecticut uses the stricter 09:00", def, local(t, ny, "2026-06-10 08:30"), []string{ny}, "CT", "promo",
			false, local(t, ny, "2026-06-10 09:00")},
		{"exempt service passes at 03:00", def, local(t, ny, "2026-06-10 03:00"), []string{ny}, "FL", "service",
			true, local(t, ny, "2026-06-10 03:00")},
		{"exempt passes even without zones", def, local(t, ny, "2026-06-10 03:00"), nil, "", "service",
			true, local(t, ny, "2026-06-10 03:00")},
		{"London 07:59 waits for 08:00 BST", def, local(t, "Europe/London", "2026-06-10 07:59"), numberZones(t, "+442079460958"), StateForNumber("+442079460958"), "promo",
			false, local(t, "Europe/London", "2026-06-10 08:00")},

		// DST: deferrals across each change land on the right UTC instant.
		{"spring forward: Saturday 22:00 EST → Sunday 08:00 EDT", def, utc(t, "2026-03-08 03:00"), []string{ny}, "", "promo",
			false, utc(t, "2026-03-08 12:00")},
		{"fall back: Saturday 22:00 EDT → Sunday 08:00 EST", def, utc(t, "2026-11-01 02:00"), []string{ny}, "", "promo",
			false, utc(t, "2026-11-01 13:00")},
		{"window start 02:30 in the gap opens at 03:00 EDT", gapWindow, utc(t, "2026-03-08 06:00"), []string{ny}, "", "promo",
			false, utc(t, "2026-03-08 07:00")},
		{"window start 01:30 in the overlap opens at its first occurrence", overlapStart, utc(t, "2026-11-01 04:00"), []string{ny}, "", "promo",
			false, utc(t, "2026-11-01 05:30")},
		{"second pass of 01:00 is before 01:30 again", overlapStart, utc(t, "2026-11-01 06:00"), []string{ny}, "", "promo",
			false, utc(t, "2026-11-01 06:30")},
		{"window 00:00-01:30 allows the second pass of 01:15", overlapEnd, utc(t, "2026-11-01 06:15"), []string{ny}, "", "promo",
			true, utc(t, "2026-11-01 06:15")},
		{"window 00:00-01:30 reopens when the clock falls back", overlapEnd, utc(t, "2026-11-01 05:45"), []string{ny}, "", "promo",
			false, utc(t, "2026-11-01 06:00")},

		// No allowed instant: fail closed with a zero next.
		{"disjoint windows in Los Angeles and Tokyo", narrow, utc(t, "2026-06-10 12:00"), []string{"America/Los_Angeles", "Asia/Tokyo"}, "", "promo",
			false, zero},
		{"base window outside the state's", late, local(t, ny, "2026-06-10 12:00"), []string{ny}, "FL", "promo",
			false, zero},
		{"no zones", def, local(t, ny, "2026-06-10 12:00"), nil, "", "promo", false, zero},
		{"unknown zone", def, local(t, ny, "2026-06-10 12:00"), []string{ny, "Mars/Olympus_Mons"}, "", "promo", false, zero},
		{"holiday table not filled in for 2029", def, local(t, chicago, "2029-01-02 12:00"), []string{chicago}, "AL", "promo", false, zero},
		{"zero QuietHours allows nothing", QuietHours{}, local(t, ny, "2026-06-10 12:00"), []string{ny}, "", "promo", false, zero},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			allowed, next := tc.q.Check(tc.t, tc.zones, tc.state, tc.category)
			if got, want := allowed, tc.allowed; got != want {
				t.Errorf("allowed = %v, want %v", got, want)
			}
			if got, want := next, tc.next; !got.Equal(want) {
				t.Errorf("next = %v (%v UTC), want %v (%v UTC)", got, got.UTC(), want, want.UTC())
			}
		})
	}
}

func TestCheckDefersAcrossDSTNearWindowStart(t *testing.T) {
	// Every minute of the night before each change defers to 08:00 local.
	q := DefaultQuietHours()
	for _, tc := range []struct {
		from, to, want string
	}{
		{"2026-03-08 02:00", "2026-03-08 12:00", "2026-03-08 12:00"}, // 21:00 EST … 08:00 EDT
		{"2026-11-01 01:00", "2026-11-01 13:00", "2026-11-01 13:00"}, // 21:00 EDT … 08:00 EST
	} {
		want := utc(t, tc.want)
		for u := utc(t, tc.from); u.Before(utc(t, tc.to)); u = u.Add(time.Minute) {
			allowed, next := q.Check(u, []string{"America/New_York"}, "", "promo")
			if allowed || !next.Equal(want) {
				t.Fatalf("Check(%v) = %v, %v; want false, %v", u, allowed, next.UTC(), want)
			}
		}
	}
}

func TestNextLocal(t *testing.T) {
	ny, err := LoadZone("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	apia, err := LoadZone("Pacific/Apia")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		t    time.Time
		hhmm string
		loc  *time.Location
		want time.Time
	}{
		{"02:30 in the spring-forward gap is 03:00 EDT", utc(t, "2026-03-08 05:00"), "02:30", ny, utc(t, "2026-03-08 07:00")},
		{"01:30 in the fall-back overlap is the first (EDT) one", utc(t, "2026-11-01 04:00"), "01:30", ny, utc(t, "2026-11-01 05:30")},
		{"between the two 01:30s the next is tomorrow's", utc(t, "2026-11-01 05:45"), "01:30", ny, utc(t, "2026-11-02 06:30")},
		{"08:00 on the day after spring forward", utc(t, "2026-03-07 20:00"), "08:00", ny, utc(t, "2026-03-08 12:00")},
		{"08:00 on the day after fall back", utc(t, "2026-10-31 20:00"), "08:00", ny, utc(t, "2026-11-01 13:00")},
		{"a minute before is today", local(t, "America/New_York", "2026-06-10 09:59"), "10:00", ny, local(t, "America/New_York", "2026-06-10 10:00")},
		{"exactly then is tomorrow", local(t, "America/New_York", "2026-06-10 10:00"), "10:00", ny, local(t, "America/New_York", "2026-06-11 10:00")},
		{"midnight", local(t, "America/New_York", "2026-06-10 10:00"), "00:00", ny, local(t, "America/New_York", "2026-06-11 00:00")},
		{"t in another zone", utc(t, "2026-06-10 13:30"), "10:00", ny, utc(t, "2026-06-10 14:00")},
		{"nil location is UTC", utc(t, "2026-06-10 13:30"), "14:00", nil, utc(t, "2026-06-10 14:00")},
		{"Samoa skipped 2011-12-30: 10:00 that day is the first instant of the 31st", utc(t, "2011-12-29 21:00"), "10:00", apia, utc(t, "2011-12-30 10:00")},
		{"invalid time of day", utc(t, "2026-06-10 13:30"), "25:00", ny, time.Time{}},
		{"24:00 is not a time of day", utc(t, "2026-06-10 13:30"), "24:00", ny, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := NextLocal(tc.t, tc.hhmm, tc.loc), tc.want; !got.Equal(want) {
				t.Errorf("NextLocal = %v (%v UTC), want %v UTC", got, got.UTC(), want.UTC())
			}
		})
	}
}

func TestLocalZoneFor(t *testing.T) {
	june, jan := utc(t, "2026-06-10 12:00"), utc(t, "2026-01-10 12:00")
	tests := []struct {
		name       string
		explicit   string
		candidates []string
		at         time.Time
		want       string
	}{
		{"explicit wins", "Europe/London", []string{"America/Denver", "America/Los_Angeles"}, june, "Europe/London"},
		{"latest candidate: Los Angeles after Denver", "", []string{"America/Denver", "America/Los_Angeles"}, june, "America/Los_Angeles"},
		{"order does not matter", "", []string{"America/Los_Angeles", "America/Denver"}, june, "America/Los_Angeles"},
		{"summer tie keeps the first", "", []string{"America/Phoenix", "America/Los_Angeles"}, june, "America/Phoenix"},
		{"winter: Los Angeles is later than Phoenix", "", []string{"America/Phoenix", "America/Los_Angeles"}, jan, "America/Los_Angeles"},
		{"unknown explicit falls back to candidates", "Nowhere/Land", []string{"America/New_York"}, june, "America/New_York"},
		{"unknown candidates are passed over", "", []string{"Nowhere/Land", "Europe/London"}, june, "Europe/London"},
		{"nothing usable", "", nil, june, ""},
	}
	for _, tc := range tests {
		if got := LocalZoneFor(tc.explicit, tc.candidates, tc.at); got != tc.want {
			t.Errorf("%s: LocalZoneFor = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestParseWindow(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "08:00-21:00", want: "08:00-21:00"},
		{in: " 8:00 - 21:00 ", want: "08:00-21:00"},
		{in: "08:00–20:00", want: "08:00-20:00"},
		{in: "00:00-24:00", want: "00:00-24:00"},
		{in: "09:15-09:16", want: "09:15-09:16"},
		{in: "", wantErr: "HH:MM-HH:MM"},
		{in: "08:00", wantErr: "HH:MM-HH:MM"},
		{in: "08:00-21:00-22:00", wantErr: "HH:MM-HH:MM"},
		{in: "21:00-08:00", wantErr: "ends at or before it starts"},
		{in: "08:00-08:00", wantErr: "ends at or before it starts"},
		{in: "24:00-24:00", wantErr: "its start"},
		{in: "8-21", wantErr: "its start"},
		{in: "08:00-21:60", wantErr: "its end"},
		{in: "08:00-24:01", wantErr: "its end"},
		{in: "08:0-21:00", wantErr: "its start"},
		{in: "０8:00-21:00", wantErr: "its start"},
		{in: "+8:00-21:00", wantErr: "its start"},
	}
	for _, tc := range tests {
		w, err := ParseWindow(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseWindow(%q) error = %v, want one containing %q", tc.in, err, tc.wantErr)
			}
			if got, want := smsflow.ErrorCode(err), smsflow.EINVALID; got != want {
				t.Errorf("ParseWindow(%q) error code = %q, want %q", tc.in, got, want)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseWindow(%q) error = %v", tc.in, err)
			continue
		}
		if got := w.String(); got != tc.want {
			t.Errorf("ParseWindow(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestWindowContainsIsHalfOpen(t *testing.T) {
	w := window(t, "08:00-21:00")
	base := local(t, "America/New_York", "2026-06-10 00:00")
	for _, tc := range []struct {
		offset time.Duration
		want   bool
	}{
		{8*time.Hour - time.Nanosecond, false},
		{8 * time.Hour, true},
		{21*time.Hour - time.Nanosecond, true},
		{21 * time.Hour, false},
	} {
		if got := w.Contains(base.Add(tc.offset)); got != tc.want {
			t.Errorf("Contains(%v) = %v, want %v", base.Add(tc.offset), got, tc.want)
		}
	}
	if got, want := window(t, "00:00-24:00").Contains(base.Add(24*time.Hour-time.Nanosecond)), true; got != want {
		t.Errorf("00:00-24:00 contains 23:59:59.999 = %v, want %v", got, want)
	}
}

func TestParseTimeOfDay(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want TimeOfDay
		ok   bool
	}{
		{"00:00", 0, true}, {"9:05", 545, true}, {"23:59", 1439, true}, {" 10:00 ", 600, true},
		{"24:00", 0, false}, {"10", 0, false}, {"10:5", 0, false}, {"100:00", 0, false}, {"-1:00", 0, false}, {"10:00:00", 0, false},
	} {
		got, err := ParseTimeOfDay(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseTimeOfDay(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestQuietHoursValidate(t *testing.T) {
	def := DefaultQuietHours()
	if err := def.Validate(); err != nil {
		t.Fatalf("default: %v", err)
	}
	badExempt, badOnQuiet := def, def
	badExempt.Exempt = []string{"service", "transactional"}
	badOnQuiet.OnQuiet = "queue"
	for _, tc := range []struct {
		name  string
		q     QuietHours
		field string
	}{
		{"zero value", QuietHours{}, "quiet_hours.allowed"},
		{"unknown category", badExempt, "quiet_hours.exempt"},
		{"unknown on_quiet", badOnQuiet, "quiet_hours.on_quiet"},
	} {
		err := tc.q.Validate()
		if got, want := smsflow.ErrorField(err), tc.field; got != want {
			t.Errorf("%s: error field = %q (%v), want %q", tc.name, got, err, want)
		}
	}
}

func TestQuietHoursFromYAML(t *testing.T) {
	var q QuietHours
	src := `{allowed: "09:00-20:30", state_rules: true, exempt: [service, lifecycle], on_quiet: skip}`
	if err := yaml.Unmarshal([]byte(src), &q); err != nil {
		t.Fatal(err)
	}
	if got, want := q.Allowed.String(), "09:00-20:30"; got != want {
		t.Errorf("allowed = %s, want %s", got, want)
	}
	if got, want := strings.Join(q.Exempt, ","), "service,lifecycle"; got != want || !q.StateRules || q.OnQuiet != OnQuietSkip {
		t.Errorf("decoded %+v", q)
	}
	err := yaml.Unmarshal([]byte(`{allowed: "21:00-08:00"}`), &q)
	if got, want := smsflow.ErrorCode(err), smsflow.EINVALID; got != want {
		t.Errorf("bad window error = %v, want code %s", err, want)
	}
}

func TestLoadZone(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"America/New_York", true}, {"UTC", true}, {"Asia/Kolkata", true},
		{"", false}, {"Local", false}, {"America/Nowhere", false}, {"../../etc/passwd", false}, {strings.Repeat("A", 100), false},
	} {
		loc, err := LoadZone(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("LoadZone(%q) error = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if tc.ok && loc.String() != tc.name {
			t.Errorf("LoadZone(%q) = %v", tc.name, loc)
		}
		if !tc.ok && smsflow.ErrorCode(err) != smsflow.EINVALID {
			t.Errorf("LoadZone(%q) error code = %q, want invalid", tc.name, smsflow.ErrorCode(err))
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	q := DefaultQuietHours()
	zones := []string{"America/Boise", "America/Los_Angeles"}
	for _, bc := range []struct {
		name string
		t    time.Time
	}{
		{"allowed", time.Date(2026, 6, 10, 19, 0, 0, 0, time.UTC)},
		{"deferred", time.Date(2026, 6, 10, 5, 0, 0, 0, time.UTC)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				q.Check(bc.t, zones, "ID", "promo")
			}
		})
	}
}
