package shopify_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// TestDoubleOptInShopify: a Shopify SMS consent goes pending with one
// request; the customers/update that repeats it asks nothing more; Y
// subscribes.
func TestDoubleOptInShopify(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newShopifyServerWith(t, db, shopifySecret, testkit.DoubleOptIn)
		const cid, bea = "shopify:7012345678955", "+12085550177"
		r := s.ok("customers/create", "wh-1", fixture(t, "customers_create_subscribed"))
		if r.Consent != smsflow.ConsentPending || r.Confirmation == nil || !r.Confirmation.Queued {
			t.Fatalf("customers/create with double opt-in: %+v (confirmation %+v)", r, r.Confirmation)
		}
		testkit.CheckConfirmationRequests(t, db, cid, 1)
		if got := testkit.Events(t, db, cid, smsflow.EventSubscribed); len(got) != 0 {
			t.Fatalf("Subscribed before Y: %+v", got)
		}
		var m map[string]any
		json.Unmarshal(fixture(t, "customers_create_subscribed"), &m)
		m["sms_marketing_consent"].(map[string]any)["consent_updated_at"] = "2026-11-28T09:45:00-05:00"
		again, _ := json.Marshal(m)
		if r := s.ok("customers/update", "wh-2", again); r.Consent != "" || !strings.Contains(r.ConsentNote, "already pending") {
			t.Errorf("repeated consent while pending: %+v", r)
		}
		testkit.CheckConfirmationRequests(t, db, cid, 1)
		if l := testkit.Consent(t, db, bea); l.Status != smsflow.ConsentPending || len(l.Ledger) != 1 || l.Ledger[0].Source != smsflow.SourceShopify {
			t.Fatalf("ledger %+v", l)
		}
		opt := testkit.InboundOptions()
		opt.DoubleOptIn = true
		in := testkit.Text(t, db, testkit.NewClock(now.Add(time.Minute)), bea, "yes", opt)
		if in.Consent != smsflow.ConsentSubscribed {
			t.Fatalf("YES: %+v", in)
		}
		l := testkit.Consent(t, db, bea)
		if last := l.Ledger[len(l.Ledger)-1]; last.Source != smsflow.SourceDoubleOptIn || last.Evidence["opt_in"].(map[string]any)["source"] != "shopify" {
			t.Errorf("confirmation entry %+v", last)
		}
		if got := testkit.Events(t, db, cid, smsflow.EventSubscribed); len(got) != 1 {
			t.Errorf("%d Subscribed events after YES, want 1", len(got))
		}
	})
}
