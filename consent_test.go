package smsflow_test

import (
	"testing"
	"time"

	"github.com/smsflow/smsflow"
)

// TestCheckConsentChange is the ledger's rule as a table: after an
// unsubscribe of any source, only a newer opt-in resubscribes — recorded
// after it (every case here is), claiming a time no earlier than the
// opt-out's recording, and carrying evidence; imports, Shopify and the
// carrier never do.
func TestCheckConsentChange(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	ev := map[string]any{"url": "https://glow.example/join", "ip": "203.0.113.9"}
	text := map[string]any{"keyword": "START", "body": "start", "message_id": 7}
	optOut := func(src smsflow.ConsentSource, claimed, recorded time.Time) *smsflow.ConsentEntry {
		return &smsflow.ConsentEntry{ID: 10, Status: smsflow.ConsentUnsubscribed, Source: src, OccurredAt: claimed, RecordedAt: recorded}
	}
	optIn := func(status smsflow.ConsentStatus, src smsflow.ConsentSource, evidence map[string]any, claimed time.Time) smsflow.ConsentEntry {
		return smsflow.ConsentEntry{Status: status, Source: src, Evidence: evidence, OccurredAt: claimed, RecordedAt: t0.Add(time.Hour)}
	}
	later := t0.Add(time.Minute)
	for _, c := range []struct {
		name   string
		latest *smsflow.ConsentEntry
		next   smsflow.ConsentEntry
		ok     bool
	}{
		{"empty ledger", nil, optIn(smsflow.ConsentSubscribed, smsflow.SourceAPI, nil, t0), true},
		{"after an opt-in anything goes", &smsflow.ConsentEntry{Status: smsflow.ConsentSubscribed, Source: smsflow.SourceWebForm, RecordedAt: t0},
			optIn(smsflow.ConsentSubscribed, smsflow.SourceImport, nil, t0.Add(-time.Hour)), true},
		{"after pending anything goes", &smsflow.ConsentEntry{Status: smsflow.ConsentPending, Source: smsflow.SourceKeyword, RecordedAt: t0},
			optIn(smsflow.ConsentSubscribed, smsflow.SourceAPI, nil, t0), true},
		{"an opt-out after an opt-out", optOut(smsflow.SourceKeyword, t0, t0), optIn(smsflow.ConsentUnsubscribed, smsflow.SourceImport, nil, t0.Add(-time.Hour)), true},

		// The number's own texts carry the text as evidence.
		{"START after STOP", optOut(smsflow.SourceKeyword, t0, t0), optIn(smsflow.ConsentSubscribed, smsflow.SourceKeyword, text, later), true},
		{"START in the STOP's instant, recorded after it", optOut(smsflow.SourceKeyword, t0, t0), optIn(smsflow.ConsentSubscribed, smsflow.SourceKeyword, text, t0), true},
		{"JOIN (double opt-in) after STOP", optOut(smsflow.SourceKeyword, t0, t0), optIn(smsflow.ConsentPending, smsflow.SourceKeyword, text, later), true},
		{"Y confirming after a carrier opt-out", optOut(smsflow.SourceCarrier, t0, t0), optIn(smsflow.ConsentSubscribed, smsflow.SourceDoubleOptIn, text, later), true},
		{"a keyword opt-in reported without the text", optOut(smsflow.SourceKeyword, t0, t0), optIn(smsflow.ConsentSubscribed, smsflow.SourceKeyword, nil, later), false},
		{"a keyword opt-in received before the STOP was recorded", optOut(smsflow.SourceKeyword, t0, t0), optIn(smsflow.ConsentSubscribed, smsflow.SourceKeyword, text, t0.Add(-time.Second)), false},

		// Opt-ins from elsewhere need evidence and a newer claim.
		{"web form with evidence after STOP", optOut(smsflow.SourceKeyword, t0, t0), optIn(smsflow.ConsentSubscribed, smsflow.SourceWebForm, ev, later), true},
		{"checkout pending with evidence after STOP", optOut(smsflow.SourceKeyword, t0, t0), optIn(smsflow.ConsentPending, smsflow.SourceCheckout, ev, later), true},
		{"web form without evidence after STOP", optOut(smsflow.SourceKeyword, t0, t0), optIn(smsflow.ConsentSubscribed, smsflow.SourceWebForm, nil, later), false},
		{"API without evidence after STOP", optOut(smsflow.SourceKeyword, t0, t0), optIn(smsflow.ConsentSubscribed, smsflow.SourceAPI, nil, later), false},
		{"web form dated before the STOP, delivered after it", optOut(smsflow.SourceKeyword, t0, t0), optIn(smsflow.ConsentSubscribed, smsflow.SourceWebForm, ev, t0.Add(-time.Minute)), false},
		{"web form dated between a back-dated opt-out's claim and its recording", optOut(smsflow.SourceAPI, t0.Add(-48*time.Hour), t0),
			optIn(smsflow.ConsentSubscribed, smsflow.SourceWebForm, ev, t0.Add(-24*time.Hour)), false},

		// Every unsubscribe is protected, not only STOP and the carrier.
		{"API opt-in without evidence after an API opt-out", optOut(smsflow.SourceAPI, t0, t0), optIn(smsflow.ConsentSubscribed, smsflow.SourceAPI, nil, later), false},
		{"API opt-in with evidence after an API opt-out", optOut(smsflow.SourceAPI, t0, t0), optIn(smsflow.ConsentSubscribed, smsflow.SourceAPI, ev, later), true},
		{"web form after an import opt-out", optOut(smsflow.SourceImport, t0, t0), optIn(smsflow.ConsentSubscribed, smsflow.SourceWebForm, ev, later), true},
		{"API without evidence after a Shopify opt-out", optOut(smsflow.SourceShopify, t0, t0), optIn(smsflow.ConsentSubscribed, smsflow.SourceAPI, nil, later), false},

		// Never resubscribe.
		{"import after STOP", optOut(smsflow.SourceKeyword, t0, t0), optIn(smsflow.ConsentSubscribed, smsflow.SourceImport, ev, later), false},
		{"import after an API opt-out", optOut(smsflow.SourceAPI, t0, t0), optIn(smsflow.ConsentSubscribed, smsflow.SourceImport, ev, later), false},
		{"Shopify after STOP", optOut(smsflow.SourceKeyword, t0, t0), optIn(smsflow.ConsentSubscribed, smsflow.SourceShopify, ev, later), false},
		{"carrier opt-in after STOP", optOut(smsflow.SourceKeyword, t0, t0), optIn(smsflow.ConsentSubscribed, smsflow.SourceCarrier, ev, later), false},
		{"import pending after STOP", optOut(smsflow.SourceKeyword, t0, t0), optIn(smsflow.ConsentPending, smsflow.SourceImport, ev, later), false},
	} {
		err := smsflow.CheckConsentChange(c.latest, c.next)
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v, want ok=%v", c.name, err, c.ok)
		}
		if err != nil && smsflow.ErrorCode(err) != smsflow.ECONFLICT {
			t.Errorf("%s: code %s, want conflict", c.name, smsflow.ErrorCode(err))
		}
	}
}

func TestClampClaimedTime(t *testing.T) {
	recorded := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name    string
		claimed time.Time
		clamped bool
	}{
		{"in the past", recorded.Add(-time.Hour), false},
		{"the instant of receipt", recorded, false},
		{"a microsecond ahead", recorded.Add(time.Microsecond), true},
		{"4 minutes ahead", recorded.Add(4 * time.Minute), true},
		{"2099", time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC), true},
	} {
		caller := map[string]any{"url": "https://glow.example/join"}
		e := smsflow.ConsentEntry{Status: smsflow.ConsentSubscribed, Evidence: caller, OccurredAt: c.claimed, RecordedAt: recorded}
		e.ClampClaimedTime()
		if len(caller) != 1 {
			t.Errorf("%s: the caller's evidence map was changed: %v", c.name, caller)
		}
		if !c.clamped {
			if !e.OccurredAt.Equal(c.claimed) || len(e.Evidence) != 1 {
				t.Errorf("%s: changed to %s %v", c.name, e.OccurredAt, e.Evidence)
			}
			continue
		}
		if !e.OccurredAt.Equal(recorded) || e.Evidence[smsflow.EvidenceTimestampClamped] != true ||
			e.Evidence[smsflow.EvidenceClaimedTimestamp] != c.claimed.Format(time.RFC3339Nano) || e.Evidence["url"] != "https://glow.example/join" {
			t.Errorf("%s: %s %v, want clamped to %s with the claim in the evidence", c.name, e.OccurredAt, e.Evidence, recorded)
		}
	}
}

// TestDeriveConsent: the status is the last recorded entry's, whatever the
// entries claim.
func TestDeriveConsent(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	if got := smsflow.DeriveConsent(nil); got != smsflow.ConsentNone {
		t.Errorf("empty ledger: %s", got)
	}
	ledger := []smsflow.ConsentEntry{
		{ID: 1, Status: smsflow.ConsentSubscribed, OccurredAt: time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC), RecordedAt: t0},
		{ID: 2, Status: smsflow.ConsentUnsubscribed, OccurredAt: t0.Add(time.Minute), RecordedAt: t0.Add(time.Minute)},
	}
	if got := smsflow.DeriveConsent(ledger); got != smsflow.ConsentUnsubscribed {
		t.Errorf("STOP recorded after an opt-in dated 2099: %s, want unsubscribed", got)
	}
}
