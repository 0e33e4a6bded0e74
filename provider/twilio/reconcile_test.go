package twilio_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
)

// Reconcile reads the number's messages through the list API (the fake
// speaks it as Twilio does, paged, newest first) and returns those with
// the message's body since the given time.
func TestReconcileListsTheNumbersMessages(t *testing.T) {
	f := newFakeTwilio(t)
	tw := newTestTwilio(t, testConfig(f.URL()), f.Client())
	ctx := context.Background()
	before := time.Now().Add(-time.Minute)
	// Enough other texts to the same number to need several pages.
	for i := range 250 {
		if _, err := tw.Send(ctx, msg(fmt.Sprintf("other %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	sent, err := tw.Send(ctx, msg("the one"))
	if err != nil {
		t.Fatal(err)
	}
	other := &smsflow.Message{ID: 43, Phone: "+14155550199", Body: "the one"}
	if _, err := tw.Send(ctx, other); err != nil {
		t.Fatal(err)
	}

	got, err := tw.Reconcile(ctx, msg("the one"), before)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Candidates) != 1 || got.Candidates[0].ProviderID != sent.ProviderID || got.Candidates[0].Status != smsflow.MessageSent || got.Unclear {
		t.Errorf("reconcile = %+v, want the one message %s to this number", got, sent.ProviderID)
	}
	// Further back than the list was read: not found.
	if got, err := tw.Reconcile(ctx, msg("never sent"), before); err != nil || len(got.Candidates) != 0 || got.Unclear {
		t.Errorf("a body never sent: %+v, %v; want no candidate", got, err)
	}
	// The same body twice: both are candidates (the caller leaves it unknown).
	if _, err := tw.Send(ctx, msg("the one")); err != nil {
		t.Fatal(err)
	}
	if got, err := tw.Reconcile(ctx, msg("the one"), before); err != nil || len(got.Candidates) != 2 {
		t.Errorf("sent twice: %+v, %v; want two candidates", got, err)
	}
	// Only what was created since counts.
	if got, err := tw.Reconcile(ctx, msg("the one"), time.Now().Add(time.Minute)); err != nil || len(got.Candidates) != 0 {
		t.Errorf("since later: %+v, %v; want none", got, err)
	}
}
