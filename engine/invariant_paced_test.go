package engine_test

// The governance simulation with the sender paced (issue 16 item 2): the
// same contacts, flows, events and oracle as invariant_test.go, with a
// sender rate on the virtual clock — a round claims a second's worth of
// messages and starts each at its slot, the clock moving to each slot — and
// STOP races: while a claimed round waits for a slot, the number of a
// message still waiting texts STOP.
//
// When a STOP's commit "could be seen": from the instant its transaction
// commits (ingest.Inbound returns), which is the STOP's recorded_at on the
// virtual clock. Each raced STOP is committed at an instant strictly between
// two slots, and every provider call takes the clock's instant as it starts
// (invRecorder), so "no call starts after the STOP's commit could be seen"
// is exact: no flow message and no opt-in confirmation to the number has a
// call instant after the STOP's recorded_at (oracle 1 of check, from the
// ledger, and checkRaces below, from the raced messages themselves). On one
// node the sender hears of the commit at once (store DB.OnOptOut); the
// calls of a paced round run one at a time here, as the console answers at
// once (no call is in flight while the clock moves).
//
//	go test ./engine/ -run InvariantPaced -v

import (
	"context"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// invPacing paces a simulation's sender.
type invPacing struct {
	rate      int     // segments per second
	stopRaces float64 // the chance, at each slot, of a STOP race
}

// invRace is one STOP committed while messages to its number were claimed
// and waiting for their slots.
type invRace struct {
	phone string
	at    time.Time // the STOP's commit instant
	ids   []int64   // the number's flow messages claimed and not yet called then
}

// invPacedVariant is the "defer" governance with a 100/s sender.
var invPacedVariant = invVariant{name: "paced", share: 1, onQuiet: policy.OnQuietDefer, onCap: policy.OnCapSkip, maxDeferral: 24 * time.Hour,
	paced: &invPacing{rate: 100, stopRaces: 0.1}}

// moreToSend reports whether a sender round that handled n messages may
// have left more in the outbox: an unpaced round claims invSendBatch when
// there are that many; a paced one at most a second's worth.
func (s *invSim) moreToSend(n int) bool {
	if s.v.paced != nil {
		return n > 0
	}
	return n == invSendBatch
}

// pace gives the sender its rate and its waits for slots: the clock moves
// to each slot, and on the way, now and then, the number of a claimed
// message that is still waiting texts STOP.
func (s *invSim) pace(p *invPacing) {
	s.sender.Pacing = delivery.Pacing{Sender: "console:+15005550006", Segments: p.rate, Per: time.Second}
	s.sender.Concurrency = 1
	s.sender.WaitUntil = func(_ context.Context, slot time.Time) error {
		if now := s.clock.Now(); slot.Sub(now) > 2*time.Microsecond && s.rng.Float64() < p.stopRaces {
			s.race(now, slot)
		}
		s.clock.advanceTo(slot)
		return nil
	}
}

// race commits a STOP from the number of a claimed flow message not yet
// called, at an instant strictly between now and the slot.
func (s *invSim) race(now, slot time.Time) {
	rows, err := s.db.ReadQuery(ctx, `SELECT id, phone FROM messages WHERE status = 'queued' AND claim <> 0 AND run_id IS NOT NULL ORDER BY id`)
	if err != nil {
		s.tb.Fatal(err)
	}
	waiting := map[string][]int64{}
	var phones []string
	s.rec.mu.Lock()
	called := map[int64]bool{}
	for _, x := range s.rec.sent {
		called[x.m.ID] = true
	}
	s.rec.mu.Unlock()
	for rows.Next() {
		var id int64
		var ph string
		if err := rows.Scan(&id, &ph); err != nil {
			s.tb.Fatal(err)
		}
		if called[id] || s.byPhone[ph] == nil {
			continue
		}
		if waiting[ph] == nil {
			phones = append(phones, ph)
		}
		waiting[ph] = append(waiting[ph], id)
	}
	rows.Close()
	if len(phones) == 0 {
		return
	}
	ph := phones[s.rng.IntN(len(phones))]
	// Whole microseconds, as instants are stored; inboundText bumps the
	// clock one more before the STOP.
	s.clock.Set(now.Add(time.Duration(s.rng.Int64N(int64((slot.Sub(now)-time.Microsecond)/time.Microsecond))) * time.Microsecond))
	s.inboundText(s.byPhone[ph], invStopBodies[s.rng.IntN(len(invStopBodies))], true)
	s.races = append(s.races, invRace{phone: ph, at: s.clock.Now(), ids: waiting[ph]})
	s.stats["STOP races (a claimed message waiting for its slot)"]++
}

// checkRaces asserts, from the raced messages themselves, that none of
// them reached the provider after its number's STOP, and that the races
// happened (the test is not vacuous): each raced message is canceled with
// canceled:opt_out, or went out before the STOP.
func (s *invSim) checkRaces() {
	if len(s.races) == 0 {
		s.tb.Errorf("no STOP race happened (seed %d): raise stopRaces or the size", s.seed)
		return
	}
	sentAt := map[int64]time.Time{}
	s.rec.mu.Lock()
	for _, x := range s.rec.sent {
		sentAt[x.m.ID] = x.at
	}
	s.rec.mu.Unlock()
	status := map[int64]*invMsg{}
	for _, m := range s.loadMessages() {
		status[m.id] = m
	}
	canceled := 0
	for _, r := range s.races {
		for _, id := range r.ids {
			if at, ok := sentAt[id]; ok {
				if at.After(r.at) {
					s.tb.Errorf("message %d to %s started %s after its number's STOP (committed %s while the message waited for its slot)",
						id, r.phone, at.Sub(r.at), r.at.Format(time.RFC3339Nano))
				}
				continue
			}
			m := status[id]
			if m == nil || m.status != smsflow.MessageCanceled || m.errCode != "opt_out" {
				s.tb.Errorf("message %d to %s, raced by a STOP at its slot, is %+v; want canceled (opt_out)", id, r.phone, m)
				continue
			}
			canceled++
		}
	}
	if canceled == 0 {
		s.tb.Errorf("no raced message was canceled at its slot (%d races)", len(s.races))
	}
	s.stats["raced messages canceled at their slot"] = canceled
}

func TestInvariantPacedSimulation(t *testing.T) {
	seed := invSeed(t) + 104729
	total := invContacts(t, invCIContacts) / 5
	t.Logf("seed %d (override with %s), %d contacts (override with %s; this variant takes 1/5)", seed, invSeedEnv, total, invContactsEnv)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		start := time.Now()
		sim := newInvSim(t, db, invPacedVariant, seed, total)
		sim.run()
		sim.check()
		sim.checkRaces()
		t.Logf("paced/%s: %d contacts, %d ticks in %s; %s", db.Dialect().Name(), len(sim.contacts), sim.ticks, time.Since(start).Round(time.Millisecond), sim.summary())
	})
}
