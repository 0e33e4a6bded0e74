package delivery

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
)

func TestScheduleDropsOnlyWhatAStallMissed(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC)
	p := Pacing{Sender: "twilio:+15005550006", Segments: 10, Per: time.Second}
	msgs := make([]*smsflow.Message, 5)
	for i := range msgs {
		msgs[i] = &smsflow.Message{Segments: 1}
	}
	sc := p.schedule(t0, msgs)
	if !sc.end.Equal(t0.Add(500 * time.Millisecond)) {
		t.Fatalf("reservation ends %s after its start, want 500ms", sc.end.Sub(t0))
	}
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	steps := []struct {
		i       int
		due, at time.Time
		fits    bool
	}{
		{0, ms(0), ms(0), true},
		// The first call took 250 ms: the second starts 150 ms late, and
		// the 50 ms beyond one slot are dropped, not made up.
		{1, ms(100), ms(250), true},
		// 70 ms late (less than a slot): nothing dropped, and the next
		// call is still due on its time.
		{2, ms(250), ms(320), true},
		{3, ms(350), ms(350), true},
		// The fifth no longer fits the reservation: it is not made.
		{4, ms(450), ms(450), false},
	}
	for _, s := range steps {
		if got := sc.due(); !got.Equal(s.due) {
			t.Errorf("message %d due +%s, want +%s", s.i, got.Sub(t0), s.due.Sub(t0))
		}
		if got := sc.fits(s.i, s.at); got != s.fits {
			t.Errorf("message %d at +%s fits: %v, want %v", s.i, s.at.Sub(t0), got, s.fits)
		}
		if s.fits {
			sc.started(s.i, s.at)
		}
	}
	if sc.fits(4, ms(449)) {
		t.Error("a call fits before it is due")
	}
}

// TestScheduleNeverExceedsTheRate plays many back-to-back reservations of
// one sender with random stalls before calls (as several nodes would take
// them in turn) and checks the promise: at most rate + 1 one-segment calls
// start in any sliding second, all within their reservations.
func TestScheduleNeverExceedsTheRate(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 5))
	for _, rate := range []int{1, 3, 10, 50} {
		p := Pacing{Sender: "s", Segments: rate, Per: time.Second}
		now := time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC)
		next := now // the shared next free instant
		var starts []time.Time
		dropped := 0
		for range 200 {
			start := next
			if now.After(start) {
				start = now // a reservation never starts in the past
			}
			msgs := make([]*smsflow.Message, p.batchLimit(SendBatch))
			for i := range msgs {
				msgs[i] = &smsflow.Message{Segments: 1}
			}
			sc := p.schedule(start, msgs)
			next = sc.end
			for i := range msgs {
				if due := sc.due(); due.After(now) {
					now = due
				}
				switch rng.IntN(8) {
				case 0: // a stall: up to two seconds
					now = now.Add(time.Duration(rng.Int64N(int64(2 * time.Second))))
				case 1, 2, 3: // a call is never exactly on time
					now = now.Add(time.Duration(rng.Int64N(int64(p.offset(1)))))
				}
				if !sc.fits(i, now) {
					dropped += len(msgs) - i
					break
				}
				if now.Before(start) || !now.Before(sc.end.Add(sc.slack)) {
					t.Fatalf("rate %d: a call at %s outside its reservation [%s, %s) and one slot", rate, now, start, sc.end)
				}
				sc.started(i, now)
				starts = append(starts, now)
			}
		}
		sort.Slice(starts, func(i, j int) bool { return starts[i].Before(starts[j]) })
		j := 0
		for i := range starts {
			for j < len(starts) && starts[j].Before(starts[i].Add(time.Second)) {
				j++
			}
			if n := j - i; n > rate+1 {
				t.Fatalf("rate %d: %d calls in the second from %s", rate, n, starts[i])
			}
		}
		if dropped == 0 {
			t.Errorf("rate %d: no call was ever dropped; the stalls did not test anything", rate)
		}
	}
}
