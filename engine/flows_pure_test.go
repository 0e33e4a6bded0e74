package engine

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/policy"
)

// Entry rules, waits, branches, replies and holdouts, without a database
// (pure_test.go). engine_test.go keeps the cart flow end to end (the
// sender, receipts, a restart, the timer backlog) on both databases.

const cartFlow = `id: cart
name: Cart recovery
category: behavior
trigger:
  event: Checkout Started
  where: 'double(event.properties.value) > 0'
entry:
  reentry: 7d
  unless: 'count("Order Completed", duration("24h")) > 0'
exit:
  - event: Order Completed
goal:
  event: Order Completed
  within: 5d
  value: 'double(event.properties.revenue)'
steps:
  - wait: 60m
  - id: reminder
    send: "{{ brand.name }}: still thinking it over, {{ contact.traits.first_name | default: \"friend\" }}? {{ event.properties.checkout_url | track }}"
  - wait: 24h
  - if: '!clicked("reminder")'
    then:
      - id: incentive
        send: "Here's 10% off: {{ event.properties.checkout_url | track }}"
`

const welcomeFlow = `id: welcome
category: lifecycle
trigger:
  consent: subscribed
entry:
  holdout: 50%
steps:
  - id: hello
    send: "Welcome to {{ brand.name }}! Reply 1 for skincare, 2 for makeup."
  - wait: {reply: true, timeout: 1d}
  - switch:
      - when: 'reply.text == "1"'
        then:
          - set: {interest: '"skincare"'}
          - id: skin
            send: "Skincare it is."
      - when: 'timed_out'
        then:
          - exit: no_reply
      - else:
          - id: other
            send: "Makeup it is."
`

// reply applies a text from the contact's number that is no keyword, as
// ingest.Inbound stores it: an inbound message, and its message_replied
// event.
func (w *pureWorld) reply(contact, text string) {
	w.t.Helper()
	c := w.rows.contacts[contact]
	now := w.clock.Now()
	w.rows.messages = append(w.rows.messages, &smsflow.Message{ID: int64(len(w.rows.messages) + 1), Direction: "in", ContactID: contact, Phone: c.Phone, Body: text,
		Status: smsflow.MessageReceived, Provider: "console", CreatedAt: now, UpdatedAt: now})
	w.event(&smsflow.Event{Type: smsflow.EventInbound, Name: smsflow.EventMessageReplied, ContactID: contact,
		Properties: map[string]any{"text": strings.TrimSpace(text), "message_id": int64(len(w.rows.messages))}, Timestamp: now, ReceivedAt: now})
}

// kinds are the contact's traces as kind:step(reason).
func (w *pureWorld) kinds(contact string) []string {
	return TraceKinds(w.traces, contact)
}

func TestCartRecoveryIncentiveWhenNotClicked(t *testing.T) {
	w := newPureWorldWith(t, Config{}, cartFlow)
	w.contact("ana", "+1 415 555 0100")
	w.track("ana", "Checkout Started", map[string]any{"value": 42.0, "checkout_url": "https://glow.example/c/1"})
	w.advance(26 * time.Hour)
	var steps []string
	for _, m := range w.queued("ana") {
		steps = append(steps, m.StepID)
	}
	if !slices.Equal(steps, []string{"reminder", "incentive"}) {
		t.Fatalf("queued %v, want reminder and incentive", steps)
	}
	want := []string{"enter(trigger:Checkout Started)", "wait:step-1", "wait:step-1", "send:reminder", "wait:step-3", "wait:step-3", "send:incentive", "exit(completed)"}
	if got := w.kinds("ana"); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("trace %v\nwant  %v", got, want)
	}
	// Re-entry within 7 days is refused and recorded.
	w.track("ana", "Checkout Started", map[string]any{"value": 10.0})
	if ds := w.decisionsOf("ana", ""); ds[len(ds)-1].Reason != smsflow.DecisionReentry {
		t.Errorf("last decision %+v, want reentry", ds[len(ds)-1])
	}
}

// A click on the reminder's link takes the other branch: no incentive.
func TestCartRecoveryNoIncentiveWhenClicked(t *testing.T) {
	w := newPureWorldWith(t, Config{}, cartFlow)
	w.contact("ana", "+1 415 555 0100")
	w.track("ana", "Checkout Started", map[string]any{"value": 42.0, "checkout_url": "https://glow.example/c/1"})
	w.advance(61 * time.Minute)
	r := w.onlyRun("ana", "cart")
	w.rows.clicks = append(w.rows.clicks, memClick{runID: r.ID, stepID: "reminder"})
	w.advance(25 * time.Hour)
	if q := w.queued("ana"); len(q) != 1 || q[0].StepID != "reminder" {
		t.Fatalf("queued %+v, want the reminder only", q)
	}
	if r := w.onlyRun("ana", "cart"); r.Status != smsflow.RunCompleted {
		t.Errorf("run %s, want completed", r.Status)
	}
}

func TestEntryRules(t *testing.T) {
	w := newPureWorldWith(t, Config{}, cartFlow)
	w.identify("ana", "+1 415 555 0100")
	// Not subscribed: a behavior flow does not take the contact.
	w.track("ana", "Checkout Started", map[string]any{"value": 42.0})
	w.subscribe("ana")
	// where false: nothing.
	w.track("ana", "Checkout Started", map[string]any{"value": 0.0})
	// where fails (missing property): fail closed, error recorded.
	w.track("ana", "Checkout Started", map[string]any{})
	// Purchased in the last 24h: suppressed.
	w.track("ana", "Order Completed", map[string]any{"order_id": "x"})
	w.track("ana", "Checkout Started", map[string]any{"value": 5.0})
	want := []string{"skipped:no_consent", "error:condition", "skipped:suppressed(rule=unless)"}
	if got := w.reasonsOf("ana", ""); !slices.Equal(got, want) {
		t.Errorf("decisions %v, want %v", got, want)
	}
	if n := len(w.rows.runs); n != 0 {
		t.Errorf("%d runs, want 0", n)
	}
}

func TestWelcomeReplyBranchAndHoldout(t *testing.T) {
	w := newPureWorldWith(t, Config{}, welcomeFlow)
	treated, control := 0, 0
	for i := range 12 {
		id := fmt.Sprintf("c%d", i)
		w.identify(id, fmt.Sprintf("+1 415 555 01%02d", i))
		w.subscribe(id)
		r := w.onlyRun(id, "welcome")
		if r.Holdout {
			control++
		} else {
			treated++
		}
		w.reply(id, "1")
		if got := w.rows.contacts[id].Traits["interest"]; got != "skincare" {
			t.Errorf("%s: interest %v", id, got)
		}
	}
	if treated == 0 || control == 0 {
		t.Errorf("holdout 50%%: %d treated, %d control", treated, control)
	}
	// Control contacts walk the flow but receive nothing.
	var out []*smsflow.Message
	for i := range 12 {
		out = append(out, w.queued(fmt.Sprintf("c%d", i))...)
	}
	if len(out) != 2*treated {
		t.Errorf("queued %d, want %d (2 per treated contact)", len(out), 2*treated)
	}
	for _, m := range out {
		if w.onlyRun(m.ContactID, "welcome").Holdout {
			t.Errorf("holdout contact %s got %q", m.ContactID, m.Body)
		}
	}
}

func replyFlow(id, event string) string {
	return `id: ` + id + `
category: service
trigger:
  event: ` + event + `
steps:
  - id: ask
    send: "` + id + ` asks"
  - wait: {reply: true, timeout: 1d}
  - if: '!timed_out'
    then:
      - id: got
        send: "` + id + ` got {{ reply.text }}"
`
}

func TestReplyGoesToTheRunWithTheLatestOutboundMessage(t *testing.T) {
	w := newPureWorld(t, policy.Default(), replyFlow("first", "A"), replyFlow("second", "B"))
	w.identify("ana", "+1 415 555 0100")
	w.track("ana", "A", nil)
	w.track("ana", "B", nil)
	w.reply("ana", "yes")
	if f, s := w.onlyRun("ana", "first").Status, w.onlyRun("ana", "second").Status; s != smsflow.RunCompleted || f != smsflow.RunWaiting {
		t.Errorf("after one reply: first %s, second %s; want second completed and first still waiting", f, s)
	}
	if q := w.queued("ana"); q[len(q)-1].Body != "second got yes" {
		t.Errorf("last message %q", q[len(q)-1].Body)
	}
}
