package shopify_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// TestDoubleOptInShopify: a Shopify SMS consent goes pending with one
// request; the customers/update that repeats it asks nothing more; Y
// subscribes.
func TestDoubleOptInShopify(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newShopifyServerWith(t, db, shopifySecret, doubleOptIn)
		const cid, bea = "shopify:7012345678955", "+12085550177"
		r := s.ok("customers/create", "wh-1", fixture(t, "customers_create_subscribed"))
		if r.Consent != smsflow.ConsentPending || r.Confirmation == nil || !r.Confirmation.Queued {
			t.Fatalf("customers/create with double opt-in: %+v (confirmation %+v)", r, r.Confirmation)
		}
		checkConfirmationRequest(t, db, cid, 1)
		if got := events(t, db, cid, smsflow.EventSubscribed); len(got) != 0 {
			t.Fatalf("Subscribed before Y: %+v", got)
		}
		var m map[string]any
		json.Unmarshal(fixture(t, "customers_create_subscribed"), &m)
		m["sms_marketing_consent"].(map[string]any)["consent_updated_at"] = "2026-11-28T09:45:00-05:00"
		again, _ := json.Marshal(m)
		if r := s.ok("customers/update", "wh-2", again); r.Consent != "" || !strings.Contains(r.ConsentNote, "already pending") {
			t.Errorf("repeated consent while pending: %+v", r)
		}
		checkConfirmationRequest(t, db, cid, 1)
		if l := ledger(t, db, bea); l.Status != smsflow.ConsentPending || len(l.Ledger) != 1 || l.Ledger[0].Source != smsflow.SourceShopify {
			t.Fatalf("ledger %+v", l)
		}
		opt := inboundOpts()
		opt.DoubleOptIn = true
		in := text(t, db, &movingClock{t: now.Add(time.Minute)}, bea, "yes", opt)
		if in.Consent != smsflow.ConsentSubscribed {
			t.Fatalf("YES: %+v", in)
		}
		l := ledger(t, db, bea)
		if last := l.Ledger[len(l.Ledger)-1]; last.Source != smsflow.SourceDoubleOptIn || last.Evidence["opt_in"].(map[string]any)["source"] != "shopify" {
			t.Errorf("confirmation entry %+v", last)
		}
		if got := events(t, db, cid, smsflow.EventSubscribed); len(got) != 1 {
			t.Errorf("%d Subscribed events after YES, want 1", len(got))
		}
	})
}

var doubleOptIn = ingest.OptInOptions{DoubleOptIn: true, BrandName: "Glow"}

// checkConfirmationRequest checks that a contact got n double opt-in
// confirmation requests and nothing else.
func checkConfirmationRequest(t *testing.T, db *store.DB, contactID string, n int) {
	t.Helper()
	out := outbound(t, db, contactID)
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

func outbound(t *testing.T, db *store.DB, contactID string) []*smsflow.Message {
	t.Helper()
	msgs, err := db.Messages(ctx, store.MessageFilter{ContactID: contactID})
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

type movingClock struct{ t time.Time }

func (c *movingClock) Now() time.Time { return c.t }

const helpText = "Glow Beauty: help at glow.example/help or 1-800-555-0100. Msg & data rates may apply. Reply STOP to opt out."

func inboundOpts() ingest.InboundOptions {
	return ingest.InboundOptions{Region: "US", Provider: "console", Keywords: policy.DefaultKeywordConfig(),
		BrandName: "Glow", HelpText: helpText, SendConfirmations: true}
}

// text sends an inbound text and fails the test on error.
func text(t *testing.T, db *store.DB, clk *movingClock, from, body string, opt ingest.InboundOptions) ingest.InboundResult {
	t.Helper()
	res, err := ingest.Inbound(ctx, db, clk, from, body, opt)
	if err != nil {
		t.Fatalf("Inbound(%q): %v", body, err)
	}
	return res
}
