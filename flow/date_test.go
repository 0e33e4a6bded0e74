package flow

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
)

// dateFlow is a valid flow whose trigger is a date mapping built from the
// given lines (each indented under date:).
func dateFlow(lines ...string) string {
	return "id: t\ncategory: lifecycle\ntrigger:\n  date:\n" + strings.Join(lines, "") + "steps:\n  - send: hi\n"
}

func TestParseDateTrigger(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want DateTrigger
	}{
		{"issue example", dateFlow("    property: contact.traits.birthday\n", "    offset: -3d\n", "    at: \"10:00\"\n", "    every: year\n"),
			DateTrigger{Property: "contact.traits.birthday", Offset: -3, At: Clock{10, 0}, Every: EveryYear}},
		{"defaults: offset 0, every year", dateFlow("    property: contact.traits.birthday\n", "    at: '9:30'\n"),
			DateTrigger{Property: "contact.traits.birthday", At: Clock{9, 30}, Every: EveryYear}},
		{"flow mapping, weeks, plus sign", "id: t\ncategory: lifecycle\ntrigger: {date: {property: contact.traits.renews_at, offset: +1w, at: '08:00', every: month}}\nsteps:\n  - send: hi\n",
			DateTrigger{Property: "contact.traits.renews_at", Offset: 7, At: Clock{8, 0}, Every: EveryMonth}},
		{"nested trait, once", dateFlow("    property: contact.traits.plan.renews-on\n", "    offset: 0d\n", "    at: '23:59'\n", "    every: once\n"),
			DateTrigger{Property: "contact.traits.plan.renews-on", At: Clock{23, 59}, Every: EveryOnce}},
		{"created_at, two weeks before", dateFlow("    property: contact.created_at\n", "    offset: -2w\n", "    at: '10:00'\n"),
			DateTrigger{Property: "contact.created_at", Offset: -14, At: Clock{10, 0}, Every: EveryYear}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParse(t, tt.src)
			if f.Trigger.Kind != TriggerDate || f.Trigger.Date == nil {
				t.Fatalf("trigger = %+v, want a date trigger", f.Trigger)
			}
			if got := *f.Trigger.Date; got != tt.want {
				t.Errorf("date = %+v, want %+v", got, tt.want)
			}
			if !f.Trigger.Scheduled() || !f.Trigger.Daily() || f.Trigger.Clock() != tt.want.At {
				t.Errorf("scheduled %v daily %v clock %v: a date trigger is scanned daily at its at:", f.Trigger.Scheduled(), f.Trigger.Daily(), f.Trigger.Clock())
			}
		})
	}
	f := mustParse(t, "id: t\ncategory: lifecycle\ntrigger:\n  date: {property: contact.traits.birthday, at: '10:00'}\n  where: 'event.properties.date != \"\" && contact.consent == \"subscribed\"'\nsteps:\n  - send: hi\n")
	if f.Trigger.Where == nil {
		t.Error("where under trigger is not kept for a date trigger")
	}
}

func TestParseDateTriggerInvalid(t *testing.T) {
	const p = "    property: contact.traits.birthday\n"
	const at = "    at: '10:00'\n"
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"no property", dateFlow(at),
			[]string{`t.yaml:5:5: date needs property: (the contact field holding the date, like contact.traits.birthday)`}},
		{"no at", dateFlow(p),
			[]string{`t.yaml:5:5: date needs at: (the time of day contacts enter, in their own time zone, like "10:00")`}},
		{"property without contact.", dateFlow("    property: traits.birthday\n", at),
			[]string{`t.yaml:5:15: date property "traits.birthday": use contact.traits.NAME (a trait holding a date like 1990-04-01 or 04-01) or contact.created_at, like "contact.traits.birthday"`}},
		{"property of an event", dateFlow("    property: event.properties.date\n", at),
			[]string{`t.yaml:5:15: date property "event.properties.date": use contact.traits.NAME (a trait holding a date like 1990-04-01 or 04-01) or contact.created_at (a date trigger reads the contact: there is no event before it fires)`}},
		{"property not a field", dateFlow("    property: contact.phone\n", at),
			[]string{`t.yaml:5:15: date property "contact.phone": use contact.traits.NAME (a trait holding a date like 1990-04-01 or 04-01) or contact.created_at`}},
		{"property with spaces", dateFlow("    property: contact.traits.birth day\n", at),
			[]string{`t.yaml:5:15: date property "contact.traits.birth day": use contact.traits.NAME (a trait holding a date like 1990-04-01 or 04-01) or contact.created_at`}},
		{"offset in hours", dateFlow(p, "    offset: -36h\n", at),
			[]string{`t.yaml:6:13: offset "-36h" is not whole days: a date trigger enters at its at: time on a day, so write days or weeks, like -3d or 2w`}},
		{"offset without unit", dateFlow(p, "    offset: -3\n", at),
			[]string{`t.yaml:6:13: invalid offset "-3": write whole days with an optional minus sign, like -3d (three days before the date), 1w or 0d`}},
		{"offset in words", dateFlow(p, "    offset: 3 days before\n", at),
			[]string{`t.yaml:6:13: invalid offset "3 days before": write whole days with an optional minus sign, like -3d (three days before the date), 1w or 0d`}},
		{"offset twice signed", dateFlow(p, "    offset: --3d\n", at),
			[]string{`t.yaml:6:13: invalid offset "--3d": write whole days with an optional minus sign, like -3d (three days before the date), 1w or 0d`}},
		{"bad at", dateFlow(p, "    at: '25:00'\n"),
			[]string{`t.yaml:6:9: at: invalid time "25:00": hours go 00–23 and minutes 00–59`}},
		{"at with a date", dateFlow(p, "    at: '2026-04-01T10:00'\n"),
			[]string{`t.yaml:6:9: at: invalid time "2026-04-01T10:00": use 24-hour HH:MM, like 10:00 or 18:30`}},
		{"every typo", dateFlow(p, at, "    every: yaer\n"),
			[]string{`t.yaml:7:12: unknown every "yaer"; did you mean "year"? (year: on the date's month and day, month: on its day of the month, once: on the full date only)`}},
		{"every unknown", dateFlow(p, at, "    every: fortnight\n"),
			[]string{`t.yaml:7:12: unknown every "fortnight"; use year, month or once (year: on the date's month and day, month: on its day of the month, once: on the full date only)`}},
		{"unknown key", dateFlow(p, at, "    ofset: -3d\n"),
			[]string{`t.yaml:7:5: unknown key "ofset" in date; did you mean "offset"?`}},
		{"date is a scalar", "id: t\ncategory: lifecycle\ntrigger:\n  date: contact.traits.birthday\nsteps:\n  - send: hi\n",
			[]string{`t.yaml:4:9: date must be a mapping of key: value lines, not the value "contact.traits.birthday"`}},
		{"date and event", "id: t\ncategory: lifecycle\ntrigger:\n  event: E\n  date: {property: contact.traits.birthday, at: '10:00'}\nsteps:\n  - send: hi\n",
			[]string{`t.yaml:5:3: a flow has one trigger, but this one has both "event" and "date"; make a second flow for the other`}},
		{"where is a CEL error", "id: t\ncategory: lifecycle\ntrigger:\n  date: {property: contact.traits.birthday, at: '10:00'}\n  where: 'clicked(\"a\")'\nsteps:\n  - send: hi\n",
			[]string{`t.yaml:5:11: trigger where: clicked() looks at the current run, and there is no run yet in trigger where`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, problems := Parse("t.yaml", []byte(tt.src), Options{})
			if f != nil {
				t.Fatalf("parsed, want errors %v", tt.want)
			}
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func d(y int, m time.Month, day int) smsflow.Date { return smsflow.Date{Year: y, Month: m, Day: day} }

// TestDateEntersOn is the date arithmetic: on which local days a contact
// with a given date enters.
func TestDateEntersOn(t *testing.T) {
	tests := []struct {
		name   string
		every  DateEvery
		offset int
		date   smsflow.Date
		day    smsflow.Date
		want   bool
	}{
		// every: year
		{"birthday on the day", EveryYear, 0, d(1990, 4, 1), d(2026, 4, 1), true},
		{"birthday a day early", EveryYear, 0, d(1990, 4, 1), d(2026, 3, 31), false},
		{"month-day only", EveryYear, 0, d(0, 4, 1), d(2026, 4, 1), true},
		{"29 Feb in a leap year", EveryYear, 0, d(1992, 2, 29), d(2028, 2, 29), true},
		{"29 Feb: not on 28 Feb of a leap year", EveryYear, 0, d(1992, 2, 29), d(2028, 2, 28), false},
		{"29 Feb falls on 28 Feb in other years", EveryYear, 0, d(1992, 2, 29), d(2026, 2, 28), true},
		{"29 Feb: not on 1 March", EveryYear, 0, d(1992, 2, 29), d(2026, 3, 1), false},
		{"--02-29 without year", EveryYear, 0, d(0, 2, 29), d(2027, 2, 28), true},
		{"3 days before, across a year end", EveryYear, -3, d(0, 1, 2), d(2025, 12, 30), true},
		{"3 days before, not the date itself", EveryYear, -3, d(0, 1, 2), d(2026, 1, 2), false},
		{"a week after, across a month end", EveryYear, 7, d(1980, 3, 28), d(2026, 4, 4), true},
		{"3 days before 1 March, leap year", EveryYear, -3, d(0, 3, 1), d(2028, 2, 27), true},
		{"3 days before 1 March, other year", EveryYear, -3, d(0, 3, 1), d(2026, 2, 26), true},
		{"full date: not before the date itself", EveryYear, 0, d(2027, 5, 10), d(2026, 5, 10), false},
		{"full date: the date itself", EveryYear, -3, d(2026, 5, 10), d(2026, 5, 7), true},
		// every: month
		{"monthly on the 15th", EveryMonth, 0, d(0, 1, 15), d(2026, 6, 15), true},
		{"monthly: not the 14th", EveryMonth, 0, d(0, 1, 15), d(2026, 6, 14), false},
		{"31st falls on 30 April", EveryMonth, 0, d(2026, 1, 31), d(2026, 4, 30), true},
		{"31st: not 30 March", EveryMonth, 0, d(2026, 1, 31), d(2026, 3, 30), false},
		{"31st falls on 28 Feb", EveryMonth, 0, d(2026, 1, 31), d(2026, 2, 28), true},
		{"30th falls on 29 Feb of a leap year", EveryMonth, 0, d(2028, 1, 30), d(2028, 2, 29), true},
		{"30th: not 28 Feb of a leap year", EveryMonth, 0, d(2028, 1, 30), d(2028, 2, 28), false},
		{"monthly 3 days before the 1st", EveryMonth, -3, d(0, 1, 1), d(2026, 2, 26), true},
		{"monthly: not before the start date", EveryMonth, 0, d(2026, 7, 15), d(2026, 6, 15), false},
		// every: once
		{"once on the date", EveryOnce, 0, d(2026, 5, 10), d(2026, 5, 10), true},
		{"once: not a year later", EveryOnce, 0, d(2026, 5, 10), d(2027, 5, 10), false},
		{"once 3 days before", EveryOnce, -3, d(2026, 5, 10), d(2026, 5, 7), true},
		{"once needs a year", EveryOnce, 0, d(0, 5, 10), d(2026, 5, 10), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &DateTrigger{Property: "contact.traits.x", Offset: tt.offset, Every: tt.every}
			occ, got := tr.EntersOn(tt.date, tt.day)
			if got != tt.want {
				t.Errorf("EntersOn(%s, %s) with every %s offset %d = %v, want %v", tt.date, tt.day, tt.every, tt.offset, got, tt.want)
			}
			if want := tt.day.AddDays(-tt.offset); occ != want {
				t.Errorf("occurrence %s, want %s", occ, want)
			}
		})
	}
}

func TestParseDateValue(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	la, _ := time.LoadLocation("America/Los_Angeles")
	tests := []struct {
		name  string
		value any
		loc   *time.Location
		want  smsflow.Date
		err   string // "" no error
	}{
		{"full date", "1990-04-01", la, d(1990, 4, 1), ""},
		{"month-day", "04-01", la, d(0, 4, 1), ""},
		{"29 Feb without year", "02-29", la, d(0, 2, 29), ""},
		{"spaces around", " 1990-04-01 ", la, d(1990, 4, 1), ""},
		{"RFC 3339 in Los Angeles: the day before in UTC terms", "1990-04-01T03:00:00Z", la, d(1990, 3, 31), ""},
		{"RFC 3339 in Tokyo: the day after", "1990-03-31T20:00:00Z", tokyo, d(1990, 4, 1), ""},
		{"RFC 3339 with offset and fraction", "2026-01-31T23:30:00.5-05:00", time.UTC, d(2026, 2, 1), ""},
		{"time value (created_at) in its zone", time.Date(2025, 6, 1, 2, 0, 0, 0, time.UTC), la, d(2025, 5, 31), ""},
		{"no such month", "1990-13-01", la, smsflow.Date{}, `"1990-13-01" is not a date: write YYYY-MM-DD, MM-DD or an RFC 3339 time`},
		{"29 Feb of a common year", "2023-02-29", la, smsflow.Date{}, `"2023-02-29" is not a date: write YYYY-MM-DD, MM-DD or an RFC 3339 time`},
		{"30 Feb", "02-30", la, smsflow.Date{}, `"02-30" is not a date: write YYYY-MM-DD, MM-DD or an RFC 3339 time`},
		{"US order", "04/01/1990", la, smsflow.Date{}, `"04/01/1990" is not a date: write YYYY-MM-DD, MM-DD or an RFC 3339 time`},
		{"year zero", "0000-04-01", la, smsflow.Date{}, `"0000-04-01" is not a date: write YYYY-MM-DD, MM-DD or an RFC 3339 time`},
		{"a number", 19900401.0, la, smsflow.Date{}, `"1.9900401e+07" is not a date: write YYYY-MM-DD, MM-DD or an RFC 3339 time`},
		{"a map", map[string]any{"y": 1}, la, smsflow.Date{}, `"map[y:1]" is not a date: write YYYY-MM-DD, MM-DD or an RFC 3339 time`},
		{"long text is cut", strings.Repeat("x", 100), la, smsflow.Date{}, `"` + strings.Repeat("x", 40) + `…" is not a date: write YYYY-MM-DD, MM-DD or an RFC 3339 time`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDateValue(tt.value, tt.loc)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.err != "" && (err == nil || smsflow.ErrorMessage(err) != tt.err):
				t.Fatalf("error %v, want %q", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestContactDate(t *testing.T) {
	yearly := &DateTrigger{Property: "contact.traits.birthday", Every: EveryYear}
	once := &DateTrigger{Property: "contact.traits.plan.renews", Every: EveryOnce}
	created := &DateTrigger{Property: "contact.created_at", Every: EveryYear}
	contact := func(traits map[string]any) map[string]any {
		return ContactVars(smsflow.Contact{ID: "a", Traits: traits, CreatedAt: time.Date(2025, 6, 1, 2, 0, 0, 0, time.UTC)}, smsflow.ConsentSubscribed)
	}
	la, _ := time.LoadLocation("America/Los_Angeles")
	for _, c := range []map[string]any{contact(nil), contact(map[string]any{"birthday": nil}), contact(map[string]any{"birthday": "  "})} {
		if _, err := yearly.ContactDate(c, la); !errors.Is(err, ErrNoDate) {
			t.Errorf("ContactDate(%v) = %v, want ErrNoDate", c["traits"], err)
		}
	}
	if _, err := yearly.ContactDate(contact(map[string]any{"birthday": "1990-13-01"}), la); err == nil || smsflow.ErrorMessage(err) != `contact.traits.birthday: "1990-13-01" is not a date: write YYYY-MM-DD, MM-DD or an RFC 3339 time` {
		t.Errorf("invalid value: %v", err)
	}
	if got, err := yearly.ContactDate(contact(map[string]any{"birthday": "04-01"}), la); err != nil || got != d(0, 4, 1) {
		t.Errorf("04-01: %s %v", got, err)
	}
	if _, err := once.ContactDate(contact(map[string]any{"plan": map[string]any{"renews": "05-10"}}), la); err == nil || smsflow.ErrorMessage(err) != `contact.traits.plan.renews is "05-10": every: once needs a full date (YYYY-MM-DD)` {
		t.Errorf("once with MM-DD: %v", err)
	}
	if got, err := once.ContactDate(contact(map[string]any{"plan": map[string]any{"renews": "2026-05-10"}}), la); err != nil || got != d(2026, 5, 10) {
		t.Errorf("nested trait: %s %v", got, err)
	}
	if _, err := once.ContactDate(contact(map[string]any{"plan": "gold"}), la); !errors.Is(err, ErrNoDate) {
		t.Errorf("a path through a non-object: %v, want ErrNoDate", err)
	}
	if got, err := created.ContactDate(contact(nil), la); err != nil || got != d(2025, 5, 31) {
		t.Errorf("created_at in Los Angeles: %s %v, want 2025-05-31", got, err)
	}
}

// FuzzDateValue feeds contact date values from outside to the parser and
// the trigger arithmetic: no panic, and a parsed date is a real day.
func FuzzDateValue(f *testing.F) {
	for _, s := range []string{"1990-04-01", "04-01", "02-29", "2023-02-29", "1990-04-01T03:00:00Z", "2026-01-31T23:30:00.5-05:00",
		"99-99", "0000-01-01", "9999-12-31", "04/01/1990", "", "   ", "1990-04-01T25:00:00Z", "٠٤-٠١", "-3d"} {
		f.Add(s, 0)
		f.Add(s, -3)
	}
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	f.Fuzz(func(t *testing.T, s string, offset int) {
		date, err := ParseDateValue(s, tokyo)
		if err != nil {
			if msg := smsflow.ErrorMessage(err); len(msg) > 400 { // the value is cut to 40 runes, each at most a 10-byte escape
				t.Fatalf("message of %d bytes", len(msg))
			}
			return
		}
		if date.Month < 1 || date.Month > 12 || date.Day < 1 || date.Day > daysIn(max(date.Year, 2000), date.Month) || date.Year < 0 || date.Year > 9999 {
			t.Fatalf("ParseDateValue(%q) = %+v, not a day", s, date)
		}
		offset %= 4000
		for _, every := range dateEveries {
			tr := &DateTrigger{Offset: offset, Every: every}
			_, _ = tr.EntersOn(date, d(2026, 2, 28))
		}
	})
}
