package policy

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// propertyZones mixes the US zones with ones whose DST is unusual: 30- and
// 45-minute offsets, a 30-minute DST shift (Lord Howe), changes at midnight
// (Havana, Santiago, Beirut), a skipped day (Apia, 2011).
var propertyZones = []string{
	"America/New_York", "America/Chicago", "America/Denver", "America/Boise", "America/Phoenix",
	"America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "Europe/London", "Asia/Kolkata",
	"Australia/Lord_Howe", "America/St_Johns", "Pacific/Chatham", "America/Santiago", "Asia/Tokyo",
	"Asia/Kathmandu", "America/Havana", "Asia/Beirut", "Pacific/Apia",
}

var propertyStates = []string{"", "FL", "AL", "LA", "MS", "KY", "CT", "TX"}

// oracle is Check's definition, written out the plain way, on zones loaded
// with time.LoadLocation rather than LoadZone.
func oracle(u time.Time, q QuietHours, zones []*time.Location, state string) bool {
	start, end := int(q.Allowed.Start), int(q.Allowed.End)
	var rule StateRule
	if q.StateRules {
		rule, _ = LookupState(state)
		if rule.State != "" {
			start, end = max(start, int(rule.Window.Start)), min(end, int(rule.Window.End))
		}
	}
	if len(zones) == 0 {
		return false
	}
	for _, loc := range zones {
		l := u.In(loc)
		sec := l.Hour()*3600 + l.Minute()*60 + l.Second()
		if sec < start*60 || sec >= end*60 {
			return false
		}
		if rule.NoSunday && l.Weekday() == time.Sunday {
			return false
		}
		if rule.NoHolidays {
			d := date(l.Year(), l.Month(), l.Day())
			if _, ok := IsHoliday(rule.State, d); ok || !HolidaysCover(rule.State, d.Year) {
				return false
			}
		}
	}
	return true
}

func TestCheckProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(20260308, 1101))
	transitions := []time.Time{
		time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC),    // US spring forward
		time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC),   // US fall back
		time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC),   // EU spring forward
		time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC),  // EU fall back
		time.Date(2026, 4, 4, 15, 0, 0, 0, time.UTC),   // Lord Howe fall back
		time.Date(2026, 9, 6, 4, 0, 0, 0, time.UTC),    // Santiago spring forward (midnight)
		time.Date(2011, 12, 30, 10, 0, 0, 0, time.UTC), // Apia skips a day
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const cases = 2000
	var nAllowed, nDeferred, nNever int
	for i := range cases {
		var ts time.Time
		if rng.IntN(3) == 0 {
			tr := transitions[rng.IntN(len(transitions))]
			ts = tr.Add(time.Duration(rng.Int64N(int64(52*time.Hour))) - 26*time.Hour)
		} else {
			ts = base.Add(time.Duration(rng.Int64N(int64(3 * 365 * 24 * time.Hour))))
		}
		ts = ts.Add(time.Duration(rng.IntN(60)) * time.Second)

		q := DefaultQuietHours()
		q.StateRules = rng.IntN(2) == 0
		if rng.IntN(2) == 0 {
			start := rng.IntN(1440)
			end := start + 1 + rng.IntN(1440-start)
			q.Allowed = Window{Start: TimeOfDay(start), End: TimeOfDay(end)}
		}
		zones := make([]string, 1+rng.IntN(3))
		locs := make([]*time.Location, len(zones))
		for j := range zones {
			zones[j] = propertyZones[rng.IntN(len(propertyZones))]
			loc, err := time.LoadLocation(zones[j])
			if err != nil {
				t.Fatal(err)
			}
			locs[j] = loc
		}
		state := propertyStates[rng.IntN(len(propertyStates))]

		allowed, next := q.Check(ts, zones, state, "promo")
		desc := func() string {
			return ts.UTC().Format(time.RFC3339) + " " + q.Allowed.String() + " " + state + " " + strings.Join(zones, ",")
		}
		if got, want := allowed, oracle(ts, q, locs, state); got != want {
			t.Fatalf("case %d %s: allowed = %v, oracle says %v", i, desc(), got, want)
		}
		switch {
		case allowed:
			nAllowed++
		case next.IsZero():
			nNever++
		default:
			nDeferred++
		}
		if allowed {
			if !next.Equal(ts) {
				t.Fatalf("case %d %s: allowed but next = %v", i, desc(), next)
			}
			continue
		}
		limit := ts.Add(MaxQuietSearch)
		if !next.IsZero() {
			if !next.After(ts) || next.After(limit) {
				t.Fatalf("case %d %s: next %v not in (t, t+%v]", i, desc(), next.UTC(), MaxQuietSearch)
			}
			if !oracle(next, q, locs, state) {
				t.Fatalf("case %d %s: next %v is not allowed", i, desc(), next.UTC())
			}
			if again, _ := q.Check(next, zones, state, "promo"); !again {
				t.Fatalf("case %d %s: Check(next %v) is not allowed", i, desc(), next.UTC())
			}
			limit = next
		}
		for u := ts; u.Before(limit); u = u.Add(time.Minute) {
			if oracle(u, q, locs, state) {
				t.Fatalf("case %d %s: %v is allowed, before next %v", i, desc(), u.UTC(), next.UTC())
			}
		}
	}
	t.Logf("outcomes: %d allowed, %d deferred, %d never", nAllowed, nDeferred, nNever)
	// The cases must exercise every outcome, or the properties prove little.
	if nAllowed < cases/10 || nDeferred < cases/10 || nNever == 0 {
		t.Errorf("outcomes: %d allowed, %d deferred, %d never; want each represented", nAllowed, nDeferred, nNever)
	}
}

func TestNextLocalProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 1500 {
		ts := base.Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour)))).Add(time.Duration(rng.IntN(60)) * time.Second)
		if i%3 == 0 { // near the US and Santiago changes, where the gaps and overlaps are
			ts = []time.Time{
				time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC),
				time.Date(2026, 9, 6, 4, 0, 0, 0, time.UTC), time.Date(2026, 4, 5, 3, 0, 0, 0, time.UTC),
			}[rng.IntN(4)].Add(time.Duration(rng.IntN(48*60)-36*60) * time.Minute)
		}
		loc, err := time.LoadLocation(propertyZones[rng.IntN(len(propertyZones))])
		if err != nil {
			t.Fatal(err)
		}
		tod := TimeOfDay(rng.IntN(1440))
		if rng.IntN(2) == 0 { // near the usual DST hours
			tod = TimeOfDay(rng.IntN(4*60)) - 30
			if tod < 0 {
				tod += 1440
			}
		}
		got := NextLocal(ts, tod.String(), loc)
		if !got.After(ts) || got.Sub(ts) > 50*time.Hour {
			t.Fatalf("NextLocal(%v, %s, %v) = %v: not within (t, t+50h]", ts, tod, loc, got)
		}
		l := got.In(loc)
		reads := TimeOfDay(l.Hour()*60+l.Minute()) == tod && l.Second() == 0
		if start, _ := l.ZoneBounds(); !reads && !start.Equal(got) {
			t.Fatalf("NextLocal(%v, %s, %v) = %v: reads %s and is no zone change", ts, tod, loc, l, TimeOfDay(l.Hour()*60+l.Minute()))
		}
		// No first occurrence of the time between t and the answer.
		for u := ts.Truncate(time.Minute).Add(time.Minute); u.Before(got); u = u.Add(time.Minute) {
			ul := u.In(loc)
			if TimeOfDay(ul.Hour()*60+ul.Minute()) != tod {
				continue
			}
			repeat := false
			for _, d := range []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour} {
				pl := u.Add(-d).In(loc)
				if pl.Year() == ul.Year() && pl.YearDay() == ul.YearDay() && pl.Hour() == ul.Hour() && pl.Minute() == ul.Minute() {
					repeat = true
				}
			}
			if !repeat {
				t.Fatalf("NextLocal(%v, %s, %v) = %v, but %v reads %s first", ts, tod, loc, got, ul, tod)
			}
		}
	}
}
