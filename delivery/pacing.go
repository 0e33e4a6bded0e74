package delivery

import (
	"context"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// Pacing is a sender's rate limit in segments (as carriers count them) and
// its optional daily cap. Its state — the next free instant and the day's
// count — lives in the database under Sender, so every node sending as the
// same sender (provider and from address) shares one rate: a round reserves
// its batch's segments there, in the transaction that claims the batch, and
// each message is started no earlier than its slot.
//
// Past the daily cap messages stay queued until the next UTC day.
type Pacing struct {
	// Sender keys the shared state: the provider and the address it sends
	// from ("twilio:+15005550006").
	Sender string
	// Segments per Per; 0 paces nothing (a daily cap alone still counts).
	Segments int
	Per      time.Duration
	// DailyCap is the most segments per UTC day; 0 means no cap.
	DailyCap int
}

// PacingHorizon bounds how far ahead a paced sender works: a round claims
// at most this long a stretch of the rate (one message at least), and no
// round claims while the next free instant is further away than this. So a
// release of many messages (the end of quiet hours) is spread out rather than
// claimed at once, and few claimed messages wait in "sending".
const PacingHorizon = time.Second

// On reports whether sends are paced or capped at all.
func (p Pacing) On() bool { return p.Sender != "" && (p.rated() || p.DailyCap > 0) }

func (p Pacing) rated() bool { return p.Segments > 0 && p.Per > 0 }

// offset is how long n segments take at the rate (0 without a rate).
func (p Pacing) offset(n int) time.Duration {
	if !p.rated() {
		return 0
	}
	return time.Duration(int64(n) * int64(p.Per) / int64(p.Segments))
}

// batchLimit is how many messages one round may claim: the rate's worth of
// PacingHorizon, at least one.
func (p Pacing) batchLimit(limit int) int {
	if !p.rated() {
		return limit
	}
	n := int(int64(p.Segments) * int64(PacingHorizon) / int64(p.Per))
	return max(1, min(limit, n))
}

// segmentsOf is what a message counts against the rate and the cap.
func segmentsOf(m *smsflow.Message) int { return max(1, m.Segments) }

// utcDay numbers t's UTC day (days since 1970-01-01).
func utcDay(t time.Time) int64 { return t.Unix() / 86400 }

// dayStart is the first instant of UTC day d.
func dayStart(d int64) time.Time { return time.Unix(d*86400, 0).UTC() }

// pacePlan is what the pacer allowed a round, decided under the pacer's lock
// before the claim.
type pacePlan struct {
	day  int64 // the UTC day the batch counts on
	left int   // segments the daily cap still allows; -1 without a cap
}

// plan looks at the locked state: hold is when to try again (zero: go
// ahead) — the next free slot is more than PacingHorizon away, or the day's
// cap is used up (then the next UTC day); limit is how many messages the
// round may claim.
func (p Pacing) plan(st store.PacingState, now time.Time, limit int) (pl pacePlan, hold time.Time, n int) {
	start := now // the earliest slot: the next free one, or now
	if p.rated() && st.NextFree.After(now) {
		start = st.NextFree
	}
	if start.Sub(now) > PacingHorizon {
		return pl, start.Add(-PacingHorizon), 0
	}
	pl.day, pl.left = utcDay(start), -1
	n = p.batchLimit(limit)
	if p.DailyCap > 0 {
		used := st.DayUsed
		if st.Day != pl.day {
			used = 0
		}
		if pl.left = p.DailyCap - used; pl.left <= 0 {
			return pl, dayStart(pl.day + 1), 0
		}
		n = min(n, pl.left) // every message is one segment at least
	}
	return pl, time.Time{}, n
}

// fit splits claimed messages into those the daily cap still allows (in
// outbox order, up to the first that does not fit), the rest (over), and
// those with more segments than the whole cap (never: no day would take
// them, so they must not hold the outbox).
func (pl pacePlan) fit(claimed []*smsflow.Message, dailyCap int) (kept, over, never []*smsflow.Message) {
	if pl.left < 0 {
		return claimed, nil, nil
	}
	used, full := 0, false
	for _, m := range claimed {
		switch n := segmentsOf(m); {
		case n > dailyCap:
			never = append(never, m)
		case full || used+n > pl.left:
			full = true
			over = append(over, m)
		default:
			used += n
			kept = append(kept, m)
		}
	}
	return kept, over, never
}

// schedule is a paced round's reservation of the sender's rate: the slot of
// each claimed message, how much of the rate each takes, and where the
// reservation ends (the next round, of this node or another, starts there).
//
// Its rule keeps the cluster within the rate after a stall (a slow
// provider call — the first of a round goes alone —, a database that
// paused, a process descheduled): the round's calls take the reservation
// in order from a cursor, each its segments' width. A call starts when the
// cursor is reached; one that starts more than one segment's slot after the
// cursor drops the time missed (the cursor moves up to one slot before now),
// so a stall is never made up in a burst, while the few milliseconds a
// busy machine adds to each wait do not add up. A call whose width no
// longer fits before the reservation's end is not made: it and the rest of
// the round go back to the queue untried, for a later round's slots. Every
// call thus starts within one slot of its share of a reservation, and the
// reservations of all nodes are disjoint: at most rate + 1 segments start
// in any second across the cluster (one-segment messages; a longer message
// counts whole when it starts).
type schedule struct {
	slots  []time.Time     // each message's slot as reserved (for the mark and recheck windows)
	width  []time.Duration // each message's segments at the rate
	end    time.Time       // the end of the reservation
	slack  time.Duration   // one segment's slot: how late a call may start without dropping time
	cursor time.Time       // where the next call's share of the reservation begins
}

// schedule lays out msgs from start, the reservation's first instant.
func (p Pacing) schedule(start time.Time, msgs []*smsflow.Message) *schedule {
	offsets, segs := p.offsets(msgs)
	sc := &schedule{slots: make([]time.Time, len(msgs)), width: make([]time.Duration, len(msgs)),
		end: start.Add(p.offset(segs)), slack: p.offset(1), cursor: start}
	for i, d := range offsets {
		sc.slots[i] = start.Add(d)
		sc.width[i] = p.offset(segmentsOf(msgs[i]))
	}
	return sc
}

// due is when the next call may start.
func (sc *schedule) due() time.Time { return sc.cursor }

// share is where a call starting at t begins its share of the
// reservation: the cursor, or one slot before t when t is later than that
// (the time between is dropped).
func (sc *schedule) share(t time.Time) time.Time {
	if late := t.Add(-sc.slack); late.After(sc.cursor) {
		return late
	}
	return sc.cursor
}

// fits reports whether message i's call, starting at t, still fits the
// reservation.
func (sc *schedule) fits(i int, t time.Time) bool {
	return !t.Before(sc.cursor) && !sc.share(t).Add(sc.width[i]).After(sc.end)
}

// started records that message i's call started at t.
func (sc *schedule) started(i int, t time.Time) { sc.cursor = sc.share(t).Add(sc.width[i]) }

// offsets gives each message how long after the start of its batch it may
// start: each message one previous message's segments later. segments is
// the batch's total.
func (p Pacing) offsets(msgs []*smsflow.Message) (offsets []time.Duration, segments int) {
	offsets = make([]time.Duration, len(msgs))
	for i, m := range msgs {
		offsets[i] = p.offset(segments)
		segments += segmentsOf(m)
	}
	return offsets, segments
}

// waitUntil waits until the clock reads t, or ctx ends (false). A sender
// with WaitUntil set (tests, a virtual clock) waits through it instead of
// real timers.
func (s *Sender) waitUntil(ctx context.Context, t time.Time) bool {
	if s.WaitUntil != nil {
		return s.WaitUntil(ctx, t) == nil
	}
	for {
		d := t.Sub(s.clock.Now())
		if d <= 0 {
			return true
		}
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return false
		case <-timer.C:
		}
	}
}

// stopContext is ctx, also ended by Stop: waits for a slot end there, while
// provider calls keep ctx itself (a call cut off midway may have gone out).
func (s *Sender) stopContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}
