package engine_test

import (
	"testing"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

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
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, replyFlow("first", "A"), replyFlow("second", "B"))
		w.identify("ana", "+1 415 555 0100")
		w.track("ana", "A", nil)
		w.track("ana", "B", nil)
		if _, err := ingest.Inbound(ctx, db, w.clock, "+14155550100", "yes", ingest.InboundOptions{Region: "US", Provider: "console"}); err != nil {
			t.Fatal(err)
		}
		w.settle()
		runs, _ := db.RunsByContact(ctx, "ana", false)
		status := map[string]string{}
		for _, r := range runs {
			status[r.FlowID] = r.Status
		}
		if status["second"] != smsflow.RunCompleted || status["first"] != smsflow.RunWaiting {
			t.Errorf("after one reply: %v, want second completed and first still waiting", status)
		}
		last := w.cons.Recent()[len(w.cons.Recent())-1]
		if last.Body != "second got yes" {
			t.Errorf("last message %q", last.Body)
		}
	})
}
