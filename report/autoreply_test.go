package report

import (
	"context"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// TestAutomaticRepliesTakeNoAttribution: a STOP's confirmation (and a HELP
// answer) is queued at the very instant of the text it answers, so the
// "last message received before" an opt-out or a reply used to be that
// automatic reply — which belongs to no run — and the flow's opt-out and
// reply went uncounted. Replies and opt-outs are attributed to the last
// flow message the number received.
func TestAutomaticRepliesTakeNoAttribution(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, _, err := db.SaveFlow(ctx, "cart", "h1", cartFlow, "cart.yaml", "file", "active", histFrom); err != nil {
			t.Fatal(err)
		}
		entered := histFrom.Add(time.Hour)
		nudge, help, stop := entered.Add(time.Minute), entered.Add(10*time.Minute), entered.Add(20*time.Minute)
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			b := &builder{tx: tx}
			phone := b.contact("ana")
			b.consent(phone, "ana", smsflow.ConsentSubscribed, smsflow.SourceWebForm, histFrom)
			run := b.run("cart", "ana", entered, false, "", smsflow.RunExited, "opt_out", time.Time{}, 0)
			b.message(run, "cart", "nudge", "ana", phone, smsflow.MessageDelivered, "p1", 1, nudge)
			// HELP, answered at once; then STOP, confirmed at once.
			b.inbound("ana", phone, help)
			b.message(0, "", "keyword:help", "ana", phone, smsflow.MessageDelivered, "p2", 1, help)
			b.consent(phone, "ana", smsflow.ConsentUnsubscribed, smsflow.SourceKeyword, stop)
			b.inbound("ana", phone, stop)
			b.message(0, "", "keyword:stop", "ana", phone, smsflow.MessageDelivered, "p3", 1, stop)
			return b.err
		})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Flow(ctx, db, "cart", histFrom, histTo, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Steps) == 0 || rep.Steps[0].StepID != "nudge" {
			t.Fatalf("steps %+v", rep.Steps)
		}
		if s := rep.Steps[0]; s.OptOuts != 1 || s.Replies != 1 {
			t.Errorf("nudge: %d opt-outs and %d replied messages, want 1 and 1 (the STOP and the texts after the nudge)", s.OptOuts, s.Replies)
		}
		prog, err := Program(ctx, db, histFrom, histTo)
		if err != nil {
			t.Fatal(err)
		}
		var got int64 = -1
		for _, f := range prog.Flows {
			if f.FlowID == "cart" {
				got = f.OptOuts
			}
		}
		if got != 1 {
			t.Errorf("program report: cart opt-outs %d, want 1 (flows %+v)", got, prog.Flows)
		}
	})
}
