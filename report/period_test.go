package report

import (
	"testing"
	"time"

	"github.com/smsflow/smsflow"
)

func TestParsePeriod(t *testing.T) {
	now := time.Date(2025, 3, 10, 15, 4, 5, 0, time.UTC)
	d := func(m, day int) time.Time { return time.Date(2025, time.Month(m), day, 0, 0, 0, 0, time.UTC) }
	for _, c := range []struct {
		from, to         string
		wantFrom, wantTo time.Time
	}{
		{"2025-03-01", "2025-03-07", d(3, 1), d(3, 8)}, // a date "to" includes its day
		{"2025-03-01T12:00:00Z", "2025-03-02T00:00:00+01:00", d(3, 1).Add(12 * time.Hour), d(3, 1).Add(23 * time.Hour)},
		{"", "", now.Add(-DefaultPeriod), now},
		{"2025-02-01", "", d(2, 1), now},
		{" 2025-03-01 ", "", d(3, 1), now},
	} {
		from, to, err := ParsePeriod(c.from, c.to, now)
		if err != nil || !from.Equal(c.wantFrom) || !to.Equal(c.wantTo) {
			t.Errorf("ParsePeriod(%q, %q) = %v, %v, %v; want %v, %v", c.from, c.to, from, to, err, c.wantFrom, c.wantTo)
		}
	}
	for _, c := range [][2]string{{"yesterday", ""}, {"", "2025-13-01"}, {"2025-03-05", "2025-03-01"}, {"2025-03-01", "2025-02-28T23:00:00Z"}, {"1969-12-31", ""}, {"2025-03-01T00:00:00", ""}} {
		if _, _, err := ParsePeriod(c[0], c[1], now); smsflow.ErrorCode(err) != smsflow.EINVALID || smsflow.ErrorMessage(err) == "" {
			t.Errorf("ParsePeriod(%q, %q) = %v, want an invalid error", c[0], c[1], err)
		}
	}
}

func TestParseSegmentPrice(t *testing.T) {
	for s, want := range map[string]float64{"": 0, "0.0079": 0.0079, " 0.01 ": 0.01, "0": 0} {
		if got, err := ParseSegmentPrice(s); err != nil || got != want {
			t.Errorf("ParseSegmentPrice(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"-1", "abc", "NaN", "Inf", "1e400"} {
		if _, err := ParseSegmentPrice(s); smsflow.ErrorCode(err) != smsflow.EINVALID {
			t.Errorf("ParseSegmentPrice(%q) = %v, want invalid", s, err)
		}
	}
}

func FuzzParsePeriod(f *testing.F) {
	for _, s := range [][2]string{{"2025-03-01", "2025-03-07"}, {"2025-03-01T12:00:00Z", ""}, {"", "9999-12-31"}, {"0000-01-01", "x"}} {
		f.Add(s[0], s[1])
	}
	now := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, from, to string) {
		a, b, err := ParsePeriod(from, to, now)
		if err != nil {
			if smsflow.ErrorCode(err) != smsflow.EINVALID {
				t.Fatalf("error %v is not invalid", err)
			}
			return
		}
		if !a.Before(b) || a.Before(minTime) || b.After(maxTime.Add(24*time.Hour)) {
			t.Fatalf("accepted a bad window [%v, %v)", a, b)
		}
	})
}

func FuzzParseSegmentPrice(f *testing.F) {
	for _, s := range []string{"0.0079", "", "-0", "1e9", "NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseSegmentPrice(s)
		if err == nil && (v < 0 || v != v) {
			t.Fatalf("accepted %q as %v", s, v)
		}
	})
}
