package report_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/provider/console"
	"github.com/smsflow/smsflow/report"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// liftFlow holds out half of its entries; the test makes the message work:
// treated contacts convert with probability pTreated, holdout contacts with
// pControl.
const liftFlow = `id: lift
name: Known effect
category: behavior
trigger:
  event: Checkout Started
entry:
  holdout: 50%
goal:
  event: Order Completed
  within: 5d
  value: 'double(event.properties.revenue)'
steps:
  - id: nudge
    send: "Your cart is waiting"
`

// aaFlow splits 50/50 into two arms that send the same kind of message; the
// test gives both arms the same conversion probability (an A/A test).
const aaFlow = `id: aa
name: A/A split
category: behavior
trigger:
  event: Trial Started
goal:
  event: Plan Purchased
  within: 5d
steps:
  - split:
      - variant: A
        weight: 50
        then:
          - id: tip-a
            send: "Tip of the day"
      - variant: B
        weight: 50
        then:
          - id: tip-b
            send: "Tip of the day!"
`

const (
	effectContacts = 400 // per flow
	pTreated       = 0.30
	pControl       = 0.10
	pAA            = 0.20
)

// TestReportFindsKnownEffect runs the real engine (the one `smsflow
// simulate` runs: catalog, entry rules with holdout and split, console
// provider) on both databases, with conversions drawn from a seeded RNG after
// the engine has assigned each contact: the flow with an effect must show a
// lift whose 95% interval excludes zero, and the A/A split must show neither
// a significant p-value nor an interval without zero.
func TestReportFindsKnownEffect(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		start := time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC)
		clk := testkit.NewClock(start)
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		cat := engine.NewCatalog(db)
		for id, src := range map[string]string{"lift": liftFlow, "aa": aaFlow} {
			if _, problems, err := cat.Save(ctx, id, []byte(src), start); err != nil {
				t.Fatalf("save %s: %v %v", id, err, problems)
			}
			if err := db.SetFlowStatus(ctx, id, engine.FlowActive, start); err != nil {
				t.Fatal(err)
			}
		}
		if err := cat.Load(ctx); err != nil {
			t.Fatal(err)
		}
		eng := engine.New(db, cat, clk, log, engine.Config{Brand: map[string]any{"name": "Glow"},
			PublicURL: "https://sms.glow.example", Provider: "console"})
		sender := delivery.NewSender(db, console.New(log), clk, log)
		writer := ingest.NewWriter(db, clk, log)
		writer.Start()
		defer writer.Stop()
		settle := func() {
			t.Helper()
			testkit.Settle(t, 10_000, eng.RunOnce, func(ctx context.Context) (int, error) { return sender.SendOnce(ctx, delivery.SendBatch) })
		}
		seq := 0
		submit := func(items []*ingest.Item) {
			t.Helper()
			res, err := writer.Submit(ctx, items)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				if r.Err != nil {
					t.Fatal(r.Err)
				}
			}
		}
		track := func(user, name string, props map[string]any) *ingest.Item {
			seq++
			return &ingest.Item{Type: smsflow.EventTrack, MessageID: fmt.Sprintf("t%d", seq), UserID: user, Name: name,
				Properties: props, Timestamp: clk.Now(), ReceivedAt: clk.Now()}
		}

		// Contacts l000…l399 (lift flow) and a000…a399 (A/A flow), subscribed.
		var ids []string
		var items []*ingest.Item
		for i := range 2 * effectContacts {
			id := fmt.Sprintf("l%03d", i)
			if i >= effectContacts {
				id = fmt.Sprintf("a%03d", i-effectContacts)
			}
			n, err := phone.Parse(fmt.Sprintf("+1 415 555 %04d", 1000+i), "US")
			if err != nil {
				t.Fatal(err)
			}
			seq++
			items = append(items, &ingest.Item{Type: smsflow.EventIdentify, MessageID: fmt.Sprintf("i%d", seq), UserID: id, Phone: &n,
				Timestamp: clk.Now(), ReceivedAt: clk.Now()})
			ids = append(ids, id)
		}
		submit(items)
		settle()
		for _, id := range ids {
			if _, err := ingest.RecordConsent(ctx, db, clk, id, ingest.ConsentChange{Status: smsflow.ConsentSubscribed,
				Source: smsflow.SourceWebForm, Evidence: map[string]any{"url": "https://glow.example/join"}}, ingest.OptInOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		settle()

		// Everyone enters its flow; the engine assigns holdout and variants.
		clk.Set(start.Add(time.Minute))
		items = items[:0]
		for _, id := range ids {
			if id[0] == 'l' {
				items = append(items, track(id, "Checkout Started", nil))
			} else {
				items = append(items, track(id, "Trial Started", nil))
			}
		}
		submit(items)
		settle()

		// An hour later, conversions as the engine's assignment dictates:
		// the draw is made for every contact in order, so it does not depend
		// on who was held out.
		clk.Set(start.Add(time.Hour))
		rng := rand.New(rand.NewPCG(7, 2026))
		items = items[:0]
		for _, id := range ids {
			u := rng.Float64()
			runs, err := db.RunsByContact(ctx, id, false)
			if err != nil || len(runs) != 1 {
				t.Fatalf("runs of %s: %v %+v", id, err, runs)
			}
			switch {
			case id[0] == 'l' && runs[0].Holdout && u < pControl,
				id[0] == 'l' && !runs[0].Holdout && u < pTreated:
				items = append(items, track(id, "Order Completed", map[string]any{"revenue": 50.0}))
			case id[0] == 'a' && u < pAA:
				items = append(items, track(id, "Plan Purchased", nil))
			}
		}
		submit(items)
		settle()

		from, to := start.Add(-time.Hour), start.Add(24*time.Hour)

		// The flow with an effect: lift whose interval excludes zero.
		rep, err := report.Flow(ctx, db, "lift", from, to, report.Options{})
		if err != nil {
			t.Fatal(err)
		}
		l := rep.Lift
		t.Logf("lift: treatment %d/%d, control %d/%d, absolute %v, ci95 %v, p %v", l.Treatment.Conversions, l.Treatment.Entered,
			l.Control.Conversions, l.Control.Entered, deref(l.Absolute), l.CI95, deref(l.PValue))
		if rep.Totals.Entered != effectContacts || l.Treatment.Entered+l.Control.Entered != effectContacts {
			t.Fatalf("entered %d (treatment %d, control %d), want %d", rep.Totals.Entered, l.Treatment.Entered, l.Control.Entered, effectContacts)
		}
		if l.Control.Entered < effectContacts/3 || l.Treatment.Entered < effectContacts/3 {
			t.Fatalf("holdout of 50%% gave treatment %d, control %d", l.Treatment.Entered, l.Control.Entered)
		}
		if !l.Enough || len(l.CI95) != 2 || l.PValue == nil || l.Absolute == nil {
			t.Fatalf("lift not computed: %+v", l.Comparison)
		}
		if l.CI95[0] <= 0 || !(l.CI95[0] < *l.Absolute && *l.Absolute < l.CI95[1]) {
			t.Errorf("lift %v, ci95 %v: the interval must exclude zero and contain the estimate", *l.Absolute, l.CI95)
		}
		if *l.PValue >= 0.05 {
			t.Errorf("lift p = %v, want < 0.05", *l.PValue)
		}
		if d := *l.Absolute - (pTreated - pControl); d < -0.12 || d > 0.12 {
			t.Errorf("lift %v, far from the true effect %v", *l.Absolute, pTreated-pControl)
		}
		if l.Treatment.Revenue != 50*float64(l.Treatment.Conversions) || rep.Totals.Conversions != l.Treatment.Conversions+l.Control.Conversions {
			t.Errorf("revenue %v for %d conversions; totals %d", l.Treatment.Revenue, l.Treatment.Conversions, rep.Totals.Conversions)
		}
		if len(rep.Steps) != 1 || rep.Steps[0].StepID != "nudge" || rep.Steps[0].Entered != l.Treatment.Entered ||
			rep.Steps[0].Sent != l.Treatment.Entered || rep.Steps[0].Conversions != l.Treatment.Conversions {
			t.Errorf("steps %+v (treatment %d, %d conversions)", rep.Steps, l.Treatment.Entered, l.Treatment.Conversions)
		}

		// The A/A split: no significant difference, an interval around zero.
		rep, err = report.Flow(ctx, db, "aa", from, to, report.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Variants) != 2 || rep.Variants[0].Name != "A" || rep.Variants[1].Name != "B" {
			t.Fatalf("variants %+v", rep.Variants)
		}
		a, b := rep.Variants[0], rep.Variants[1]
		c := report.Compare(b.Conversions, b.Entered, a.Conversions, a.Entered)
		t.Logf("A/A: A %d/%d, B %d/%d, p %v, ci95 %v", a.Conversions, a.Entered, b.Conversions, b.Entered, deref(b.PValue), c.CI95)
		if a.Entered+b.Entered != effectContacts || a.Entered < effectContacts/3 || b.Entered < effectContacts/3 {
			t.Fatalf("split 50/50 gave A %d, B %d", a.Entered, b.Entered)
		}
		if b.PValue == nil || *b.PValue < 0.05 {
			t.Errorf("A/A p-value %v, want ≥ 0.05 (no difference)", deref(b.PValue))
		}
		if !c.Enough || !(c.CI95[0] < 0 && 0 < c.CI95[1]) {
			t.Errorf("A/A interval %v (%s) must contain zero", c.CI95, c.Note)
		}
		if c.PValue == nil || *c.PValue != *b.PValue {
			t.Errorf("A/A: Compare p %v, report p %v", deref(c.PValue), deref(b.PValue))
		}
		if rep.Lift.Enough || rep.Lift.Control.Entered != 0 {
			t.Errorf("A/A flow has no holdout: lift %+v", rep.Lift)
		}
	})
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
