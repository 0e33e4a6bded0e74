package report

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
)

// DefaultPeriod is the report window when no "from" is given: the 30 days
// before "to".
const DefaultPeriod = 30 * 24 * time.Hour

// minTime and maxTime bound the dates a report accepts.
var minTime, maxTime = time.Unix(0, 0).UTC(), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// ParsePeriod reads a report window [from, to) from query parameters. Each
// bound is RFC 3339 ("2025-03-01T00:00:00Z") or a date ("2025-03-01", a UTC
// day). A date as "to" includes that whole day (the window ends at the next
// midnight). An empty "to" means now; an empty "from" means DefaultPeriod
// before "to". from must be before to.
func ParsePeriod(fromS, toS string, now time.Time) (from, to time.Time, err error) {
	to = now.UTC()
	if strings.TrimSpace(toS) != "" {
		var date bool
		if to, date, err = parseBound("to", toS); err != nil {
			return
		}
		if date {
			to = to.Add(24 * time.Hour)
		}
	}
	from = to.Add(-DefaultPeriod)
	if strings.TrimSpace(fromS) != "" {
		if from, _, err = parseBound("from", fromS); err != nil {
			return
		}
	}
	if !from.Before(to) {
		err = smsflow.FieldErrorf(smsflow.EINVALID, "from", "from (%s) must be before to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return
}

func parseBound(field, s string) (t time.Time, date bool, err error) {
	s = strings.TrimSpace(s)
	if len(s) == len("2006-01-02") {
		t, err = time.Parse("2006-01-02", s)
		date = true
	} else {
		t, err = time.Parse(time.RFC3339Nano, s)
	}
	if err != nil {
		return t, false, smsflow.FieldErrorf(smsflow.EINVALID, field, "%q is not a date (2025-03-01) or an RFC 3339 time (2025-03-01T00:00:00Z)", s)
	}
	t = t.UTC()
	if t.Before(minTime) || t.After(maxTime) {
		return t, false, smsflow.FieldErrorf(smsflow.EINVALID, field, "%q is out of range (1970 to 9999)", s)
	}
	return t, date, nil
}

// ParseSegmentPrice reads the configured price of one segment
// (segment_price / SMSFLOW_SEGMENT_PRICE): a non-negative decimal such as
// "0.0079"; empty means 0.
func ParseSegmentPrice(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, smsflow.FieldErrorf(smsflow.EINVALID, "segment_price", "segment_price %q must be a non-negative decimal such as 0.0079", s)
	}
	return v, nil
}
