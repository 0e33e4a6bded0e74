package testkit

import (
	"context"
	"strings"
	"testing"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/store"
)

// HelpText is the brand's answer to HELP in InboundOptions.
const HelpText = "Glow Beauty: help at glow.example/help or 1-800-555-0100. Msg & data rates may apply. Reply STOP to opt out."

// InboundOptions are the options of inbound texts in the tests: US
// numbers, the console provider, the default keywords, brand Glow, and
// confirmations sent.
func InboundOptions() ingest.InboundOptions {
	return ingest.InboundOptions{Region: "US", Provider: "console", Keywords: policy.DefaultKeywordConfig(),
		BrandName: "Glow", HelpText: HelpText, SendConfirmations: true}
}

// DoubleOptIn is double opt-in for brand Glow.
var DoubleOptIn = ingest.OptInOptions{DoubleOptIn: true, BrandName: "Glow"}

// Text takes an inbound text from a number, failing the test on error.
func Text(t testing.TB, db *store.DB, clock smsflow.Clock, from, body string, opt ingest.InboundOptions) ingest.InboundResult {
	t.Helper()
	res, err := ingest.Inbound(context.Background(), db, clock, from, body, opt)
	if err != nil {
		t.Fatalf("Inbound(%q): %v", body, err)
	}
	return res
}

// Outbound is a contact's outbound messages, oldest first.
func Outbound(t testing.TB, db *store.DB, contactID string) []*smsflow.Message {
	t.Helper()
	msgs, err := db.Messages(context.Background(), store.MessageFilter{ContactID: contactID})
	if err != nil {
		t.Fatal(err)
	}
	var out []*smsflow.Message
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Direction == "out" {
			out = append(out, msgs[i])
		}
	}
	return out
}

// Events is a contact's events of one name.
func Events(t testing.TB, db *store.DB, contactID, name string) []smsflow.Event {
	t.Helper()
	all, err := db.EventsByContact(context.Background(), contactID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []smsflow.Event
	for _, e := range all {
		if e.Name == name {
			out = append(out, e)
		}
	}
	return out
}

// Consent is a number's consent status and ledger.
func Consent(t testing.TB, db *store.DB, phone string) smsflow.Consent {
	t.Helper()
	c, err := db.ConsentLedger(context.Background(), phone)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// CheckConfirmationRequests checks that a contact's outbound messages are
// exactly n double opt-in confirmation requests with the CTIA content.
func CheckConfirmationRequests(t testing.TB, db *store.DB, contactID string, n int) {
	t.Helper()
	out := Outbound(t, db, contactID)
	if len(out) != n {
		t.Fatalf("%d outbound messages %+v, want %d confirmation request(s)", len(out), out, n)
	}
	for _, m := range out {
		if m.StepID != policy.DoubleOptInRequestStep || m.RunID != 0 || m.Category != "service" {
			t.Errorf("request %+v, want a run-less service message with step %s", m, policy.DoubleOptInRequestStep)
		}
		for _, want := range []string{"Glow", "Reply Y", "recurring", "Msg frequency varies", "Msg & data rates may apply", "HELP", "STOP"} {
			if !strings.Contains(m.Body, want) {
				t.Errorf("request %q lacks %q", m.Body, want)
			}
		}
	}
}
