package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
)

func TestCheckHolidayTable(t *testing.T) {
	for _, tc := range []struct {
		today   string
		missing string // "" when the table is current
	}{
		{"2026-01-01", ""},
		{"2026-06-01", ""},
		{"2027-12-31", ""},
		{"2028-01-01", "AL 2029"},
		{"2025-12-31", "AL 2025"},
	} {
		today, err := time.Parse("2006-01-02", tc.today)
		if err != nil {
			t.Fatal(err)
		}
		err = CheckHolidayTable(today)
		switch {
		case tc.missing == "" && err != nil:
			t.Errorf("today %s: %v", tc.today, err)
		case tc.missing != "" && (err == nil || !strings.Contains(err.Error(), tc.missing)):
			t.Errorf("today %s: error %v, want one naming %q", tc.today, err, tc.missing)
		}
	}
}

// holidayReviewed is the day the table was last filled in. The check below
// is what serve runs at start-up with its clock; here the date is fixed.
var holidayReviewed = time.Date(2026, time.June, 1, 0, 0, 0, 0, time.UTC)

func TestHolidayTableCoversReviewYearAndNext(t *testing.T) {
	if err := CheckHolidayTable(holidayReviewed); err != nil {
		t.Fatal(err)
	}
}

// TestHolidayTableMatchesRules recomputes every row from the rule that
// defines it, so a mistyped date in the hand-written table fails here, and
// every rule-computed date is in the table.
func TestHolidayTableMatchesRules(t *testing.T) {
	want := map[Holiday]bool{}
	add := func(state string, d time.Time, name, src string) {
		want[Holiday{State: state, Date: smsflow.DateOf(d), Name: name, Source: src}] = true
	}
	addFixed := func(y int, m time.Month, day int, name string) {
		d := time.Date(y, m, day, 0, 0, 0, 0, time.UTC)
		add("US", d, name, srcFederal)
		switch d.Weekday() {
		case time.Saturday:
			add("US", d.AddDate(0, 0, -1), name+" (observed)", srcFederalObserved)
		case time.Sunday:
			add("US", d.AddDate(0, 0, 1), name+" (observed)", srcFederalObserved)
		}
	}
	for y := 2026; y <= 2028; y++ {
		easter := easterSunday(y)
		addFixed(y, time.January, 1, "New Year's Day")
		add("US", nthWeekday(y, time.January, time.Monday, 3), "Birthday of Martin Luther King, Jr.", srcFederal)
		add("US", nthWeekday(y, time.February, time.Monday, 3), "Washington's Birthday", srcFederal)
		add("US", nthWeekday(y, time.May, time.Monday, -1), "Memorial Day", srcFederal)
		addFixed(y, time.June, 19, "Juneteenth National Independence Day")
		addFixed(y, time.July, 4, "Independence Day")
		add("US", nthWeekday(y, time.September, time.Monday, 1), "Labor Day", srcFederal)
		add("US", nthWeekday(y, time.October, time.Monday, 2), "Columbus Day", srcFederal)
		addFixed(y, time.November, 11, "Veterans Day")
		add("US", nthWeekday(y, time.November, time.Thursday, 4), "Thanksgiving Day", srcFederal)
		addFixed(y, time.December, 25, "Christmas Day")

		add("AL", easter.AddDate(0, 0, -47), "Mardi Gras (Mobile and Baldwin counties; applied statewide)", srcAlabama)
		add("AL", nthWeekday(y, time.April, time.Monday, 4), "Confederate Memorial Day", srcAlabama)
		add("AL", nthWeekday(y, time.June, time.Monday, 1), "Jefferson Davis' Birthday", srcAlabama)

		add("LA", time.Date(y, time.January, 8, 0, 0, 0, 0, time.UTC), "Battle of New Orleans", srcLouisiana)
		add("LA", easter.AddDate(0, 0, -47), "Mardi Gras", srcLouisiana)
		add("LA", easter.AddDate(0, 0, -2), "Good Friday", srcLouisiana)
		add("LA", nthWeekday(y, time.June, time.Saturday, 3), "Juneteenth Day", srcLouisianaJuneteenth)
		add("LA", time.Date(y, time.August, 30, 0, 0, 0, 0, time.UTC), "Huey P. Long Day", srcLouisiana)
		add("LA", time.Date(y, time.November, 1, 0, 0, 0, 0, time.UTC), "All Saints' Day", srcLouisiana)
		if y%2 == 0 {
			add("LA", nthWeekday(y, time.November, time.Monday, 1).AddDate(0, 0, 1), "General election day", srcLouisianaElection)
		}
	}
	got := map[Holiday]bool{}
	for _, h := range holidays {
		if got[h] {
			t.Errorf("duplicate row %+v", h)
		}
		got[h] = true
		if !want[h] {
			t.Errorf("row %s %s %q does not match its rule", h.State, h.Date, h.Name)
		}
	}
	for h := range want {
		if !got[h] {
			t.Errorf("missing row %s %s %q", h.State, h.Date, h.Name)
		}
	}
}

// nthWeekday is the n-th weekday of a month; n = -1 is the last.
func nthWeekday(y int, m time.Month, wd time.Weekday, n int) time.Time {
	if n < 0 {
		d := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC)
		for d.Weekday() != wd {
			d = d.AddDate(0, 0, -1)
		}
		return d
	}
	d := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	for d.Weekday() != wd {
		d = d.AddDate(0, 0, 1)
	}
	return d.AddDate(0, 0, 7*(n-1))
}

// easterSunday is the Gregorian Easter (anonymous Gregorian algorithm).
func easterSunday(y int) time.Time {
	a, b, c := y%19, y/100, y%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return time.Date(y, time.Month(month), day, 0, 0, 0, 0, time.UTC)
}

func TestEasterSunday(t *testing.T) {
	for y, want := range map[int]string{2024: "2024-03-31", 2025: "2025-04-20", 2026: "2026-04-05", 2027: "2027-03-28", 2028: "2028-04-16"} {
		if got := smsflow.DateOf(easterSunday(y)).String(); got != want {
			t.Errorf("Easter %d = %s, want %s", y, got, want)
		}
	}
}

func TestIsHoliday(t *testing.T) {
	for _, tc := range []struct {
		state string
		date  smsflow.Date
		want  string
	}{
		{"AL", date(2026, time.April, 27), "Confederate Memorial Day"},
		{"LA", date(2026, time.April, 27), ""},
		{"LA", date(2026, time.April, 3), "Good Friday"},
		{"AL", date(2026, time.July, 3), "Independence Day (observed)"},
		{"LA", date(2028, time.February, 29), "Mardi Gras"},
		{"AL", date(2026, time.June, 2), ""},
	} {
		name, ok := IsHoliday(tc.state, tc.date)
		if name != tc.want || ok != (tc.want != "") {
			t.Errorf("IsHoliday(%s, %s) = %q, %v; want %q", tc.state, tc.date, name, ok, tc.want)
		}
	}
	if got := Holidays("TX"); got != nil {
		t.Errorf("Holidays(TX) = %v, want nil", got)
	}
	if got, want := len(Holidays("AL")), 39+9; got != want {
		t.Errorf("len(Holidays(AL)) = %d, want %d", got, want)
	}
}
