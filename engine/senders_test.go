package engine_test

import (
	"strings"
	"testing"

	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

const fromFlow = `id: senders
name: Senders
category: service
trigger:
  event: Order Shipped
steps:
  - id: plain
    send: "Your order is on its way."
  - id: short
    send:
      from: "55555"
      template: "Track it with our short code."
  - id: named-default
    send:
      from: "+1 500 555 0006"
      template: "From the default, named."
  - id: gone
    send:
      from: "+15005550099"
      template: "From a sender removed since."
`

// TestSendStepFromChoosesTheSender: a send step's from: queues its message
// for that sender (the default when it names the default, or names a sender
// no longer configured — said in the decision), and the sender sends each
// from its address.
func TestSendStepFromChoosesTheSender(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		configured := map[string]string{"+15005550006": "", "55555": "55555"} // the default, another
		senderOf := func(from string) (string, bool) {
			from = strings.ReplaceAll(from, " ", "")
			s, ok := configured[from]
			return s, ok
		}
		w := newWorldWith(t, db, engine.Config{SenderOf: senderOf}, fromFlow)
		w.sender.Addresses = []delivery.Address{{From: "+15005550006"}, {From: "55555"}}
		w.identify("ana", "+14155550100")
		w.track("ana", "Order Shipped", nil)
		got := map[string]string{}
		for _, m := range w.cons.Recent() {
			got[m.StepID] = m.Sender
		}
		want := map[string]string{"plain": "+15005550006", "short": "55555", "named-default": "+15005550006", "gone": "+15005550006"}
		for step, s := range want {
			if got[step] != s {
				t.Errorf("step %s went from %q, want %q (all: %v)", step, got[step], s, got)
			}
		}
		msgs, err := db.Messages(ctx, store.MessageFilter{ContactID: "ana"})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.Direction == "out" && m.Sender != want[m.StepID] {
				t.Errorf("message of step %s records sender %q, want %q", m.StepID, m.Sender, want[m.StepID])
			}
		}
		ds, err := db.Decisions(ctx, "ana", 100)
		if err != nil {
			t.Fatal(err)
		}
		noted := false
		for _, d := range ds {
			if d.StepID == "gone" && strings.Contains(d.Detail, "+15005550099 is not a configured sender") {
				noted = true
			}
			if d.StepID != "gone" && strings.Contains(d.Detail, "sender") {
				t.Errorf("step %s's decision mentions a sender: %q", d.StepID, d.Detail)
			}
		}
		if !noted {
			t.Errorf("the decision of the step naming a removed sender does not say so: %+v", ds)
		}
	})
}
