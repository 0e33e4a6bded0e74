package engine

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/policy"
)

// Governance decisions (quiet hours, caps, smart sending, collisions,
// priority, pauses, deferral expiry) without a database: the interpreter
// over memRows (pure_test.go). The contact is +1 415 555 0100:
// America/Los_Angeles, California (no state rule); the clock starts Monday
// 2026-03-02 10:00 PST. Nothing sends, so "sent" here is the message the
// engine queued; governance_test.go keeps the end-to-end scenarios through
// the sender, the STOP keyword and two nodes on both databases.

const govPhone = "+14155550100"

// govFlow is a one-send flow of a category and priority, triggered by an
// event. The body names the brand (so no footer changes it) and the
// contact's first name (so a re-render shows).
func govFlow(id, category string, priority int, event string) string {
	return `id: ` + id + `
category: ` + category + `
priority: ` + strconv.Itoa(priority) + `
trigger:
  event: ` + event + `
steps:
  - id: offer
    send: "Glow ` + id + ` for {{ contact.traits.first_name | default: \"you\" }}"
`
}

func deferredUntil(t time.Time) string {
	return smsflow.DecisionDeferredQuiet + "(until=" + t.UTC().Format(time.RFC3339) + ")"
}

// flowsOf are the flows of the contact's queued messages, in order.
func (w *pureWorld) flowsOf(contact string) []string {
	var out []string
	for _, m := range w.queued(contact) {
		out = append(out, m.FlowID)
	}
	return out
}

func TestQuietHoursDeferThenReleaseRendersAnew(t *testing.T) {
	w := newPureWorld(t, policy.Default(), govFlow("sale", "promo", 25, "Sale"))
	w.contact("ana", govPhone)
	w.atPacific("2026-03-02 23:00")
	w.track("ana", "Sale", nil)

	eight := pacificTime(t, "2026-03-03 08:00")
	w.expectReasons("ana", "sale", deferredUntil(eight))
	if got := w.outMessages("ana", "sale"); len(got) != 0 {
		t.Fatalf("a deferred send wrote %d messages", len(got))
	}
	run := w.onlyRun("ana", "sale")
	if run.Status != smsflow.RunWaiting || run.Step != "offer" || !run.WakeAt.Equal(eight) {
		t.Fatalf("parked run: status %s step %q wake %v, want waiting on offer until %v", run.Status, run.Step, run.WakeAt, eight)
	}

	// The contact's name changes while it waits: the release renders anew.
	w.rows.contacts["ana"].Traits["first_name"] = "Bea"
	w.atPacific("2026-03-03 07:59")
	if got := w.queued("ana"); len(got) != 0 {
		t.Fatalf("queued before 08:00: %+v", got)
	}
	w.atPacific("2026-03-03 08:00")
	ms := w.queued("ana")
	if len(ms) != 1 || ms[0].Body != "Glow sale for Bea" || !ms[0].CreatedAt.Equal(eight) || !ms[0].SendBefore.Equal(pacificTime(t, "2026-03-03 21:00")) {
		t.Fatalf("at 08:00: %+v, want one re-rendered message created at 08:00 with send_before 21:00", ms)
	}
	w.expectReasons("ana", "sale", deferredUntil(eight), smsflow.DecisionSent)
	if d := w.decisionsOf("ana", "sale"); d[1].RunID != run.ID || d[1].StepID != "offer" || !d[1].At.Equal(eight) {
		t.Errorf("sent decision %+v", d[1])
	}
	if r := w.onlyRun("ana", "sale"); r.Status != smsflow.RunCompleted {
		t.Errorf("run %s after the release, want completed", r.Status)
	}
	// Never twice: nothing more goes, however long the clock runs.
	w.advance(72 * time.Hour)
	if got := w.outMessages("ana", "sale"); len(got) != 1 {
		t.Errorf("%d messages after 3 days, want 1", len(got))
	}
}

func TestQuietHoursReleaseAcrossDST(t *testing.T) {
	for _, tc := range []struct {
		name       string
		start      time.Time // 23:00 Saturday, Pacific
		release    time.Time // 08:00 Sunday, Pacific, in the new offset
		wantOffset int       // hours west of UTC at release
	}{
		{"spring forward", time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC), time.Date(2026, 3, 8, 15, 0, 0, 0, time.UTC), 7},
		{"fall back", time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 16, 0, 0, 0, time.UTC), 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newPureWorld(t, policy.Default(), govFlow("sale", "promo", 25, "Sale"))
			w.contact("ana", govPhone)
			w.clock.t = tc.start
			w.track("ana", "Sale", nil)
			w.expectReasons("ana", "sale", deferredUntil(tc.release))
			w.advance(tc.release.Sub(tc.start) - time.Minute)
			if got := w.queued("ana"); len(got) != 0 {
				t.Fatalf("queued a minute before 08:00 local: %+v", got)
			}
			w.advance(time.Minute)
			ms := w.queued("ana")
			if len(ms) != 1 {
				t.Fatalf("at 08:00 local: %d queued, want 1", len(ms))
			}
			loc, _ := time.LoadLocation("America/Los_Angeles")
			local := ms[0].CreatedAt.In(loc)
			if _, off := local.Zone(); local.Hour() != 8 || local.Minute() != 0 || off != -tc.wantOffset*3600 {
				t.Errorf("queued at %v, want 08:00 at UTC-%d", local, tc.wantOffset)
			}
		})
	}
}

func TestDeferredSendHeldWhileFlowPaused(t *testing.T) {
	w := newPureWorld(t, policy.Default(), govFlow("sale", "promo", 25, "Sale"))
	w.contact("ana", govPhone)
	w.atPacific("2026-03-02 23:00")
	w.track("ana", "Sale", nil)
	w.atPacific("2026-03-03 07:00")
	w.setFlowStatus("sale", FlowPaused)

	w.atPacific("2026-03-03 08:30")
	if got := w.queued("ana"); len(got) != 0 {
		t.Fatalf("paused flow queued %+v", got)
	}
	run := w.onlyRun("ana", "sale")
	if run.Status != smsflow.RunWaiting || run.Step != "offer" || !run.WakeAt.After(w.clock.Now()) {
		t.Fatalf("held run: status %s step %q wake %v", run.Status, run.Step, run.WakeAt)
	}
	if !slices.ContainsFunc(w.traces, func(tr Trace) bool { return tr.Reason == "held:flow_paused" }) {
		t.Error("no held:flow_paused trace")
	}

	w.setFlowStatus("sale", FlowActive)
	resumed := w.clock.Now()
	w.advance(PauseRecheck)
	if ms := w.queued("ana"); len(ms) != 1 || ms[0].CreatedAt.Before(resumed) {
		t.Fatalf("after resume: %+v, want one created after the resume at %v", ms, resumed)
	}
	w.expectReasons("ana", "sale", deferredUntil(pacificTime(t, "2026-03-03 08:00")), smsflow.DecisionSent)
	w.advance(24 * time.Hour)
	if got := w.outMessages("ana", "sale"); len(got) != 1 {
		t.Errorf("%d messages a day later, want 1", len(got))
	}
}

func TestPausedPastMaxDeferralExpires(t *testing.T) {
	p := policy.Default()
	p.MaxDeferral = 10 * time.Hour // deferred at 23:00: expires after 09:00
	w := newPureWorld(t, p, govFlow("sale", "promo", 25, "Sale"))
	w.contact("ana", govPhone)
	w.atPacific("2026-03-02 23:00")
	w.track("ana", "Sale", nil)
	w.setFlowStatus("sale", FlowPaused)
	w.atPacific("2026-03-03 09:00")
	w.expectReasons("ana", "sale", deferredUntil(pacificTime(t, "2026-03-03 08:00")))
	w.atPacific("2026-03-03 09:05")
	w.expectReasons("ana", "sale", deferredUntil(pacificTime(t, "2026-03-03 08:00")), smsflow.DecisionExpired)
	w.setFlowStatus("sale", FlowActive)
	w.advance(24 * time.Hour)
	if got := w.outMessages("ana", "sale"); len(got) != 0 {
		t.Errorf("an expired send was queued: %+v", got)
	}
}

func TestMaxDeferralExpiry(t *testing.T) {
	p := policy.Default()
	p.MaxDeferral = 8 * time.Hour // 23:00 → 08:00 is 9 hours
	w := newPureWorld(t, p, govFlow("sale", "promo", 25, "Sale"))
	w.contact("ana", govPhone)
	w.atPacific("2026-03-02 23:00")
	w.track("ana", "Sale", nil)
	w.atPacific("2026-03-03 12:00")
	w.expectReasons("ana", "sale", deferredUntil(pacificTime(t, "2026-03-03 08:00")), smsflow.DecisionExpired)
	if d := w.decisionsOf("ana", "sale"); !d[1].At.Equal(pacificTime(t, "2026-03-03 08:00")) {
		t.Errorf("expired decided at %v, want at the release 08:00", d[1].At)
	}
	if got := w.outMessages("ana", "sale"); len(got) != 0 {
		t.Errorf("an expired send wrote messages: %+v", got)
	}
	if r := w.onlyRun("ana", "sale"); r.Status != smsflow.RunCompleted {
		t.Errorf("run %s, want completed (the skipped step is passed)", r.Status)
	}
}

func TestCollisionSameInstantHigherPriorityWins(t *testing.T) {
	p := policy.Default()
	p.SmartSending = 4 * time.Hour
	// The winner has the higher priority but the later id: priority decides, not the name.
	w := newPureWorld(t, p, govFlow("aa-promo", "promo", 10, "Sale"), govFlow("zz-vip", "promo", 90, "Sale"))
	w.contact("ana", govPhone)
	w.track("ana", "Sale", nil)
	if got := w.flowsOf("ana"); !slices.Equal(got, []string{"zz-vip"}) {
		t.Fatalf("queued %v, want only zz-vip's message", got)
	}
	w.expectReasons("ana", "zz-vip", smsflow.DecisionSent)
	w.expectReasons("ana", "aa-promo", "skipped:collision(flow=zz-vip)")
}

func TestCollisionAtReleaseGoesByPriority(t *testing.T) {
	caps := []policy.Cap{{Name: "one-a-day", Max: 1, Per: 24 * time.Hour, Categories: []string{"promo", "behavior"}}}
	eight := time.Date(2026, 3, 3, 16, 0, 0, 0, time.UTC)
	t.Run("skip", func(t *testing.T) {
		p := policy.Default()
		p.Caps = caps
		w := newPureWorld(t, p, govFlow("aa-low", "promo", 10, "Browse"), govFlow("zz-high", "behavior", 60, "Cart"))
		w.contact("ana", govPhone)
		// The low-priority flow is entered first; both wait for 08:00.
		w.atPacific("2026-03-02 22:00")
		w.track("ana", "Browse", nil)
		w.atPacific("2026-03-02 23:00")
		w.track("ana", "Cart", nil)
		w.atPacific("2026-03-03 08:00")
		if got := w.flowsOf("ana"); !slices.Equal(got, []string{"zz-high"}) {
			t.Fatalf("queued %v, want only zz-high's message", got)
		}
		w.expectReasons("ana", "zz-high", deferredUntil(eight), smsflow.DecisionSent)
		w.expectReasons("ana", "aa-low", deferredUntil(eight), "skipped:collision(flow=zz-high)")
		// A later send simply meets the cap.
		w.atPacific("2026-03-03 10:00")
		w.track("ana", "Browse", nil)
		if got := w.reasonsOf("ana", "aa-low"); got[len(got)-1] != "skipped:cap(rule=one-a-day)" {
			t.Errorf("later send: %q, want skipped:cap(rule=one-a-day)", got[len(got)-1])
		}
	})
	t.Run("on_cap defer", func(t *testing.T) {
		p := policy.Default()
		p.Caps, p.OnCap, p.MaxDeferral = caps, policy.OnCapDefer, 48*time.Hour
		w := newPureWorld(t, p, govFlow("aa-low", "promo", 10, "Browse"), govFlow("zz-high", "behavior", 60, "Cart"))
		w.contact("ana", govPhone)
		w.atPacific("2026-03-02 22:00")
		w.track("ana", "Browse", nil)
		w.atPacific("2026-03-02 23:00")
		w.track("ana", "Cart", nil)
		w.atPacific("2026-03-03 08:00")
		next := eight.Add(24 * time.Hour)
		w.expectReasons("ana", "aa-low", deferredUntil(eight), "deferred:cap(until="+next.Format(time.RFC3339)+")")
		if r := w.onlyRun("ana", "aa-low"); r.Status != smsflow.RunWaiting || !r.WakeAt.Equal(next) {
			t.Fatalf("loser: status %s wake %v, want waiting until %v", r.Status, r.WakeAt, next)
		}
		w.atPacific("2026-03-04 07:59")
		if got := w.flowsOf("ana"); len(got) != 1 {
			t.Fatalf("%d queued before the cap window frees, want 1", len(got))
		}
		w.atPacific("2026-03-04 08:00")
		if got := w.flowsOf("ana"); !slices.Equal(got, []string{"zz-high", "aa-low"}) {
			t.Fatalf("after the window frees: %v", got)
		}
		w.expectReasons("ana", "aa-low", deferredUntil(eight), "deferred:cap(until="+next.Format(time.RFC3339)+")", smsflow.DecisionSent)
	})
}

func TestCapOnALaterSend(t *testing.T) {
	p := policy.Default()
	p.Caps = []policy.Cap{{Name: "promo-daily", Max: 1, Per: 24 * time.Hour, Categories: []string{"promo"}}}
	w := newPureWorld(t, p, govFlow("sale", "promo", 25, "Sale"), govFlow("flash", "promo", 25, "Flash"),
		govFlow("cart", "behavior", 50, "Cart"), govFlow("ship", "service", 100, "Shipped"))
	w.contact("ana", govPhone)
	w.track("ana", "Sale", nil) // 10:00
	w.atPacific("2026-03-02 12:00")
	w.track("ana", "Flash", nil)
	w.track("ana", "Cart", nil)    // another category: not capped
	w.track("ana", "Shipped", nil) // service: not capped
	w.expectReasons("ana", "flash", "skipped:cap(rule=promo-daily)")
	w.expectReasons("ana", "cart", smsflow.DecisionSent)
	w.expectReasons("ana", "ship", smsflow.DecisionSent)
	// The window rolls 24 h after the first promo.
	w.atPacific("2026-03-03 09:59")
	w.track("ana", "Flash", nil)
	w.atPacific("2026-03-03 10:00")
	w.track("ana", "Flash", nil)
	w.expectReasons("ana", "flash", "skipped:cap(rule=promo-daily)", "skipped:cap(rule=promo-daily)", smsflow.DecisionSent)
	if got, want := w.flowsOf("ana"), []string{"sale", "cart", "ship", "flash"}; !slices.Equal(got, want) {
		t.Errorf("queued %v, want %v", got, want)
	}
}

func TestSmartSending(t *testing.T) {
	p := policy.Default()
	p.SmartSending = 4 * time.Hour
	w := newPureWorld(t, p, govFlow("ship", "service", 100, "Shipped"), govFlow("sale", "promo", 25, "Sale"),
		govFlow("flash", "promo", 25, "Flash"), govFlow("receipt", "service", 100, "Paid"))
	w.contact("ana", govPhone)
	w.track("ana", "Shipped", nil) // 10:00, a service message
	w.atPacific("2026-03-02 13:59")
	w.track("ana", "Sale", nil)
	w.track("ana", "Paid", nil) // service messages are never held back by it
	w.expectReasons("ana", "sale", smsflow.DecisionSmartSending)
	w.expectReasons("ana", "receipt", smsflow.DecisionSent)
	// Four hours after the receipt (13:59) a marketing text may go.
	w.atPacific("2026-03-02 17:59")
	w.track("ana", "Flash", nil)
	w.expectReasons("ana", "flash", smsflow.DecisionSent)
	if got := w.flowsOf("ana"); !slices.Equal(got, []string{"ship", "receipt", "flash"}) {
		t.Errorf("queued %v, want ship, receipt, flash", got)
	}
}

func TestReleaseOrderSamePriorityEarlierEntryWins(t *testing.T) {
	p := policy.Default()
	p.SmartSending = time.Hour
	// Same priority: entry time decides, not the flow id.
	w := newPureWorld(t, p, govFlow("bb-first", "promo", 25, "Browse"), govFlow("aa-second", "promo", 25, "Cart"))
	w.contact("ana", govPhone)
	w.atPacific("2026-03-02 22:00")
	w.track("ana", "Browse", nil)
	w.atPacific("2026-03-02 23:00")
	w.track("ana", "Cart", nil)
	w.atPacific("2026-03-03 08:00")
	w.expectReasons("ana", "bb-first", deferredUntil(pacificTime(t, "2026-03-03 08:00")), smsflow.DecisionSent)
	w.expectReasons("ana", "aa-second", deferredUntil(pacificTime(t, "2026-03-03 08:00")), "skipped:collision(flow=bb-first)")
}

func TestQuietHoursZonesOfTheContact(t *testing.T) {
	// +1 208 (Idaho) may be in Boise or Los Angeles: a send waits until it is
	// allowed in both.
	t.Run("number in two zones", func(t *testing.T) {
		w := newPureWorld(t, policy.Default(), govFlow("sale", "promo", 25, "Sale"))
		w.contact("ida", "+1 208 555 0100")
		w.atPacific("2026-03-03 07:30") // 08:30 in Boise
		w.track("ida", "Sale", nil)
		w.expectReasons("ida", "sale", deferredUntil(pacificTime(t, "2026-03-03 08:00")))
		w.atPacific("2026-03-03 08:00")
		if n := len(w.queued("ida")); n != 1 {
			t.Errorf("%d queued at 08:00 Pacific, want 1", n)
		}
	})
	// An explicit time zone replaces the number's: 06:00 Pacific is 09:00 in New York.
	t.Run("explicit zone", func(t *testing.T) {
		w := newPureWorld(t, policy.Default(), govFlow("sale", "promo", 25, "Sale"))
		c := w.contact("ana", govPhone)
		c.Timezone, c.TimezoneSource = "America/New_York", "trait"
		w.atPacific("2026-03-03 06:00")
		w.track("ana", "Sale", nil)
		w.expectReasons("ana", "sale", smsflow.DecisionSent)
		if ms := w.outMessages("ana", "sale"); len(ms) != 1 || !ms[0].SendBefore.Equal(pacificTime(t, "2026-03-03 18:00")) {
			t.Errorf("messages %+v, want send_before 21:00 in New York", ms)
		}
	})
}

func TestFloridaStateRules(t *testing.T) {
	w := newPureWorld(t, policy.Default(), govFlow("a", "promo", 25, "A"), govFlow("b", "behavior", 50, "B"),
		govFlow("c", "lifecycle", 75, "C"), govFlow("d", "promo", 25, "D"), govFlow("e", "promo", 25, "E"), govFlow("ship", "service", 100, "Shipped"))
	w.contact("flo", "+1 305 555 0100") // Miami: America/New_York, Florida
	ny := func(s string) time.Time {
		loc, _ := time.LoadLocation("America/New_York")
		v, _ := time.ParseInLocation("2006-01-02 15:04", s, loc)
		return v
	}
	step := func(at, event string) {
		w.advance(ny(at).Sub(w.clock.Now()))
		w.track("flo", event, nil)
	}
	// Three marketing texts in 24 h is Florida's limit; service ones do not count.
	step("2026-03-02 13:00", "A")
	step("2026-03-02 14:00", "B")
	step("2026-03-02 15:00", "Shipped")
	step("2026-03-02 16:00", "C")
	step("2026-03-02 17:00", "D")
	w.expectReasons("flo", "d", "skipped:cap(rule=state:FL)")
	// Florida's window closes at 20:00: at 20:30 a send waits for 08:00.
	step("2026-03-03 20:30", "E")
	w.expectReasons("flo", "e", deferredUntil(ny("2026-03-04 08:00")))
	// And the service message was queued regardless.
	w.expectReasons("flo", "ship", smsflow.DecisionSent)
	w.advance(ny("2026-03-04 08:00").Sub(w.clock.Now()))
	w.expectReasons("flo", "e", deferredUntil(ny("2026-03-04 08:00")), smsflow.DecisionSent)
	if got := w.flowsOf("flo"); !slices.Equal(got, []string{"a", "b", "ship", "c", "e"}) {
		t.Errorf("queued %v, want a, b, ship, c, e", got)
	}
}

func TestQuietHoursSkipAndExemptService(t *testing.T) {
	p := policy.Default()
	p.Quiet.OnQuiet = policy.OnQuietSkip
	w := newPureWorld(t, p, govFlow("sale", "promo", 25, "Sale"), govFlow("ship", "service", 100, "Shipped"))
	w.contact("ana", govPhone)
	w.atPacific("2026-03-02 23:00")
	w.track("ana", "Sale", nil)
	w.track("ana", "Shipped", nil)
	w.expectReasons("ana", "sale", smsflow.DecisionQuietHours)
	w.expectReasons("ana", "ship", smsflow.DecisionSent)
	if r := w.onlyRun("ana", "sale"); r.Status != smsflow.RunCompleted {
		t.Errorf("skipped send's run is %s, want completed", r.Status)
	}
	if ms := w.outMessages("ana", "ship"); len(ms) != 1 || !ms[0].SendBefore.IsZero() {
		t.Errorf("service message %+v, want one with no send_before", ms)
	}
	w.atPacific("2026-03-03 12:00")
	if got := w.flowsOf("ana"); !slices.Equal(got, []string{"ship"}) {
		t.Errorf("queued %v, want only the service message", got)
	}
}
