package policy

import (
	"testing"
	"time"

	"github.com/smsflow/smsflow"
)

func FuzzParseWindow(f *testing.F) {
	for _, s := range []string{"08:00-21:00", " 8:00 - 21:00 ", "08:00–20:00", "00:00-24:00", "21:00-08:00", "24:00-24:00", "", "-", "08:00-", "9:5-10:00", "٠٨:٠٠-٢١:٠٠", "08:00--21:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := ParseWindow(s)
		if err != nil {
			if smsflow.ErrorCode(err) != smsflow.EINVALID {
				t.Fatalf("ParseWindow(%q) error %v is not EINVALID", s, err)
			}
			return
		}
		if w.Empty() || w.Start < 0 || w.End > EndOfDay {
			t.Fatalf("ParseWindow(%q) = %+v, outside a day or empty", s, w)
		}
		again, err := ParseWindow(w.String())
		if err != nil || again != w {
			t.Fatalf("ParseWindow(%q) = %s, which parses back as %+v, %v", s, w, again, err)
		}
	})
}

func FuzzParseTimeOfDay(f *testing.F) {
	for _, s := range []string{"10:00", "0:00", "23:59", "24:00", "12:60", "1:2", " 7:30", "07:30:00", "-1:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tod, err := ParseTimeOfDay(s)
		if err != nil {
			if smsflow.ErrorCode(err) != smsflow.EINVALID {
				t.Fatalf("ParseTimeOfDay(%q) error %v is not EINVALID", s, err)
			}
			if !NextLocal(time.Unix(0, 0), s, time.UTC).IsZero() {
				t.Fatalf("NextLocal accepted %q, which ParseTimeOfDay rejects", s)
			}
			return
		}
		if tod < 0 || tod >= EndOfDay {
			t.Fatalf("ParseTimeOfDay(%q) = %d", s, tod)
		}
		if again, err := ParseTimeOfDay(tod.String()); err != nil || again != tod {
			t.Fatalf("%q → %s → %d, %v", s, tod, again, err)
		}
	})
}

// FuzzLoadZone feeds zone names as they arrive in traits and Segment
// context.timezone.
func FuzzLoadZone(f *testing.F) {
	for _, s := range []string{"America/New_York", "UTC", "Local", "", "../../../etc/passwd", "/etc/localtime", "America/../Europe/London", "Etc/GMT+5", "posixrules", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		loc, err := LoadZone(name)
		if err != nil {
			if smsflow.ErrorCode(err) != smsflow.EINVALID {
				t.Fatalf("LoadZone(%q) error %v is not EINVALID", name, err)
			}
			return
		}
		if loc == nil || loc == time.Local {
			t.Fatalf("LoadZone(%q) = %v", name, loc)
		}
	})
}

// FuzzCheck drives Check with arbitrary instants, windows, zones and
// states: it must never panic, and what it returns must hold up. Zones are
// picked from propertyZones by index, or taken raw when the index is past it.
func FuzzCheck(f *testing.F) {
	f.Add(int64(1781136000), "08:00-21:00", uint8(0), uint8(5), "", "FL", true)
	f.Add(int64(1772953200), "02:30-21:00", uint8(0), uint8(0), "", "", false)
	f.Add(int64(1793509200), "00:00-01:30", uint8(16), uint8(17), "", "AL", true)
	f.Add(int64(-62135596800), "08:00-21:00", uint8(200), uint8(1), "UTC", "LA", true)
	f.Add(int64(253402300799), "09:00-12:00", uint8(14), uint8(18), "", "", false)
	f.Add(int64(1<<62), "09:00-12:00", uint8(3), uint8(10), "", "MS", true)
	f.Add(int64(-1<<62), "09:00-12:00", uint8(3), uint8(10), "", "KY", true)
	f.Fuzz(func(t *testing.T, unix int64, win string, z1, z2 uint8, raw, state string, stateRules bool) {
		w, err := ParseWindow(win)
		if err != nil {
			return
		}
		pick := func(i uint8) string {
			if int(i) < len(propertyZones) {
				return propertyZones[i]
			}
			return raw
		}
		ts := time.Unix(unix, 0).UTC()
		q := QuietHours{Allowed: w, StateRules: stateRules, Exempt: []string{"service"}, OnQuiet: OnQuietDefer}
		zones := []string{pick(z1), pick(z2)}
		allowed, next := q.Check(ts, zones, state, "promo")
		switch {
		case allowed && !next.Equal(ts):
			t.Fatalf("allowed with next %v != t %v", next, ts)
		case !allowed && !next.IsZero():
			if !next.After(ts) || next.Sub(ts) > MaxQuietSearch {
				t.Fatalf("next %v not in (t, t+14d] for t %v", next, ts)
			}
			if ok, _ := q.Check(next, zones, state, "promo"); !ok {
				t.Fatalf("next %v is not allowed", next)
			}
		}
		if ok, _ := q.Check(ts, zones, state, "service"); !ok {
			t.Fatal("an exempt category was held")
		}
	})
}
