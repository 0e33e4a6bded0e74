package engine_test

import (
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/provider/console"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// Governance scenarios end to end (ingestion, the engine, the sender, the
// STOP keyword, two nodes), on every database. The decisions themselves —
// quiet hours, caps, smart sending, collisions, priority, pauses, deferral
// expiry — are tested without a database in governance_pure_test.go. The
// contact is +1 415 555 0100: America/Los_Angeles, California (no state
// rule); the world's clock starts Monday 2026-03-02 10:00 PST.

// newGovWorld is newWorld with a governance policy.
func newGovWorld(t *testing.T, db *store.DB, p policy.Policy, flows ...string) *world {
	t.Helper()
	if err := p.Validate(); err != nil {
		t.Fatalf("test policy: %v", err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := &world{t: t, db: db, clock: &virtualClock{t: time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC)}}
	cat := engine.NewCatalog(db)
	for _, src := range flows {
		id := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(src, "\n", 2)[0], "id:"))
		if _, problems, err := cat.Save(ctx, id, []byte(src), w.clock.Now()); err != nil {
			t.Fatalf("save flow %s: %v %v", id, err, problems)
		}
		if err := db.SetFlowStatus(ctx, id, engine.FlowActive, w.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := cat.Load(ctx); err != nil {
		t.Fatal(err)
	}
	w.eng = engine.New(db, cat, w.clock, log, engine.Config{Brand: map[string]any{"name": "Glow"}, PublicURL: "https://sms.glow.example",
		Provider: "console", Policy: &p})
	w.eng.OnTrace = func(tr engine.Trace) { w.traces = append(w.traces, tr) }
	w.cons = console.New(log)
	w.sender = delivery.NewSender(db, w.cons, w.clock, log)
	w.writer = ingest.NewWriter(db, w.clock, log)
	w.writer.Start()
	t.Cleanup(w.writer.Stop)
	return w
}

// at moves the clock to a Pacific wall-clock time, settling every timer on
// the way (the time must be ahead of the clock).
func (w *world) atPacific(pacific string) {
	w.t.Helper()
	loc, _ := time.LoadLocation("America/Los_Angeles")
	target, err := time.ParseInLocation("2006-01-02 15:04", pacific, loc)
	if err != nil {
		w.t.Fatal(err)
	}
	if d := target.Sub(w.clock.Now()); d < 0 {
		w.t.Fatalf("at(%s): the clock is already at %v", pacific, w.clock.Now())
	} else {
		w.advance(d)
	}
}

func pacific(t *testing.T, s string) time.Time {
	t.Helper()
	loc, _ := time.LoadLocation("America/Los_Angeles")
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// govContact identifies a subscribed contact with that phone number.
func (w *world) govContact(id, ph string) {
	w.t.Helper()
	w.identify(id, ph)
	w.subscribe(id)
}

// rename changes a trait between deferral and release (a re-render shows it).
func (w *world) rename(user, first string) {
	w.seq++
	w.submit(&ingest.Item{Type: smsflow.EventIdentify, MessageID: "rn" + itoa(w.seq), UserID: user, Traits: map[string]any{"first_name": first},
		Timestamp: w.clock.Now(), ReceivedAt: w.clock.Now()})
}

// stop texts STOP from a number.
func (w *world) textStop(ph string) {
	w.t.Helper()
	if _, err := ingest.Inbound(ctx, w.db, w.clock, ph, "STOP", ingest.InboundOptions{Region: "US", Provider: "console", BrandName: "Glow", SendConfirmations: true}); err != nil {
		w.t.Fatal(err)
	}
}

// engineOnly runs the engine (never the sender) until it has no work.
func (w *world) engineOnly() {
	w.t.Helper()
	for i := 0; i < 100; i++ {
		n, err := w.eng.RunOnce(ctx)
		if err != nil {
			w.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	w.t.Fatal("engine did not settle")
}

// trackOnly stores an event without running the engine or the sender.
func (w *world) trackOnly(user, name string) {
	w.t.Helper()
	w.seq++
	res, err := w.writer.Submit(ctx, []*ingest.Item{{Type: smsflow.EventTrack, MessageID: "to" + itoa(w.seq), UserID: user, Name: name,
		Timestamp: w.clock.Now(), ReceivedAt: w.clock.Now()}})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			w.t.Fatal(r.Err)
		}
	}
}

// flowSent is what the provider got from flows (automatic replies such as
// the STOP confirmation have no run and are left out).
func (w *world) flowSent(contact string) []smsflow.Message {
	var out []smsflow.Message
	for _, m := range w.cons.Recent() {
		if m.ContactID == contact && m.RunID != 0 {
			out = append(out, m)
		}
	}
	return out
}

// decisions are the contact's decision rows of one flow, oldest first.
func (w *world) decisionsOf(contact, flowID string) []smsflow.Decision {
	w.t.Helper()
	ds, err := w.db.Decisions(ctx, contact, 1000)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []smsflow.Decision
	for _, d := range ds {
		if flowID == "" || d.FlowID == flowID {
			out = append(out, d)
		}
	}
	return out
}

func (w *world) reasonsOf(contact, flowID string) []string {
	var out []string
	for _, d := range w.decisionsOf(contact, flowID) {
		out = append(out, d.Reason)
	}
	return out
}

func (w *world) expectReasons(contact, flowID string, want ...string) {
	w.t.Helper()
	if got := w.reasonsOf(contact, flowID); !slices.Equal(got, want) {
		w.t.Errorf("decisions of %s/%s:\n got %q\nwant %q", contact, flowID, got, want)
	}
}

// run is the contact's only run of a flow.
func (w *world) onlyRun(contact, flowID string) *smsflow.Run {
	w.t.Helper()
	runs, err := w.db.RunsByContact(ctx, contact, false)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []*smsflow.Run
	for _, r := range runs {
		if r.FlowID == flowID {
			out = append(out, r)
		}
	}
	if len(out) != 1 {
		w.t.Fatalf("%d runs of %s for %s, want 1", len(out), flowID, contact)
	}
	return out[0]
}

// messages are the contact's outbound message rows of one flow, oldest first.
func (w *world) outMessages(contact, flowID string) []*smsflow.Message {
	w.t.Helper()
	ms, err := w.db.Messages(ctx, store.MessageFilter{ContactID: contact, FlowID: flowID})
	if err != nil {
		w.t.Fatal(err)
	}
	var out []*smsflow.Message
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Direction == "out" {
			out = append(out, ms[i])
		}
	}
	return out
}

func (w *world) setFlowStatus(id, status string) {
	w.t.Helper()
	if err := w.db.SetFlowStatus(ctx, id, status, w.clock.Now()); err != nil {
		w.t.Fatal(err)
	}
	if err := w.eng.Catalog().Load(ctx); err != nil {
		w.t.Fatal(err)
	}
}

func TestQuietHoursDeferThenReleaseAtEightLocal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newGovWorld(t, db, policy.Default(), engine.GovFlow("sale", "promo", 25, "Sale"))
		w.govContact("ana", engine.GovPhone)
		w.atPacific("2026-03-02 23:00")
		w.track("ana", "Sale", nil)

		eight := pacific(t, "2026-03-03 08:00")
		w.expectReasons("ana", "sale", engine.DeferredUntil(eight))
		if got := w.outMessages("ana", "sale"); len(got) != 0 {
			t.Fatalf("a deferred send wrote %d message rows", len(got))
		}
		run := w.onlyRun("ana", "sale")
		if run.Status != smsflow.RunWaiting || run.Step != "offer" || !run.WakeAt.Equal(eight) {
			t.Fatalf("parked run: status %s step %q wake %v, want waiting on offer until %v", run.Status, run.Step, run.WakeAt, eight)
		}
		if next, _ := db.NextWake(ctx); !next.Equal(eight) {
			t.Errorf("next wake %v, want %v", next, eight)
		}

		// The contact's name changes while it waits: the release renders anew.
		w.rename("ana", "Bea")
		w.atPacific("2026-03-03 07:59")
		if got := w.flowSent("ana"); len(got) != 0 {
			t.Fatalf("sent before 08:00: %+v", got)
		}
		w.atPacific("2026-03-03 08:00")
		got := w.flowSent("ana")
		if len(got) != 1 || got[0].Body != "Glow sale for Bea" {
			t.Fatalf("at 08:00: %+v, want one re-rendered message", got)
		}
		ms := w.outMessages("ana", "sale")
		if len(ms) != 1 || !ms[0].CreatedAt.Equal(eight) || !ms[0].SendBefore.Equal(pacific(t, "2026-03-03 21:00")) {
			t.Fatalf("message rows %+v, want one created at 08:00 with send_before 21:00", ms)
		}
		w.expectReasons("ana", "sale", engine.DeferredUntil(eight), smsflow.DecisionSent)
		if d := w.decisionsOf("ana", "sale"); d[1].RunID != run.ID || d[1].StepID != "offer" || !d[1].At.Equal(eight) {
			t.Errorf("sent decision %+v", d[1])
		}
		if r := w.onlyRun("ana", "sale"); r.Status != smsflow.RunCompleted {
			t.Errorf("run %s after the release, want completed", r.Status)
		}

		// Never twice: nothing more goes, however long the clock runs.
		w.advance(72 * time.Hour)
		if got := w.flowSent("ana"); len(got) != 1 {
			t.Errorf("%d flow messages after 3 days, want 1", len(got))
		}

		// The decisions are on the contact's timeline.
		c, err := db.Contact(ctx, "ana")
		if err != nil {
			t.Fatal(err)
		}
		tl, err := db.Timeline(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		var onTimeline []string
		for _, it := range tl {
			if it.Type == "decision" {
				onTimeline = append(onTimeline, it.Name)
			}
		}
		if want := []string{engine.DeferredUntil(eight), "sent"}; !slices.Equal(onTimeline, want) {
			t.Errorf("timeline decisions %q, want %q", onTimeline, want)
		}
	})
}

func TestDeferredSendThenStop(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newGovWorld(t, db, policy.Default(), engine.GovFlow("sale", "promo", 25, "Sale"))
		w.govContact("ana", engine.GovPhone)
		w.atPacific("2026-03-02 23:00")
		w.track("ana", "Sale", nil)
		eight := pacific(t, "2026-03-03 08:00")
		w.expectReasons("ana", "sale", engine.DeferredUntil(eight))

		w.atPacific("2026-03-03 02:00")
		w.textStop(engine.GovPhone)
		w.settle()
		run := w.onlyRun("ana", "sale")
		if run.Status != smsflow.RunExited || run.ExitReason != "opt_out" || !run.WakeAt.IsZero() {
			t.Fatalf("run after STOP: status %s reason %q wake %v, want exited opt_out with no timer", run.Status, run.ExitReason, run.WakeAt)
		}
		w.atPacific("2026-03-03 12:00")
		if got := w.flowSent("ana"); len(got) != 0 {
			t.Fatalf("sent after STOP: %+v", got)
		}
		if got := w.outMessages("ana", "sale"); len(got) != 0 {
			t.Errorf("message rows after STOP: %+v", got)
		}
		// The confirmation went out (an automatic reply, not a flow message).
		if n := len(w.cons.Recent()); n != 1 || w.cons.Recent()[0].RunID != 0 {
			t.Errorf("provider got %+v, want only the STOP confirmation", w.cons.Recent())
		}
		// Why didn't she get it? The deferred send was canceled by the opt-out.
		w.expectReasons("ana", "sale", engine.DeferredUntil(eight), smsflow.DecisionCanceledOptOut)
		if d := w.decisionsOf("ana", "sale"); len(d) == 2 && (d[1].RunID != run.ID || d[1].StepID != "offer") {
			t.Errorf("cancel decision %+v, want run %d step offer", d[1], run.ID)
		}
	})
}

func TestQueuedMessageCanceledOnUnsubscribe(t *testing.T) {
	// The engine applies the STOP before the sender runs.
	t.Run("engine cancels", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, db *store.DB) {
			w := newGovWorld(t, db, policy.Default(), engine.GovFlow("sale", "promo", 25, "Sale"))
			w.govContact("ana", engine.GovPhone)
			w.trackOnly("ana", "Sale")
			w.engineOnly()
			ms := w.outMessages("ana", "sale")
			if len(ms) != 1 || ms[0].Status != smsflow.MessageQueued {
				t.Fatalf("before STOP: %+v, want one queued", ms)
			}
			w.textStop(engine.GovPhone)
			w.engineOnly()
			ms = w.outMessages("ana", "sale")
			if ms[0].Status != smsflow.MessageCanceled || ms[0].ErrorCode != "opt_out" {
				t.Errorf("after STOP: status %s code %q, want canceled opt_out", ms[0].Status, ms[0].ErrorCode)
			}
			w.settle()
			if got := w.flowSent("ana"); len(got) != 0 {
				t.Errorf("the provider got a canceled message: %+v", got)
			}
			if n := len(w.cons.Recent()); n != 1 {
				t.Errorf("provider got %d messages, want only the STOP confirmation", n)
			}
			w.expectReasons("ana", "sale", smsflow.DecisionSent, smsflow.DecisionCanceledOptOut)
			if r := w.onlyRun("ana", "sale"); r.Status == smsflow.RunWaiting || r.Status == smsflow.RunActive {
				t.Errorf("run still open: %s", r.Status)
			}
		})
	})
	// The STOP is in the ledger but the engine has not applied it yet: the
	// sender's last look cancels the message.
	t.Run("sender rechecks", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, db *store.DB) {
			w := newGovWorld(t, db, policy.Default(), engine.GovFlow("sale", "promo", 25, "Sale"))
			w.govContact("ana", engine.GovPhone)
			w.trackOnly("ana", "Sale")
			w.engineOnly()
			w.textStop(engine.GovPhone)
			if _, err := w.sender.SendOnce(ctx, 100); err != nil {
				t.Fatal(err)
			}
			if got := w.flowSent("ana"); len(got) != 0 {
				t.Fatalf("the provider got a message to an unsubscribed number: %+v", got)
			}
			ms := w.outMessages("ana", "sale")
			if len(ms) != 1 || ms[0].Status != smsflow.MessageCanceled || ms[0].ErrorCode != "opt_out" {
				t.Fatalf("message %+v, want canceled opt_out", ms)
			}
			w.settle()
			w.expectReasons("ana", "sale", smsflow.DecisionSent, smsflow.DecisionCanceledOptOut)
			if r := w.onlyRun("ana", "sale"); r.Status != smsflow.RunCompleted && r.ExitReason != "opt_out" {
				t.Errorf("run %s %q", r.Status, r.ExitReason)
			}
			if got := w.flowSent("ana"); len(got) != 0 {
				t.Errorf("sent after settling: %+v", got)
			}
		})
	})
}

func TestSenderHonorsSendBefore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newGovWorld(t, db, policy.Default(), engine.GovFlow("sale", "promo", 25, "Sale"), engine.GovFlow("late", "promo", 25, "Late"))
		w.govContact("ana", engine.GovPhone)
		w.atPacific("2026-03-02 20:59")
		w.trackOnly("ana", "Sale")
		w.engineOnly()
		ms := w.outMessages("ana", "sale")
		if len(ms) != 1 || !ms[0].SendBefore.Equal(pacific(t, "2026-03-02 21:00")) {
			t.Fatalf("queued %+v, want send_before 21:00", ms)
		}
		// The sender comes round when quiet hours have begun (21:00 is quiet:
		// the window is half-open).
		w.clock.Set(pacific(t, "2026-03-02 21:00"))
		if _, err := w.sender.SendOnce(ctx, 100); err != nil {
			t.Fatal(err)
		}
		if got := w.flowSent("ana"); len(got) != 0 {
			t.Fatalf("sent at 21:00, in quiet hours: %+v", got)
		}
		ms = w.outMessages("ana", "sale")
		if ms[0].Status != smsflow.MessageCanceled || ms[0].ErrorCode != "expired:send_before" {
			t.Errorf("message %s %q, want canceled expired:send_before", ms[0].Status, ms[0].ErrorCode)
		}
		// The timeline answers why: sent (queued at 20:59), then expired.
		w.expectReasons("ana", "sale", smsflow.DecisionSent, smsflow.DecisionExpired)
	})
}

func TestTwoNodesReleaseADeferredSendOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newGovWorld(t, db, policy.Default(), engine.GovFlow("sale", "promo", 25, "Sale"))
		w.govContact("ana", engine.GovPhone)
		w.atPacific("2026-03-02 23:00")
		w.track("ana", "Sale", nil)
		w2 := newGovWorld(t, db, policy.Default()) // a second node on the same database
		w2.clock.Set(w.clock.Now())
		w2.atPacific("2026-03-03 08:00")
		w.clock.Set(w2.clock.Now())
		w.settle()
		w.advance(time.Hour)
		if n, m := len(w.flowSent("ana")), len(w2.flowSent("ana")); n+m != 1 {
			t.Errorf("node 1 sent %d, node 2 sent %d; want one message in all", n, m)
		}
		w.expectReasons("ana", "sale", engine.DeferredUntil(pacific(t, "2026-03-03 08:00")), smsflow.DecisionSent)
	})
}
