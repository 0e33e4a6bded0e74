package smsflow

import (
	"fmt"
	"time"
)

// Date is a calendar day with no time of day and no zone: a holiday, a
// birthday, the day a scheduled entry is for. It is read in a contact's own
// zone, so the same Date is a different span of time in each. Year is 0 for
// a date written without one ("MM-DD", a birthday).
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf is t's calendar date in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// String returns "YYYY-MM-DD", or "MM-DD" without a year.
func (d Date) String() string {
	if d.Year == 0 {
		return fmt.Sprintf("%02d-%02d", int(d.Month), d.Day)
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// AddDays returns the date n calendar days later (earlier for n < 0). The
// date must have a year.
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 0, 0, 0, 0, time.UTC))
}

// Compare returns -1, 0 or +1 as d is before, equal to or after o.
func (d Date) Compare(o Date) int {
	a := d.Year*10000 + int(d.Month)*100 + d.Day
	b := o.Year*10000 + int(o.Month)*100 + o.Day
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
