package flow

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	const day, week = 24 * time.Hour, 7 * 24 * time.Hour
	valid := []struct {
		in   string
		want time.Duration
	}{
		{"90s", 90 * time.Second},
		{"30m", 30 * time.Minute},
		{"60m", time.Hour},
		{"24h", 24 * time.Hour},
		{"7d", 7 * day},
		{"2w", 2 * week},
		{"1w", 168 * time.Hour},
		{"1h30m", 90 * time.Minute},
		{"1d12h", 36 * time.Hour},
		{"1w2d3h4m5s", week + 2*day + 3*time.Hour + 4*time.Minute + 5*time.Second},
		{"0s", 0},
		{"520w", MaxDuration},
		{"007d", 7 * day},
	}
	for _, tt := range valid {
		got, err := ParseDuration(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	invalid := []struct{ in, want string }{
		{"", "empty duration"},
		{"   ", "empty duration"},
		{"60", `add a unit (s, m, h, d or w), like 60m or 60d`},
		{"1.5h", "use whole numbers"},
		{"1,5h", "use whole numbers"},
		{"5 days", "unknown unit"},
		{"7days", "unknown unit"},
		{"10ms", "unknown unit"},
		{"1y", "unknown unit"},
		{"1H", "unknown unit"},
		{"-1h", "use a whole number and a unit"},
		{"+1h", "use a whole number and a unit"},
		{"h", "use a whole number and a unit"},
		{"30m1h", "larger units first"},
		{"1h1h", "larger units first"},
		{"521w", "too long"},
		{"3651d", "too long"},
		{"20000w", "too long"},
		{"99999999999s", "too long"},
		{"1h ", "use a whole number and a unit"},
		{" 1h", "use a whole number and a unit"},
	}
	for _, tt := range invalid {
		_, err := ParseDuration(tt.in)
		if err == nil {
			t.Errorf("ParseDuration(%q): no error", tt.in)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseDuration(%q) error %q, want it to contain %q", tt.in, err, tt.want)
		}
	}
}

func TestParsePercent(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		err  string
	}{
		{"10%", 10, ""},
		{"0%", 0, ""},
		{"100%", 100, ""},
		{"2.5%", 2.5, ""},
		{"10", 0, "needs a percent sign"},
		{"101%", 0, "outside"},
		{"-1%", 0, "outside"},
		{"ten%", 0, "write a percentage"},
		{"NaN%", 0, "write a percentage"},
		{"1e1%", 0, "write a percentage"},
	}
	for _, tt := range tests {
		got, err := parsePercent(tt.in)
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("parsePercent(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("parsePercent(%q) error = %v, want %q", tt.in, err, tt.err)
		}
	}
}

func TestParseClockAndWallTime(t *testing.T) {
	clocks := []struct {
		in, want string
		ok       bool
	}{
		{"10:00", "10:00", true},
		{"9:05", "09:05", true},
		{"23:59", "23:59", true},
		{"24:00", "", false},
		{"10:60", "", false},
		{"10", "", false},
		{"10:0", "", false},
		{"ab:cd", "", false},
		{"10:00 PM", "", false},
	}
	for _, tt := range clocks {
		c, err := parseClock(tt.in)
		if (err == nil) != tt.ok || (tt.ok && c.String() != tt.want) {
			t.Errorf("parseClock(%q) = %v, %v; want %q ok=%v", tt.in, c, err, tt.want, tt.ok)
		}
	}
	walls := []struct {
		in, want string
		daily    bool
		ok       bool
	}{
		{"10:00", "10:00", true, true},
		{"2025-11-28T10:00", "2025-11-28T10:00", false, true},
		{"2025-11-28 10:00", "2025-11-28T10:00", false, true},
		{"2025-02-30T10:00", "", false, false},
		{"2025-11-28T10:00:00Z", "", false, false},
		{"2025-11-28", "", false, false},
	}
	for _, tt := range walls {
		w, err := parseWallTime(tt.in)
		if (err == nil) != tt.ok || (tt.ok && (w.String() != tt.want || w.Daily() != tt.daily)) {
			t.Errorf("parseWallTime(%q) = %v (daily %v), %v; want %q daily=%v ok=%v", tt.in, w, w.Daily(), err, tt.want, tt.daily, tt.ok)
		}
	}
}
