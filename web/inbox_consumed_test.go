package web

import (
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// askFlow texts a question and waits for the answer: the answer is the
// flow's, not the inbox's.
const askFlow = `id: ask
name: Ask
category: service
trigger:
  event: Order Placed
steps:
  - id: question
    send: "Glow: how was your order? Reply 1 to 5."
  - id: answer
    wait: {reply: true, timeout: 1d}
`

// The inbox lists the replies nothing consumed (D100): a STOP (consent
// answered it) and an answer a flow's wait took are left out; a free text
// is listed, and stays listed while the others come in after it.
func TestInboxLeavesOutConsumedTexts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPeopleUI(t, db)
		cat := engine.NewCatalog(db)
		if _, problems, err := cat.Save(bg, "ask", []byte(askFlow), p.clock.Now()); err != nil {
			t.Fatalf("save: %v %v", err, problems)
		}
		if err := db.SetFlowStatus(bg, "ask", engine.FlowActive, p.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if err := cat.Load(bg); err != nil {
			t.Fatal(err)
		}
		eng := engine.New(db, cat, p.clock, slog.New(slog.DiscardHandler), engine.Config{Provider: "console", Brand: map[string]any{"name": "Glow"}})
		settle := func() {
			t.Helper()
			testkit.Settle(t, 20, eng.RunOnce)
		}
		w := testkit.NewWriter(t, db)
		testkit.Submit(t, w, testkit.Identify("bo", "", testkit.Number(t, "+14155550102"), nil), testkit.Track("bo", "", "Order Placed", nil))
		settle()
		if out := testkit.Outbound(t, db, "bo"); len(out) != 1 || out[0].StepID != "question" {
			t.Fatalf("the flow did not ask: %+v", out)
		}

		opt := testkit.InboundOptions()
		testkit.Text(t, db, p.clock, "+14155550101", "Do you ship to Canada?", opt) // free: nothing waits for ana
		testkit.Text(t, db, p.clock, "+14155550103", "STOP", opt)                   // a keyword
		testkit.Text(t, db, p.clock, "+14155550102", "5 stars, loved it", opt)      // the flow's answer
		_, body, _ := p.get(t, "/inbox")
		if !strings.Contains(body, "5 stars, loved it") {
			t.Error("before the engine took it, the answer is not listed (it is nobody's yet)")
		}
		settle()

		_, body, _ = p.get(t, "/inbox")
		if !strings.Contains(body, "Do you ship to Canada?") {
			t.Error("the inbox does not list the free reply")
		}
		if strings.Contains(body, "phone:&#43;14155550103") {
			t.Error("the inbox lists a STOP")
		}
		if strings.Contains(body, "5 stars") || strings.Contains(body, `href="/inbox/bo"`) {
			t.Error("the inbox lists the answer the flow's wait consumed")
		}
		got := must(db.Replies(bg, 10))(t)
		if len(got) != 1 || got[0].Body != "Do you ship to Canada?" {
			t.Errorf("Replies = %d texts, want the free one", len(got))
		}
		// The thread still shows every text both ways, and says what took
		// the ones the inbox leaves out.
		_, body, _ = p.get(t, "/inbox/bo")
		if !strings.Contains(body, "5 stars, loved it") {
			t.Error("the conversation page lost the consumed answer")
		}
		if !strings.Contains(body, "taken by flow ask (step answer)") {
			t.Errorf("the thread does not say the flow's wait took the answer:\n%s", body)
		}
		if _, body, _ = p.get(t, "/inbox/"+url.PathEscape("phone:+14155550103")); !strings.Contains(body, "answered as the STOP keyword") {
			t.Errorf("the thread does not say the STOP keyword took the text:\n%s", body)
		}
		if _, body, _ = p.get(t, "/inbox/"+url.PathEscape(got[0].ContactID)); !strings.Contains(body, "Do you ship to Canada?") || strings.Contains(body, `class="consumed"`) {
			t.Errorf("the free text's thread: missing, or the text said to be taken:\n%s", body)
		}
	})
}
