package report

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// cartFlow is the flow of the known history: a nudge, then an A/B split
// with one offer per arm.
const cartFlow = `id: cart
name: Cart recovery
category: behavior
trigger:
  event: Checkout Started
entry:
  holdout: 30%
goal:
  event: Order Completed
  within: 5d
  value: 'double(event.properties.revenue)'
steps:
  - id: nudge
    send: "Still thinking it over?"
  - wait: 1h
  - split:
      - variant: A
        weight: 50
        then:
          - id: offer-a
            send: "10% off today"
      - variant: B
        weight: 50
        then:
          - id: offer-b
            send: "Free shipping today"
`

var (
	histFrom = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	histTo   = time.Date(2025, 3, 8, 0, 0, 0, 0, time.UTC)
)

// treatAt is when treatment run i (0..79) entered; holdAt for holdout run j.
func treatAt(i int) time.Time { return histFrom.Add(time.Duration(i) * 10 * time.Minute) }
func holdAt(j int) time.Time  { return histFrom.Add(24*time.Hour + time.Duration(j)*10*time.Minute) }

// history writes the known history the report tests check (the expected
// numbers are worked out by hand in TestFlowReportKnownHistory):
//
//   - 80 treatment runs (i < 40: variant A, else B) and 40 holdout runs
//     (even ones carry variant A, which must not count as a variant entry);
//   - nudge to every treatment run, status by i%10: 0 refused by the
//     provider (failed, no provider id), 1 failed by receipt, 2 undelivered,
//     3 unknown, 4 sent, 5–9 delivered; 2 segments when i%10 = 5, else 1;
//   - offer-a (delivered, 1 segment) to even A runs, with skipped decisions
//     for A runs 1, 3, 5, 7, 9; offer-b (sent, 3 segments) to B runs with
//     i%4 = 0;
//   - clicks, replies, opt-outs and conversions as commented below;
//   - noise that must not count: runs before the window and at its end,
//     another flow, a reply after 25 h, opt-ins.
func history(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	if _, _, err := db.SaveFlow(ctx, "cart", "h1", cartFlow, "cart.yaml", "file", "active", histFrom); err != nil {
		t.Fatal(err)
	}
	err := db.WriteTx(ctx, func(tx *store.Tx) error {
		b := &builder{tx: tx}
		for i := 0; i < 80; i++ {
			b.treatmentRun(i)
		}
		for j := 0; j < 40; j++ {
			b.holdoutRun(j)
		}
		b.noise()
		return b.err
	})
	if err != nil {
		t.Fatalf("build history: %v", err)
	}
}

type builder struct {
	tx  *store.Tx
	err error
	n   int // phone counter
}

func (b *builder) check(err error) {
	if err != nil && b.err == nil {
		b.err = err
	}
}

func (b *builder) contact(id string) string {
	b.n++
	phone := fmt.Sprintf("+1415555%04d", b.n)
	b.check(b.tx.InsertContact(&smsflow.Contact{ID: id, Phone: phone, CreatedAt: histFrom, UpdatedAt: histFrom}))
	return phone
}

func (b *builder) run(flowID, contact string, entered time.Time, holdout bool, variant, status, reason string, goalAt time.Time, value float64) int64 {
	r := &smsflow.Run{FlowID: flowID, FlowVersion: 1, ContactID: contact, Status: status, ExitReason: reason, Holdout: holdout,
		Variant: variant, EnteredAt: entered, UpdatedAt: entered, GoalAt: goalAt, GoalValue: value}
	b.check(b.tx.InsertRun(r))
	return r.ID
}

func (b *builder) message(runID int64, flowID, step, contact, phone, status, providerID string, segments int, at time.Time) int64 {
	m := &smsflow.Message{Direction: "out", RunID: runID, StepID: step, FlowID: flowID, ContactID: contact, Phone: phone, Body: "x",
		Segments: segments, Status: status, ProviderID: providerID, CreatedAt: at, UpdatedAt: at}
	_, err := b.tx.InsertMessage(m)
	b.check(err)
	b.decision(runID, flowID, step, contact, "sent", at)
	return m.ID
}

func (b *builder) decision(runID int64, flowID, step, contact, reason string, at time.Time) {
	b.check(b.tx.InsertDecision(&smsflow.Decision{RunID: runID, StepID: step, FlowID: flowID, ContactID: contact, Reason: reason, At: at}))
}

func (b *builder) inbound(contact, phone string, at time.Time) {
	_, err := b.tx.InsertMessage(&smsflow.Message{Direction: "in", ContactID: contact, Phone: phone, Body: "hi", Segments: 1,
		Status: smsflow.MessageReceived, CreatedAt: at, UpdatedAt: at})
	b.check(err)
}

func (b *builder) click(code string, runID int64, step, contact string, at ...time.Time) {
	l := &store.Link{Code: code, URL: "https://shop.example/cart", RunID: runID, StepID: step, FlowID: "cart", ContactID: contact, CreatedAt: histFrom}
	_, err := b.tx.InsertLink(l)
	b.check(err)
	for _, a := range at {
		b.check(b.tx.InsertClick(l, a))
	}
}

func (b *builder) consent(phone, contact string, status smsflow.ConsentStatus, source smsflow.ConsentSource, at time.Time) {
	b.check(b.tx.AppendConsent(&smsflow.ConsentEntry{Phone: phone, ContactID: contact, Status: status, Source: source,
		Evidence: map[string]any{"note": "test"}, OccurredAt: at, RecordedAt: at}))
}

func (b *builder) treatmentRun(i int) {
	id := fmt.Sprintf("t%02d", i)
	phone := b.contact(id)
	b.consent(phone, id, smsflow.ConsentSubscribed, smsflow.SourceWebForm, histFrom.Add(-time.Hour)) // opt-in: never an opt-out
	at := treatAt(i)
	variant := "A"
	if i >= 40 {
		variant = "B"
	}
	// Conversions: A runs 4,6,8 mod 10 (12, value 10), B runs 40..60 step 4
	// (6, value 20). Goal 3 h after entry (after the offer) for A 4..16 and
	// B 40..48, 1 h after entry (after the nudge only) otherwise.
	var goalAt time.Time
	var value float64
	switch {
	case i < 40 && (i%10 == 4 || i%10 == 6 || i%10 == 8):
		value, goalAt = 10, at.Add(time.Hour)
		if i <= 16 {
			goalAt = at.Add(3 * time.Hour)
		}
	case i >= 40 && i <= 60 && i%4 == 0:
		value, goalAt = 20, at.Add(time.Hour)
		if i <= 48 {
			goalAt = at.Add(3 * time.Hour)
		}
	}
	status, reason := smsflow.RunWaiting, ""
	switch {
	case !goalAt.IsZero():
		status, reason = smsflow.RunExited, "goal"
	case i == 5 || i == 12 || i == 45:
		status, reason = smsflow.RunExited, "opt_out"
	case i%2 == 0:
		status = smsflow.RunCompleted
	}
	runID := b.run("cart", id, at, false, variant, status, reason, goalAt, value)

	nudgeAt := at.Add(time.Minute)
	st, pid, seg := smsflow.MessageDelivered, "p"+id, 1
	switch i % 10 {
	case 0:
		st, pid = smsflow.MessageFailed, ""
	case 1:
		st = smsflow.MessageFailed
	case 2:
		st = smsflow.MessageUndelivered
	case 3:
		st = smsflow.MessageUnknown
	case 4:
		st = smsflow.MessageSent
	case 5:
		seg = 2
	}
	b.message(runID, "cart", "nudge", id, phone, st, pid, seg, nudgeAt)
	if i == 5 {
		b.decision(runID, "cart", "nudge", id, "deferred:quiet_hours", at) // a second decision: still one run reached
	}
	offerAt := at.Add(2 * time.Hour)
	switch {
	case i < 40 && i%2 == 0:
		b.message(runID, "cart", "offer-a", id, phone, smsflow.MessageDelivered, "pa"+id, 1, offerAt)
	case i < 10:
		b.decision(runID, "cart", "offer-a", id, "skipped:cap(rule=daily)", offerAt)
	case i >= 40 && i%4 == 0:
		b.message(runID, "cart", "offer-b", id, phone, smsflow.MessageSent, "pb"+id, 3, offerAt)
	}

	// Clicks. nudge: delivered runs with i%10 = 5 click first after
	// 60 s × (i/10 + 1), again 1000 s later; run 15 has a second link
	// clicked after 30 s. offer-a: runs 0, 2, 4, 6 after 10, 20, 30, 40 s.
	if i%10 == 5 {
		first := nudgeAt.Add(time.Duration(i/10+1) * time.Minute)
		b.click("n"+id, runID, "nudge", id, first, first.Add(1000*time.Second))
		if i == 15 {
			b.click("n"+id+"b", runID, "nudge", id, nudgeAt.Add(30*time.Second))
		}
	}
	if i <= 6 && i%2 == 0 {
		b.click("a"+id, runID, "offer-a", id, offerAt.Add(time.Duration(i/2+1)*10*time.Second))
	}
	if i == 7 {
		b.click("u"+id, runID, "nudge", id) // a link nobody clicked
	}

	// Replies: run 6 twice after the nudge (one reply counted), run 3 after
	// its unknown nudge, run 8 after offer-a; run 7 more than 24 h after;
	// run 0 after a refused nudge (none received); run 9 after another
	// flow's message (attributed there).
	switch i {
	case 6:
		b.inbound(id, phone, nudgeAt.Add(10*time.Minute))
		b.inbound(id, phone, nudgeAt.Add(12*time.Minute))
	case 3:
		b.inbound(id, phone, nudgeAt.Add(time.Hour))
	case 8:
		b.inbound(id, phone, offerAt.Add(5*time.Minute))
	case 7:
		b.inbound(id, phone, nudgeAt.Add(25*time.Hour))
	case 0:
		b.inbound(id, phone, at.Add(5*time.Minute))
	case 9:
		other := b.run("other", id, at, false, "", smsflow.RunCompleted, "", time.Time{}, 0)
		b.message(other, "other", "x", id, phone, smsflow.MessageDelivered, "po"+id, 1, nudgeAt.Add(30*time.Minute))
		b.inbound(id, phone, nudgeAt.Add(40*time.Minute))
	}

	// Opt-outs: run 5 and 45 after the nudge (45 twice: keyword, then the
	// carrier), run 12 after offer-a; run 2 after an undelivered nudge
	// (none); run 19 more than 24 h after.
	switch i {
	case 5:
		b.consent(phone, id, smsflow.ConsentUnsubscribed, smsflow.SourceKeyword, at.Add(time.Hour))
	case 45:
		b.consent(phone, id, smsflow.ConsentUnsubscribed, smsflow.SourceKeyword, at.Add(2*time.Hour))
		b.consent(phone, id, smsflow.ConsentUnsubscribed, smsflow.SourceCarrier, at.Add(2*time.Hour+time.Minute))
	case 12:
		b.consent(phone, id, smsflow.ConsentUnsubscribed, smsflow.SourceKeyword, at.Add(3*time.Hour))
	case 2:
		b.consent(phone, id, smsflow.ConsentUnsubscribed, smsflow.SourceKeyword, at.Add(30*time.Minute))
	case 19:
		b.consent(phone, id, smsflow.ConsentUnsubscribed, smsflow.SourceKeyword, nudgeAt.Add(30*time.Hour))
	}
}

// holdoutRun writes holdout run j: conversions for j < 4 (value 5), the rest
// completed; a skipped:holdout decision at the nudge.
func (b *builder) holdoutRun(j int) {
	id := fmt.Sprintf("h%02d", j)
	b.contact(id)
	at := holdAt(j)
	variant := ""
	if j%2 == 0 {
		variant = "A"
	}
	status, reason, goalAt, value := smsflow.RunCompleted, "", time.Time{}, 0.0
	if j < 4 {
		status, reason, goalAt, value = smsflow.RunExited, "goal", at.Add(time.Hour), 5
	}
	runID := b.run("cart", id, at, true, variant, status, reason, goalAt, value)
	b.decision(runID, "cart", "nudge", id, smsflow.DecisionHoldout, at.Add(time.Minute))
}

// noise writes facts outside the report: runs of the flow entered before
// the window and exactly at its end (with sends, clicks and a conversion).
func (b *builder) noise() {
	for k, at := range []time.Time{histFrom.Add(-time.Minute), histTo} {
		id := fmt.Sprintf("n%d", k)
		phone := b.contact(id)
		runID := b.run("cart", id, at, false, "A", smsflow.RunExited, "goal", at.Add(3*time.Hour), 1000)
		b.message(runID, "cart", "nudge", id, phone, smsflow.MessageDelivered, "pn"+id, 1, at.Add(time.Minute))
		b.click("x"+id, runID, "nudge", id, at.Add(2*time.Minute))
		b.inbound(id, phone, at.Add(3*time.Minute))
	}
}
