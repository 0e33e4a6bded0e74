package ingest_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// newInboundTexts is a subscribed contact and the inbound texts of a
// provider that confirms opt-outs itself (Twilio by default).
func newInboundTexts(t *testing.T, db *store.DB) (*ingest.InboundTexts, string) {
	t.Helper()
	clk := testkit.NewClock(time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC))
	contact := subscribe(t, db, clk, "+14155550100")
	return &ingest.InboundTexts{DB: db, Clock: clk, Log: slog.New(slog.DiscardHandler), Provider: "twilio",
		Options: ingest.InboundOptions{Region: "US", Provider: "twilio", Keywords: testkit.InboundOptions().Keywords, BrandName: "Glow", HelpText: testkit.HelpText}}, contact
}

func TestProviderInboundOnceAndWithoutTwilioConfirmation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		texts, contact := newInboundTexts(t, db)
		in := provider.Inbound{From: "+14155550100", To: "+15005550006", Body: "STOP", ProviderID: "SMin1"}
		for i := range 2 { // Twilio sends the webhook again
			stored, err := texts.Receive(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if want := i == 0; stored != want {
				t.Errorf("webhook %d: stored %v, want %v", i+1, stored, want)
			}
		}
		msgs, err := db.Messages(ctx, store.MessageFilter{ContactID: contact})
		if err != nil {
			t.Fatal(err)
		}
		var stops, replies int
		for _, m := range msgs {
			switch {
			case m.Direction == "in" && m.Body == "STOP":
				stops++
				if m.Provider != "twilio" || m.ProviderID != "SMin1" {
					t.Errorf("inbound stored as %s/%s", m.Provider, m.ProviderID)
				}
			case m.Direction == "out":
				replies++
			}
		}
		if stops != 1 || replies != 0 {
			t.Errorf("stored %d STOP texts and queued %d replies; want 1 and 0 (Twilio confirms opt-outs itself)", stops, replies)
		}
		c, err := db.ConsentLedger(ctx, "+14155550100")
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != smsflow.ConsentUnsubscribed {
			t.Errorf("consent %s after STOP", c.Status)
		}
		// A sender that is not a phone number is dropped, not retried forever.
		if stored, err := texts.Receive(ctx, provider.Inbound{From: "not a number", Body: "hi", ProviderID: "SMin2"}); err != nil || stored {
			t.Errorf("invalid sender: stored %v, %v; want false, nil (dropped)", stored, err)
		}
	})
}

// A provider id that is no id: the inbound text is kept (it may be a STOP)
// without its id, not refused with an error, which would make the provider
// retry forever.
func TestInboundProviderIDThatCannotBeStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		texts, _ := newInboundTexts(t, db)
		if stored, err := texts.Receive(ctx, provider.Inbound{From: "+14155550100", Body: "STOP\x00", ProviderID: "SM\x00x"}); err != nil || !stored {
			t.Fatalf("inbound: stored %v, %v", stored, err)
		}
		if c := testkit.Consent(t, db, "+14155550100"); c.Status != smsflow.ConsentUnsubscribed {
			t.Errorf("consent %s after STOP with a bad provider id", c.Status)
		}
	})
}
