package delivery

import (
	"testing"
	"time"
)

// The one planner of a round's groups of calls (groupEnd): at the claim
// nothing is marked before its window (only a call that may have started
// can end "unknown"), in the call loop the call about to start always is,
// the claim's unpaced group is the one the loop would mark at its first
// call, and a group spans the window it is planned for.
func TestGroupEndPlansTheClaimAndTheCallLoopAlike(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	// Paced, one call per 10 ms, the first 30 ms from now.
	slots := []time.Time{ms(30), ms(40), ms(50), ms(60), ms(70)}
	unpaced := &callGroup{conc: 4}
	withPrior := &callGroup{conc: 4, prior: 9}
	cases := []struct {
		name     string
		n        int
		slots    []time.Time
		g        *callGroup
		i        int
		now      time.Time
		starting bool
		want     int
	}{
		{"paced claim, first slot past the window", 5, slots, unpaced, 0, t0, false, 0},
		{"paced claim, slots within the window", 5, slots, unpaced, 0, ms(15), false, 1},
		{"paced claim at the first slot", 5, slots, unpaced, 0, ms(30), false, 3},
		{"paced call, its own slot past the window", 5, slots, unpaced, 1, t0, true, 2},
		{"paced call at its slot", 5, slots, unpaced, 1, ms(40), true, 4},
		{"paced call near the end", 5, slots, unpaced, 4, ms(70), true, 5},
		{"unpaced claim: the concurrency", 100, nil, unpaced, 0, t0, false, 4},
		{"unpaced claim: the last round's pace", 100, nil, withPrior, 0, t0, false, 9},
		{"unpaced claim of few", 3, nil, withPrior, 0, t0, false, 3},
		{"unpaced call", 100, nil, unpaced, 10, t0, true, 14},
		{"unpaced call without a concurrency", 100, nil, &callGroup{}, 10, t0, true, 11},
	}
	for _, c := range cases {
		if got := groupEnd(CallMarkWindow, c.n, c.slots, c.g, c.i, c.now, c.starting); got != c.want {
			t.Errorf("%s: marks up to %d, want %d", c.name, got, c.want)
		}
	}
	// Another window (the consent re-read's, were it not the same).
	if got, want := groupEnd(10*time.Millisecond, 5, slots, unpaced, 1, ms(40), true), 3; got != want {
		t.Errorf("paced, a 10 ms window from the second call at its slot: up to %d, want %d", got, want)
	}
	if got, want := groupEnd(4*CallMarkWindow, 100, nil, withPrior, 0, t0, false), 36; got != want {
		t.Errorf("unpaced, four windows at the last round's pace: up to %d, want %d", got, want)
	}
	for _, g := range []*callGroup{unpaced, withPrior} {
		if claim, first := groupEnd(CallMarkWindow, 100, nil, g, 0, t0, false), groupEnd(CallMarkWindow, 100, nil, g, 0, t0, true); claim != first {
			t.Errorf("prior %d: the claim marks %d, the first call would mark %d", g.prior, claim, first)
		}
	}
}
