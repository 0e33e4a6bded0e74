package engine_test

import (
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

const birthdayFlow = `id: birthday
category: lifecycle
trigger:
  date: {property: contact.traits.birthday, at: "10:00", every: year}
  where: '!has(contact.traits.birthday_texts) || contact.traits.birthday_texts == true'
steps:
  - id: wish
    send: "Glow: happy birthday! ({{ event.properties.date }})"
`

// sendTimes are the instants the contact's messages of a flow were queued.
func (w *world) sendTimes(contact, flowID string) []time.Time {
	var out []time.Time
	for _, tr := range w.traces {
		if tr.ContactID == contact && tr.FlowID == flowID && tr.Kind == "send" {
			out = append(out, tr.Time.UTC())
		}
	}
	return out
}

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02T15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func sameTimes(a, b []time.Time) bool {
	return slices.EqualFunc(a, b, func(x, y time.Time) bool { return x.Equal(y) })
}

// A contact whose birthday is today enters at 10:00 in its own zone — not
// when the day's scan ran, a day ahead — with event.properties.date the
// birthday; an RFC 3339 birthday means its date in the contact's zone.
func TestDateTriggerEntersAtTenInEachZone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, birthdayFlow)
		for _, c := range []struct {
			id, phone string
			traits    map[string]any
		}{
			{"la", "+1 415 555 0100", map[string]any{"birthday": "03-04"}},
			{"ny", "+1 212 555 0100", map[string]any{"birthday": "1990-03-04"}},
			// 20:00 UTC on 3 March is already 4 March in Tokyo.
			{"tokyo", "+1 415 555 0101", map[string]any{"birthday": "1990-03-03T20:00:00Z"}},
			{"later", "+1 415 555 0102", map[string]any{"birthday": "03-05"}},
			{"quiet", "+1 415 555 0103", map[string]any{"birthday": "03-04"}},
			{"moved", "+1 415 555 0104", map[string]any{"birthday": "03-04"}},
		} {
			w.identify(c.id, c.phone)
			w.subscribe(c.id)
			w.seq++
			it := &ingest.Item{Type: smsflow.EventIdentify, MessageID: "tr" + itoa(w.seq), UserID: c.id, Traits: c.traits,
				Timestamp: w.clock.Now(), ReceivedAt: w.clock.Now()}
			if c.id == "tokyo" {
				it.Timezone, it.TimezoneSource = "Asia/Tokyo", "trait" // traits.timezone, as ingestion reads it
			}
			w.submit(it)
		}
		// quiet turns birthday texts off the morning of its birthday, after
		// the day's scan scheduled it, and moved's birthday is corrected:
		// decided at 10:00, neither enters.
		w.atPacific("2026-03-04 08:00")
		w.seq++
		w.submitTraits("quiet", map[string]any{"birthday_texts": false})
		w.seq++
		w.submitTraits("moved", map[string]any{"birthday": "1990-03-20"}) // corrected that morning
		w.atPacific("2026-03-06 10:00")
		for id, want := range map[string][]time.Time{
			"la":    {utc("2026-03-04T18:00")}, // 10:00 PST
			"ny":    {utc("2026-03-04T15:00")}, // 10:00 EST
			"tokyo": {utc("2026-03-04T01:00")}, // 10:00 JST
			"later": {utc("2026-03-05T18:00")},
			"quiet": nil,
			"moved": nil,
		} {
			if got := w.sendTimes(id, "birthday"); !sameTimes(got, want) {
				t.Errorf("%s sent at %v, want %v", id, got, want)
			}
		}
		for _, tr := range w.traces {
			if tr.FlowID == "birthday" && tr.Kind == "enter" && tr.Reason != "trigger:Date Reached" {
				t.Errorf("enter reason %q", tr.Reason)
			}
		}
		for _, m := range w.outMessages("tokyo", "birthday") {
			if !strings.HasSuffix(m.Body, "(2026-03-04)") {
				t.Errorf("body %q: event.properties.date should be this year's birthday", m.Body)
			}
		}
		w.expectReasons("quiet", "birthday", smsflow.DecisionSegmentLeft)
		w.expectReasons("moved", "birthday", smsflow.DecisionDateChanged)
		if d := w.decisionsOf("moved", "birthday"); len(d) == 1 && (d[0].Detail != "contact.traits.birthday is 1990-03-20 now, which does not fall on 2026-03-04" || !d[0].At.Equal(utc("2026-03-04T18:00"))) {
			t.Errorf("date_changed %q at %v", d[0].Detail, d[0].At)
		}
		run := w.onlyRun("ny", "birthday")
		if !run.EnteredAt.Equal(utc("2026-03-04T15:00")) {
			t.Errorf("entered at %v, want the moment itself", run.EnteredAt)
		}
	})
}

const renewalFlow = `id: renewal
category: service
trigger:
  date: {property: contact.traits.renews_on, offset: -3d, at: "09:00", every: once}
steps:
  - send: "Glow: your plan renews on {{ event.properties.date }}"
`

// every: once enters once, three days before the full date; a contact
// without the date, or with one that is not a full date, is skipped with a
// decision recorded once, not at every daily scan — and again when the
// value changes.
func TestDateTriggerOnceAndDateDecisions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, renewalFlow)
		for _, c := range []struct {
			id, phone string
			traits    map[string]any
		}{
			{"full", "+1 415 555 0100", map[string]any{"renews_on": "2026-03-08"}},
			{"monthday", "+1 415 555 0101", map[string]any{"renews_on": "03-08"}},
			{"none", "+1 415 555 0102", nil},
			{"bad", "+1 415 555 0103", map[string]any{"renews_on": "soon"}},
		} {
			w.identify(c.id, c.phone)
			w.subscribe(c.id)
			if c.traits != nil {
				w.seq++
				w.submitTraits(c.id, c.traits)
			}
		}
		w.advance(3 * 24 * time.Hour) // three daily scans
		w.seq++
		w.submitTraits("bad", map[string]any{"renews_on": "tomorrow"})
		w.advance(2 * 24 * time.Hour)
		w.seq++
		w.submitTraits("bad", map[string]any{"renews_on": "2026-03-12"}) // now a date: enters on the 9th
		w.advance(5 * 24 * time.Hour)                                    // to 2026-03-12 18:00 UTC

		if got, want := w.sendTimes("full", "renewal"), []time.Time{utc("2026-03-05T17:00")}; !sameTimes(got, want) {
			t.Errorf("full sent at %v, want %v (09:00 PST three days before)", got, want)
		}
		if got, want := w.sendTimes("bad", "renewal"), []time.Time{utc("2026-03-09T16:00")}; !sameTimes(got, want) {
			t.Errorf("bad sent at %v, want %v (09:00 PDT once its date is valid)", got, want)
		}
		w.expectReasons("monthday", "renewal", smsflow.DecisionInvalidDate)
		w.expectReasons("none", "renewal", smsflow.DecisionNoDate)
		w.expectReasons("bad", "renewal", smsflow.DecisionInvalidDate, smsflow.DecisionInvalidDate, smsflow.DecisionSent)
		if d := w.decisionsOf("monthday", "renewal"); len(d) == 1 && d[0].Detail != `contact.traits.renews_on is "03-08": every: once needs a full date (YYYY-MM-DD)` {
			t.Errorf("detail %q", d[0].Detail)
		}
		if d := w.decisionsOf("bad", "renewal"); len(d) == 3 && d[1].Detail != `contact.traits.renews_on: "tomorrow" is not a date: write YYYY-MM-DD, MM-DD or an RFC 3339 time` {
			t.Errorf("detail %q", d[1].Detail)
		}
		for _, tr := range w.traces {
			if tr.ContactID == "none" && tr.FlowID == "renewal" {
				t.Errorf("a missing date is a decision, not a timeline line: %+v", tr)
			}
		}
		if got := w.kinds("monthday"); !slices.Contains(got, `skip:entry(skipped:invalid_date(contact.traits.renews_on is "03-08": every: once needs a full date (YYYY-MM-DD)))`) {
			t.Errorf("monthday's timeline %q lacks the invalid date", got)
		}
	})
}

const mondayFlow = `id: monday
category: promo
trigger:
  segment: {where: 'now.getDayOfWeek(contact.timezone) == 1 && has(contact.traits.vip) && contact.traits.vip == true', at: "10:00", local: true}
entry:
  unless: 'within("Order Completed", days(1))'
exit:
  - event: Order Completed
steps:
  - send: "Glow: this week's VIP picks"
`

// A daily segment's condition, unless and re-entry are decided at each
// contact's entry moment: a condition about the day means the contact's
// day (the scan runs the day before in UTC terms), an order placed after
// the scan suppresses the entry, and leaving the segment after the scan
// keeps the contact out.
func TestDailyAudienceDecidesAtEntry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, mondayFlow)
		for i, id := range []string{"stays", "orders", "leaves"} {
			w.identify(id, "+1 415 555 010"+itoa(i))
			w.subscribe(id)
			w.seq++
			w.submitTraits(id, map[string]any{"vip": true})
		}
		w.atPacific("2026-03-15 18:00") // Sunday evening: after the scan of Monday the 16th
		w.track("orders", "Order Completed", map[string]any{"order_id": "o-1"})
		w.seq++
		w.submitTraits("leaves", map[string]any{"vip": false})
		w.atPacific("2026-03-18 12:00")

		mondays := []time.Time{utc("2026-03-09T17:00"), utc("2026-03-16T17:00")} // 10:00 PDT
		if got := w.sendTimes("stays", "monday"); !sameTimes(got, mondays) {
			t.Errorf("stays sent at %v, want Mondays at 10:00 %v", got, mondays)
		}
		if got := w.sendTimes("orders", "monday"); !sameTimes(got, mondays[:1]) {
			t.Errorf("orders sent at %v, want only %v", got, mondays[:1])
		}
		w.expectReasons("orders", "monday", smsflow.DecisionSent, smsflow.DecisionSuppressed+"(rule=unless)")
		w.expectReasons("leaves", "monday", smsflow.DecisionSent, smsflow.DecisionSegmentLeft)
		for _, d := range w.decisionsOf("orders", "monday")[1:] {
			if !d.At.Equal(mondays[1]) {
				t.Errorf("suppressed at %v, want at the entry moment %v", d.At, mondays[1])
			}
		}
	})
}

const dailyFlow = `id: daily
category: promo
trigger:
  segment: {where: 'true', at: "10:00", local: true}
entry:
  reentry: 1d
exit:
  - event: Order Completed
steps:
  - send: "Glow: today's deal"
`

// reentry: 1d on a daily 10:00 segment enters every day — also across the
// 23-hour day of the DST change (8 March 2026) — and the daily scans go on
// by themselves (no catalog reload in this world).
func TestDailyAudienceReentryOneDayEntersEveryDay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, dailyFlow)
		w.identify("la", "+1 415 555 0100")
		w.subscribe("la")
		w.identify("ny", "+1 212 555 0100")
		w.subscribe("ny")
		w.advance(11 * 24 * time.Hour) // to 2026-03-13 18:00 UTC
		la, _ := time.LoadLocation("America/Los_Angeles")
		ny, _ := time.LoadLocation("America/New_York")
		var wantLA, wantNY []time.Time
		for d := 3; d <= 13; d++ {
			wantNY = append(wantNY, time.Date(2026, 3, d, 10, 0, 0, 0, ny).UTC())
			wantLA = append(wantLA, time.Date(2026, 3, d, 10, 0, 0, 0, la).UTC())
		}
		if got := w.sendTimes("la", "daily"); !sameTimes(got, wantLA) {
			t.Errorf("la sent at\n%v\nwant every day at 10:00\n%v", got, wantLA)
		}
		if got := w.sendTimes("ny", "daily"); !sameTimes(got, wantNY) {
			t.Errorf("ny sent at\n%v\nwant every day at 10:00\n%v", got, wantNY)
		}
		// On the first day la's moment (10:00 PST) came as it was created,
		// before it subscribed: decided then, without consent.
		want := append([]string{smsflow.DecisionNoConsent}, slices.Repeat([]string{smsflow.DecisionSent}, len(wantLA))...)
		w.expectReasons("la", "daily", want...)
	})
}

// A pending entry made by an earlier version — a run at no step yet,
// woken at the moment — is decided at its moment like a scheduled entry.
func TestLegacyPendingEntryDecidedAtItsMoment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, vipFlow) // 2026-03-10T10:00 local
		// The scan that made the pending entries finished before the upgrade.
		job := store.SegmentJob{FlowID: "vip", Key: "local:2026-03-10T10:00", Version: 1, DueAt: utc("2026-03-09T20:00")}
		if err := db.EnsureSegmentJob(ctx, job); err != nil {
			t.Fatal(err)
		}
		w.identify("ny", "+1 212 555 0100")
		w.identify("gone", "+1 212 555 0101") // never subscribed
		at := utc("2026-03-10T14:00")         // 10:00 EDT
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			job.Status = "done"
			if err := tx.UpdateSegmentJob(&job); err != nil {
				return err
			}
			for _, id := range []string{"ny", "gone"} {
				trig := &smsflow.Event{Type: "segment", Name: "Segment Entered", ContactID: id,
					Properties: map[string]any{"flow": "vip", "job": "local:2026-03-10T10:00"}, Timestamp: at, ReceivedAt: w.clock.Now()}
				run := &smsflow.Run{FlowID: "vip", FlowVersion: 1, ContactID: id, Status: smsflow.RunWaiting, WakeAt: at,
					State: smsflow.RunState{Trigger: trig}, EnteredAt: at, UpdatedAt: w.clock.Now()}
				if err := tx.InsertRun(run); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		w.subscribe("ny")
		for _, id := range []string{"ny", "gone"} {
			w.seq++
			w.submitTraits(id, map[string]any{"vip": true})
		}
		w.advance(9 * 24 * time.Hour)
		if got := w.sendTimes("ny", "vip"); !sameTimes(got, []time.Time{at}) {
			t.Errorf("ny sent at %v, want once at %v", got, at)
		}
		w.expectReasons("gone", "vip", smsflow.DecisionNoConsent)
		if runs, _ := db.RunsByContact(ctx, "gone", false); len(runs) != 0 {
			t.Errorf("the refused pending entry is still a run: %+v", runs[0])
		}
	})
}

// Two engines (two nodes) on one database enter each contact of a local
// daily segment once a day: the scan's shards split the contacts (four on
// PostgreSQL) and each due entry is taken by one engine.
func TestScheduledEntriesTwoEnginesEnterOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, dailyFlow)
		const n = 40
		for i := range n {
			id := "c" + itoa(i)
			w.identify(id, "+1 415 555 "+itoa(1000+i))
			w.subscribe(id)
		}
		cat := engine.NewCatalog(db)
		if err := cat.Load(ctx); err != nil {
			t.Fatal(err)
		}
		other := engine.New(db, cat, w.clock, slog.New(slog.NewTextHandler(io.Discard, nil)), engine.Config{Brand: map[string]any{"name": "Glow"}, Provider: "console"})
		end := w.clock.Now().Add(3 * 24 * time.Hour)
		for {
			next, err := db.NextWake(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if next.IsZero() || next.After(end) {
				break
			}
			if next.After(w.clock.Now()) {
				w.clock.Set(next)
			}
			for {
				var wg sync.WaitGroup
				var n1, n2 int
				var e1, e2 error
				wg.Go(func() { n1, e1 = w.eng.RunOnce(ctx) })
				wg.Go(func() { n2, e2 = other.RunOnce(ctx) })
				wg.Wait()
				if e1 != nil || e2 != nil {
					if db.IsConflict(e1) || db.IsConflict(e2) {
						continue // both inserted at once: the retry sees the other's rows
					}
					t.Fatal(e1, e2)
				}
				if n1+n2 == 0 {
					break
				}
			}
		}
		for i := range n {
			id := "c" + itoa(i)
			runs, err := db.RunsByContact(ctx, id, false)
			if err != nil {
				t.Fatal(err)
			}
			days := map[string]int{}
			for _, r := range runs {
				days[r.EnteredAt.UTC().Format("2006-01-02")]++
			}
			if len(runs) != 3 || len(days) != 3 {
				t.Errorf("%s: %d runs on days %v, want one on each of 3 days", id, len(runs), days)
			}
		}
		if left, err := db.CountScheduledEntries(ctx); err != nil || left != 0 {
			t.Errorf("%d scheduled entries left (%v), want none: each was taken", left, err)
		}
	})
}
