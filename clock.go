package smsflow

import "time"

// Clock is the one source of time for the engine. serve uses the wall clock;
// simulate and tests use a virtual one.
type Clock interface {
	Now() time.Time
}

// WallClock reads the system clock, in UTC.
type WallClock struct{}

// Now returns the current time in UTC.
func (WallClock) Now() time.Time { return time.Now().UTC() }
