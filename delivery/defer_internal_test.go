package delivery

import (
	"testing"
	"time"
)

type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }

// A send loop holds its next round while the engine is behind on timers,
// for at most MaxDefer after its last round; not at all otherwise.
func TestSenderDefersToTimersAtMostMaxDefer(t *testing.T) {
	clock := &fixedClock{t: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}
	behind := false
	s := &Sender{clock: clock}
	last := clock.t
	if d := s.deferFor(last); d != 0 {
		t.Errorf("no Defer set: held %s", d)
	}
	s.Defer = func() bool { return behind }
	if d := s.deferFor(last); d != 0 {
		t.Errorf("engine not behind: held %s", d)
	}
	behind = true
	if d := s.deferFor(last); d != MaxDefer {
		t.Errorf("just after a round, engine behind: held %s, want %s", d, MaxDefer)
	}
	clock.t = last.Add(MaxDefer / 4)
	if d := s.deferFor(last); d != MaxDefer*3/4 {
		t.Errorf("a quarter of MaxDefer later: held %s, want %s", d, MaxDefer*3/4)
	}
	clock.t = last.Add(MaxDefer)
	if d := s.deferFor(last); d != 0 {
		t.Errorf("MaxDefer after the last round: held %s, want 0 (a round goes)", d)
	}
	if d := s.deferFor(time.Time{}); d != 0 {
		t.Errorf("first round: held %s", d)
	}
}
