package flow

import (
	"strconv"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
)

// MaxDuration is the longest duration a flow may use (520w, about ten years);
// it keeps sums of durations and timestamps far from overflow.
const MaxDuration = 520 * 7 * 24 * time.Hour

var durationUnits = []struct {
	unit byte
	d    time.Duration
}{
	{'w', 7 * 24 * time.Hour},
	{'d', 24 * time.Hour},
	{'h', time.Hour},
	{'m', time.Minute},
	{'s', time.Second},
}

const durationHelp = "use a whole number and a unit s, m, h, d or w, like 90s, 30m, 24h, 7d or 2w"

// ParseDuration parses a flow duration: one or more whole numbers each with
// a unit s, m, h, d (24h) or w (168h), larger units first and each at most
// once, like "90s", "7d" or "1h30m". It rejects fractions, signs, spaces,
// other units and anything over MaxDuration with an *smsflow.Error whose
// message says how to write it. "0s" parses to 0; callers that need a
// positive duration check that themselves.
func ParseDuration(s string) (time.Duration, error) {
	if strings.TrimSpace(s) == "" {
		return 0, smsflow.Errorf(smsflow.EINVALID, "empty duration; %s", durationHelp)
	}
	var total time.Duration
	last := -1 // index into durationUnits of the previous unit
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, badDuration(s)
		}
		if i < len(rest) && (rest[i] == '.' || rest[i] == ',') {
			return 0, smsflow.Errorf(smsflow.EINVALID, "invalid duration %q: use whole numbers, like 90m rather than 1.5h", s)
		}
		if i == len(rest) {
			return 0, smsflow.Errorf(smsflow.EINVALID, "invalid duration %q: add a unit (s, m, h, d or w), like %sm or %sd", s, rest, rest)
		}
		digits := rest[:i]
		unit := rest[i]
		rest = rest[i+1:]
		u := -1
		for k, du := range durationUnits {
			if du.unit == unit {
				u = k
			}
		}
		if u < 0 || (rest != "" && rest[0] >= 'a' && rest[0] <= 'z') {
			return 0, smsflow.Errorf(smsflow.EINVALID, "invalid duration %q: unknown unit; %s", s, durationHelp)
		}
		if u <= last {
			return 0, smsflow.Errorf(smsflow.EINVALID, "invalid duration %q: write each unit once, larger units first, like 1d12h or 1h30m", s)
		}
		last = u
		if len(digits) > 9 {
			return 0, tooLong(s)
		}
		n, err := strconv.ParseInt(digits, 10, 64)
		if err != nil {
			return 0, badDuration(s)
		}
		if n > int64(MaxDuration/durationUnits[u].d) {
			return 0, tooLong(s)
		}
		total += time.Duration(n) * durationUnits[u].d
		if total > MaxDuration {
			return 0, tooLong(s)
		}
	}
	return total, nil
}

func badDuration(s string) error {
	return smsflow.Errorf(smsflow.EINVALID, "invalid duration %q: %s", s, durationHelp)
}

func tooLong(s string) error {
	return smsflow.Errorf(smsflow.EINVALID, "duration %q is too long; the maximum is 520w (about 10 years)", s)
}

// parsePercent parses a holdout share like "10%" or "2.5%" into percent.
func parsePercent(s string) (float64, error) {
	num, ok := strings.CutSuffix(strings.TrimSpace(s), "%")
	if !ok {
		return 0, smsflow.Errorf(smsflow.EINVALID, "holdout %q needs a percent sign, like 10%%", s)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || strings.ContainsAny(num, "eEinfINFxX_") {
		return 0, smsflow.Errorf(smsflow.EINVALID, "invalid holdout %q: write a percentage like 10%%", s)
	}
	if v < 0 || v > 100 {
		return 0, smsflow.Errorf(smsflow.EINVALID, "holdout %q is outside 0%%–100%%", s)
	}
	return v, nil
}

// parseClock parses a 24-hour "HH:MM" (one-digit hours allowed).
func parseClock(s string) (Clock, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 || !digitsOnly(h) || !digitsOnly(m) {
		return Clock{}, smsflow.Errorf(smsflow.EINVALID, "invalid time %q: use 24-hour HH:MM, like 10:00 or 18:30", s)
	}
	hh, _ := strconv.Atoi(h)
	mm, _ := strconv.Atoi(m)
	if hh > 23 || mm > 59 {
		return Clock{}, smsflow.Errorf(smsflow.EINVALID, "invalid time %q: hours go 00–23 and minutes 00–59", s)
	}
	return Clock{Hour: hh, Minute: mm}, nil
}

// parseWallTime parses a local wall-clock time: "YYYY-MM-DDTHH:MM" (a space
// may replace the T) or a daily "HH:MM".
func parseWallTime(s string) (WallTime, error) {
	if !strings.Contains(s, "-") {
		c, err := parseClock(s)
		return WallTime{Clock: c}, err
	}
	date, clock, ok := strings.Cut(s, "T")
	if !ok {
		date, clock, ok = strings.Cut(s, " ")
	}
	help := smsflow.Errorf(smsflow.EINVALID, "invalid local time %q: with local: true, at is a wall-clock time without offset, like 2025-11-28T10:00, or 10:00 for every day", s)
	if !ok {
		return WallTime{}, help
	}
	d, err := time.Parse("2006-01-02", date)
	if err != nil {
		return WallTime{}, help
	}
	c, err := parseClock(clock)
	if err != nil {
		return WallTime{}, help
	}
	return WallTime{HasDate: true, Year: d.Year(), Month: d.Month(), Day: d.Day(), Clock: c}, nil
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
