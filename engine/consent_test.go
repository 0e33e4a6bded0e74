package engine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

const consentWelcomeFlow = `id: welcome
category: lifecycle
trigger:
  consent: subscribed
steps:
  - id: hello
    send: "Welcome to {{ brand.name }}!"
`

const consentSaleFlow = `id: sale
category: promo
trigger:
  event: Sale Started
steps:
  - id: announce
    send: "{{ brand.name }} flash sale: 20% off today only."
`

// sentSteps lists, per contact, the step of every message the provider got.
func sentSteps(w *world) map[string][]string {
	out := map[string][]string{}
	for _, m := range w.cons.Recent() {
		out[m.ContactID] = append(out[m.ContactID], m.StepID)
	}
	return out
}

// TestFutureDatedOptInSendsNothingAfterStop: an API opt-in dated 4 minutes
// ahead and an import dated 2099 must not keep marketing going after the
// number's STOP a minute later.
func TestFutureDatedOptInSendsNothingAfterStop(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, consentWelcomeFlow, consentSaleFlow)
		w.identify("ana", "+1 415 555 0181")
		if _, err := ingest.RecordConsent(ctx, db, w.clock, "ana", ingest.ConsentChange{Status: smsflow.ConsentSubscribed, Source: smsflow.SourceWebForm,
			Evidence: map[string]any{"url": "https://glow.example/join"}, Timestamp: w.clock.Now().Add(4 * time.Minute)}, ingest.OptInOptions{}); err != nil {
			t.Fatal(err)
		}
		im := &ingest.Importer{DB: db, Clock: w.clock, Region: "US"}
		if sum, err := im.Import(ctx, strings.NewReader("phone,id,consent,consent_timestamp\n415 555 0182,bea,subscribed,2099-12-31T23:59:59Z\n"), "csv"); err != nil || sum.Imported != 1 {
			t.Fatalf("import %+v %v", sum, err)
		}
		w.settle()
		w.clock.Add(time.Minute)
		opts := ingest.InboundOptions{Region: "US", Provider: "console", Keywords: policy.DefaultKeywordConfig(), BrandName: "Glow", SendConfirmations: true}
		for _, ph := range []string{"+1 415 555 0181", "+1 415 555 0182"} {
			if _, err := ingest.Inbound(ctx, db, w.clock, ph, "STOP", opts); err != nil {
				t.Fatal(err)
			}
		}
		w.settle()
		w.clock.Add(time.Minute)
		w.track("ana", "Sale Started", nil)
		w.track("bea", "Sale Started", nil)
		w.advance(time.Hour)
		got := sentSteps(w)
		for id, want := range map[string]string{"ana": "hello,keyword:stop", "bea": "keyword:stop"} {
			if s := strings.Join(got[id], ","); s != want {
				t.Errorf("%s got %s, want %s (nothing after the STOP but its confirmation)", id, s, want)
			}
		}
	})
}

// TestDoubleOptInWelcomeWaitsForY: with double_opt_in, a web-form opt-in
// through the API sends the confirmation request only; the welcome flow
// starts when the number answers Y.
func TestDoubleOptInWelcomeWaitsForY(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, consentWelcomeFlow)
		w.identify("ana", "+1 415 555 0183")
		res, err := ingest.RecordConsent(ctx, db, w.clock, "ana", ingest.ConsentChange{Status: smsflow.ConsentSubscribed, Source: smsflow.SourceWebForm,
			Evidence: map[string]any{"url": "https://glow.example/join"}}, ingest.OptInOptions{DoubleOptIn: true, BrandName: "Glow"})
		if err != nil || res.Status != smsflow.ConsentPending {
			t.Fatalf("opt-in: %+v %v", res, err)
		}
		w.settle()
		w.advance(time.Hour)
		if s := strings.Join(sentSteps(w)["ana"], ","); s != policy.DoubleOptInRequestStep {
			t.Fatalf("before Y the number got %s, want only %s", s, policy.DoubleOptInRequestStep)
		}
		opts := ingest.InboundOptions{Region: "US", Provider: "console", Keywords: policy.DefaultKeywordConfig(), DoubleOptIn: true, BrandName: "Glow", SendConfirmations: true}
		if _, err := ingest.Inbound(ctx, db, w.clock, "+1 415 555 0183", "Y", opts); err != nil {
			t.Fatal(err)
		}
		w.settle()
		if s := strings.Join(sentSteps(w)["ana"], ","); s != policy.DoubleOptInRequestStep+",keyword:confirm,hello" {
			t.Errorf("after Y the number got %s, want the request, the confirmation, then the welcome", s)
		}
	})
}
