package flow

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
)

// DateEvery says how often a date trigger's date comes round.
type DateEvery string

// How often a date comes round.
const (
	EveryYear  DateEvery = "year"  // on its month and day (29 February: 28 February in other years)
	EveryMonth DateEvery = "month" // on its day of the month (31: each month's last day)
	EveryOnce  DateEvery = "once"  // on the date itself; needs a full date
)

// DateTrigger enters each contact on the days a date it holds comes round,
// shifted by Offset days, at At in the contact's own time zone (a birthday,
// an anniversary, three days before a subscription renews).
type DateTrigger struct {
	// Property is the contact field holding the date, as written:
	// contact.traits.NAME (nested traits with more dots) or
	// contact.created_at.
	Property string
	// Offset is how many days the entry day lies after the date (negative:
	// before it); -3 enters three days before.
	Offset int
	At     Clock
	Every  DateEvery // EveryYear when not written
}

// daysIn is the number of days of month m of year y.
func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// EntersOn reports whether a contact whose date is date enters on its local
// day day, and returns the occurrence of the date that entry is about (day
// minus the offset). A year's 29 February falls on 28 February in other
// years; a month's day 31 (or 29, 30) on the last day of shorter months. A
// full date comes round from the date itself on, never before it; `every:
// once` needs a full date and enters only for the date itself.
func (t *DateTrigger) EntersOn(date, day smsflow.Date) (occurrence smsflow.Date, ok bool) {
	o := day.AddDays(-t.Offset)
	if date.Year != 0 && o.Compare(date) < 0 {
		return o, false
	}
	switch t.Every {
	case EveryOnce:
		ok = date.Year != 0 && o == date
	case EveryMonth:
		ok = o.Day == min(date.Day, daysIn(o.Year, o.Month))
	default:
		ok = o.Month == date.Month && o.Day == min(date.Day, daysIn(o.Year, o.Month))
	}
	return o, ok
}

// ErrNoDate is ContactDate's error for a contact without the date (the
// property is absent, null or empty).
var ErrNoDate = smsflow.Errorf(smsflow.ENOTFOUND, "the contact has no date")

// ContactDate reads the trigger's date from a contact (as ContactVars
// gives it); loc is the contact's zone, in which an RFC 3339 time means its
// calendar date. It returns ErrNoDate when the property is not set, and an
// *smsflow.Error saying what is wrong with a value that is not a date (or,
// for `every: once`, not a full date), naming the property.
func (t *DateTrigger) ContactDate(contact map[string]any, loc *time.Location) (smsflow.Date, error) {
	v, ok := lookupPath(contact, strings.Split(strings.TrimPrefix(t.Property, "contact."), "."))
	if !ok || v == nil {
		return smsflow.Date{}, ErrNoDate
	}
	if s, isText := v.(string); isText && strings.TrimSpace(s) == "" {
		return smsflow.Date{}, ErrNoDate
	}
	d, err := ParseDateValue(v, loc)
	if err != nil {
		return smsflow.Date{}, smsflow.Errorf(smsflow.EINVALID, "%s: %s", t.Property, smsflow.ErrorMessage(err))
	}
	if t.Every == EveryOnce && d.Year == 0 {
		return smsflow.Date{}, smsflow.Errorf(smsflow.EINVALID, "%s is %s: every: once needs a full date (YYYY-MM-DD)", t.Property, strconv.Quote(d.String()))
	}
	return d, nil
}

// lookupPath walks nested maps.
func lookupPath(m map[string]any, path []string) (any, bool) {
	var v any = m
	for _, k := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = mm[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

var (
	monthDayPattern = regexp.MustCompile(`^[0-9]{2}-[0-9]{2}$`)
	fullDatePattern = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
)

// ParseDateValue reads a date value from outside (a contact trait): text
// "YYYY-MM-DD", "MM-DD" (no year; 02-29 is allowed) or an RFC 3339 time,
// which means its calendar date in loc; or a time.Time (contact.created_at),
// likewise. Anything else is an *smsflow.Error whose message quotes the
// value (cut short) and says how to write it.
func ParseDateValue(v any, loc *time.Location) (smsflow.Date, error) {
	if loc == nil {
		loc = time.UTC
	}
	switch x := v.(type) {
	case time.Time:
		return smsflow.DateOf(x.In(loc)), nil
	case string:
		s := strings.TrimSpace(x)
		switch {
		case monthDayPattern.MatchString(s):
			m, _ := strconv.Atoi(s[:2])
			d, _ := strconv.Atoi(s[3:])
			if m >= 1 && m <= 12 && d >= 1 && d <= daysIn(2000, time.Month(m)) { // 2000: a leap year
				return smsflow.Date{Month: time.Month(m), Day: d}, nil
			}
		case fullDatePattern.MatchString(s):
			if t, err := time.Parse("2006-01-02", s); err == nil && t.Year() > 0 {
				return smsflow.DateOf(t), nil
			}
		case len(s) > 10:
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return smsflow.DateOf(t.In(loc)), nil
			}
		}
		return smsflow.Date{}, smsflow.Errorf(smsflow.EINVALID, "%s is not a date: write YYYY-MM-DD, MM-DD or an RFC 3339 time", quoteValue(s))
	}
	return smsflow.Date{}, smsflow.Errorf(smsflow.EINVALID, "%s is not a date: write YYYY-MM-DD, MM-DD or an RFC 3339 time", quoteValue(fmt.Sprint(v)))
}

// quoteValue quotes a value from outside for a message, cut to 40 runes.
func quoteValue(s string) string {
	return strconv.Quote(clip(s))
}

// datePropertyPattern is the shape of a date trigger's property: a trait
// (nested traits allowed) or the contact's creation time.
var datePropertyPattern = regexp.MustCompile(`^contact\.(created_at|traits(\.[A-Za-z0-9_-]+){1,5})$`)

// checkDateProperty reports whether s names a contact field a date trigger
// can read, with the message when not.
func checkDateProperty(s string) (string, bool) {
	if len(s) <= 200 && datePropertyPattern.MatchString(s) {
		return "", true
	}
	hint := ""
	switch {
	case strings.HasPrefix(s, "traits."):
		hint = fmt.Sprintf(", like %q", "contact."+s)
	case strings.HasPrefix(s, "event.") || strings.HasPrefix(s, "trigger."):
		hint = " (a date trigger reads the contact: there is no event before it fires)"
	}
	return fmt.Sprintf("date property %s: use contact.traits.NAME (a trait holding a date like 1990-04-01 or 04-01) or contact.created_at%s", quoteValue(s), hint), false
}

// parseDayOffset parses a date trigger's offset: whole days with an
// optional sign, in flow duration units d or w ("-3d", "1w", "0d").
func parseDayOffset(s string) (int, error) {
	body, neg := strings.CutPrefix(s, "-")
	if !neg {
		body = strings.TrimPrefix(s, "+")
	}
	d, err := ParseDuration(body)
	if err != nil {
		return 0, smsflow.Errorf(smsflow.EINVALID, "invalid offset %s: write whole days with an optional minus sign, like -3d (three days before the date), 1w or 0d", quoteValue(s))
	}
	const day = 24 * time.Hour
	if d%day != 0 {
		return 0, smsflow.Errorf(smsflow.EINVALID, "offset %s is not whole days: a date trigger enters at its at: time on a day, so write days or weeks, like -3d or 2w", quoteValue(s))
	}
	n := int(d / day)
	if neg {
		n = -n
	}
	return n, nil
}
