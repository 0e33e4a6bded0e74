package testkit

import (
	"sync"
	"time"
)

// Clock is a clock a test sets and moves by hand, safe to read from the
// goroutines of the code under test.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock is a clock standing at t until the test moves it.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
