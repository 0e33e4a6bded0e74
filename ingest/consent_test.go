package ingest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// TestFutureDatedOptInsLoseToStop is issue 16's first finding end to end:
// an import row dated 2099-12-31 or 10 minutes ahead, and an API opt-in 4
// minutes ahead (accepted), each followed a minute later by a STOP. The STOP
// was recorded last, so it decides: the number is unsubscribed, and the
// opt-ins' claims are kept as evidence, clamped to their receipt.
func TestFutureDatedOptInsLoseToStop(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := testkit.NewClock(now)
		csv := "phone,id,consent,consent_timestamp\n" +
			"415 555 0141,ana,subscribed,2099-12-31T23:59:59Z\n" +
			"415 555 0142,bea,subscribed," + now.Add(10*time.Minute).Format(time.RFC3339) + "\n"
		im := &ingest.Importer{DB: db, Clock: clk, Region: "US"}
		sum, err := im.Import(ctx, strings.NewReader(csv), "csv")
		if err != nil || sum.Imported != 2 || len(sum.Rejected)+len(sum.ConsentRefused) != 0 {
			t.Fatalf("import: %+v %v", sum, err)
		}
		w := testkit.NewWriter(t, db)
		testkit.Submit(t, w, testkit.Identify("cy", "", testkit.Number(t, "415 555 0143"), nil))
		res, err := ingest.RecordConsent(ctx, db, clk, "cy", ingest.ConsentChange{Status: smsflow.ConsentSubscribed, Source: smsflow.SourceWebForm,
			Evidence: map[string]any{"url": "https://glow.example/join"}, Timestamp: now.Add(4 * time.Minute)}, ingest.OptInOptions{})
		if err != nil || res.Status != smsflow.ConsentSubscribed {
			t.Fatalf("API opt-in 4 minutes ahead: %+v %v", res, err)
		}
		for _, c := range []struct{ name, phone, claim string }{
			{"import dated 2099", "+14155550141", "2099-12-31T23:59:59Z"},
			{"import 10 minutes ahead", "+14155550142", now.Add(10 * time.Minute).Format(time.RFC3339Nano)},
			{"API 4 minutes ahead", "+14155550143", now.Add(4 * time.Minute).Format(time.RFC3339Nano)},
		} {
			l := testkit.Consent(t, db, c.phone)
			if e := l.Ledger[0]; !e.OccurredAt.Equal(now) || e.Evidence[smsflow.EvidenceClaimedTimestamp] != c.claim || e.Evidence[smsflow.EvidenceTimestampClamped] != true {
				t.Errorf("%s: entry %+v, want dated %s with the claim %s as evidence", c.name, e, now, c.claim)
			}
		}
		clk.Add(time.Minute)
		for _, c := range []struct{ name, phone, contact string }{
			{"import dated 2099", "+14155550141", "ana"},
			{"import 10 minutes ahead", "+14155550142", "bea"},
			{"API 4 minutes ahead", "+14155550143", "cy"},
		} {
			res := testkit.Text(t, db, clk, c.phone, "STOP", testkit.InboundOptions())
			if res.Consent != smsflow.ConsentUnsubscribed {
				t.Errorf("%s: STOP changed nothing: %+v", c.name, res)
			}
			if st := testkit.Consent(t, db, c.phone).Status; st != smsflow.ConsentUnsubscribed {
				t.Errorf("%s: status after STOP %s, want unsubscribed", c.name, st)
			}
			if got := testkit.Events(t, db, c.contact, smsflow.EventUnsubscribed); len(got) != 1 {
				t.Errorf("%s: %d Unsubscribed events, want 1 (the engine ends runs and cancels sends on it)", c.name, len(got))
			}
		}
	})
}

// TestRecordConsentSources: a caller cannot claim a double_opt_in
// confirmation, and a keyword opt-in reported through the API after a STOP
// needs evidence like any opt-in that smsflow did not receive itself.
func TestRecordConsentSources(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := testkit.NewWriter(t, db)
		testkit.Submit(t, w, testkit.Identify("ana", "", testkit.Number(t, "4155550100"), nil))
		clk := testkit.NewClock(now)
		_, err := ingest.RecordConsent(ctx, db, clk, "ana", ingest.ConsentChange{Status: "subscribed", Source: smsflow.SourceDoubleOptIn,
			Evidence: map[string]any{"keyword": "Y"}}, ingest.OptInOptions{})
		if smsflow.ErrorField(err) != "source" || !strings.Contains(smsflow.ErrorMessage(err), "replies Y") {
			t.Errorf("double_opt_in claimed through the API: %v, want a 400 on source", err)
		}
		if _, err := ingest.RecordConsent(ctx, db, clk, "ana", ingest.ConsentChange{Status: "unsubscribed", Source: "keyword", Evidence: map[string]any{"text": "STOP"}}, ingest.OptInOptions{}); err != nil {
			t.Fatal(err)
		}
		later := testkit.NewClock(now.Add(time.Hour))
		if _, err := ingest.RecordConsent(ctx, db, later, "ana", ingest.ConsentChange{Status: "subscribed", Source: "keyword"}, ingest.OptInOptions{}); smsflow.ErrorCode(err) != smsflow.ECONFLICT {
			t.Errorf("keyword opt-in without evidence after STOP: %v, want conflict", err)
		}
		if _, err := ingest.RecordConsent(ctx, db, later, "ana", ingest.ConsentChange{Status: "subscribed", Source: "api"}, ingest.OptInOptions{}); smsflow.ErrorCode(err) != smsflow.ECONFLICT {
			t.Errorf("API opt-in without evidence after an API-recorded opt-out: %v, want conflict", err)
		}
		if st := testkit.Consent(t, db, "+14155550100").Status; st != smsflow.ConsentUnsubscribed {
			t.Errorf("status %s, want unsubscribed", st)
		}
	})
}

// TestDoubleOptInAPI: with double_opt_in, an opt-in through the API of any
// source leaves the number pending with one confirmation request and no
// Subscribed event; Y subscribes it (source double_opt_in, the opt-in as
// evidence) and only then is Subscribed emitted.
func TestDoubleOptInAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := testkit.NewWriter(t, db)
		const ana = "+14155550160"
		testkit.Submit(t, w, testkit.Identify("ana", "", testkit.Number(t, ana), nil))
		inboxNames(t, db, "ana") // the identify
		clk := testkit.NewClock(now)
		form := map[string]any{"url": "https://glow.example/join", "ip": "203.0.113.5"}
		res, err := ingest.RecordConsent(ctx, db, clk, "ana", ingest.ConsentChange{Status: smsflow.ConsentSubscribed, Source: smsflow.SourceWebForm, Evidence: form}, testkit.DoubleOptIn)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != smsflow.ConsentPending || res.Entry.Status != smsflow.ConsentPending || res.Entry.Source != smsflow.SourceWebForm ||
			res.Confirmation == nil || !res.Confirmation.Queued || res.Confirmation.MessageID == 0 {
			t.Fatalf("web form opt-in: %+v (confirmation %+v), want pending with a request queued", res, res.Confirmation)
		}
		testkit.CheckConfirmationRequests(t, db, "ana", 1)
		if got := inboxNames(t, db, "ana"); len(got) != 0 {
			t.Fatalf("pending fed the engine %v: no welcome flow before Y", got)
		}

		// The same number opted in again (another checkout): recorded, not asked twice.
		clk.Add(time.Hour)
		res, err = ingest.RecordConsent(ctx, db, clk, "ana", ingest.ConsentChange{Status: smsflow.ConsentSubscribed, Source: smsflow.SourceCheckout,
			Evidence: map[string]any{"order": "1001"}}, testkit.DoubleOptIn)
		if err != nil || res.Status != smsflow.ConsentPending || res.Confirmation == nil || res.Confirmation.Queued ||
			res.Confirmation.Skipped != policy.ReplySkippedRecentlyRequested {
			t.Fatalf("second opt-in while pending: %+v %v, want pending and no second request", res, err)
		}
		pendingID := res.Entry.ID
		testkit.CheckConfirmationRequests(t, db, "ana", 1)

		// Y confirms.
		clk.Add(time.Minute)
		opt := testkit.InboundOptions()
		opt.DoubleOptIn = true
		in := testkit.Text(t, db, clk, ana, "Y", opt)
		if in.Keyword != string(policy.KeywordConfirm) || in.Consent != smsflow.ConsentSubscribed || in.ReplyMessageID == 0 {
			t.Fatalf("Y: %+v", in)
		}
		l := testkit.Consent(t, db, ana)
		last := l.Ledger[len(l.Ledger)-1]
		optIn, _ := last.Evidence["opt_in"].(map[string]any)
		if l.Status != smsflow.ConsentSubscribed || last.Source != smsflow.SourceDoubleOptIn || optIn == nil ||
			optIn["id"] != float64(pendingID) || optIn["source"] != string(smsflow.SourceCheckout) || optIn["evidence"].(map[string]any)["order"] != "1001" ||
			last.Evidence["keyword"] == nil {
			t.Fatalf("ledger after Y: %s %+v, want double_opt_in naming entry %d", l.Status, last, pendingID)
		}
		if got := testkit.Events(t, db, "ana", smsflow.EventSubscribed); len(got) != 1 || got[0].Properties["source"] != string(smsflow.SourceDoubleOptIn) ||
			got[0].Properties["opt_in_source"] != string(smsflow.SourceCheckout) {
			t.Fatalf("Subscribed events %+v", got)
		}

		// Already subscribed: recorded as is, nothing sent.
		clk.Add(time.Minute)
		n := len(testkit.Outbound(t, db, "ana"))
		res, err = ingest.RecordConsent(ctx, db, clk, "ana", ingest.ConsentChange{Status: smsflow.ConsentSubscribed, Source: smsflow.SourceAPI}, testkit.DoubleOptIn)
		if err != nil || res.Status != smsflow.ConsentSubscribed || res.Entry.Status != smsflow.ConsentSubscribed || res.Confirmation != nil || len(testkit.Outbound(t, db, "ana")) != n {
			t.Fatalf("opt-in of a subscribed number: %+v %v", res, err)
		}

		// After a STOP the rule applies first: evidence needed; then pending and asked again.
		testkit.Text(t, db, clk, ana, "STOP", opt)
		clk.Add(2 * time.Hour)
		if _, err := ingest.RecordConsent(ctx, db, clk, "ana", ingest.ConsentChange{Status: smsflow.ConsentSubscribed, Source: smsflow.SourceAPI}, testkit.DoubleOptIn); smsflow.ErrorCode(err) != smsflow.ECONFLICT {
			t.Fatalf("API opt-in without evidence after STOP: %v, want conflict", err)
		}
		res, err = ingest.RecordConsent(ctx, db, clk, "ana", ingest.ConsentChange{Status: smsflow.ConsentSubscribed, Source: smsflow.SourceWebForm, Evidence: form}, testkit.DoubleOptIn)
		if err != nil || res.Status != smsflow.ConsentPending || res.Confirmation == nil || !res.Confirmation.Queued {
			t.Fatalf("web form after STOP: %+v %v, want pending and a new request", res, err)
		}
	})
}

// TestExplicitPendingAsksForConfirmation: "pending" means a confirmation
// request was sent, so recording it through the API sends one, with or
// without double_opt_in.
func TestExplicitPendingAsksForConfirmation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := testkit.NewWriter(t, db)
		testkit.Submit(t, w, testkit.Identify("bo", "", testkit.Number(t, "+14155550161"), nil))
		res, err := ingest.RecordConsent(ctx, db, testkit.NewClock(now), "bo", ingest.ConsentChange{Status: smsflow.ConsentPending, Source: smsflow.SourceWebForm,
			Evidence: map[string]any{"url": "https://glow.example/join"}}, ingest.OptInOptions{BrandName: "Glow"})
		if err != nil || res.Status != smsflow.ConsentPending || res.Confirmation == nil || !res.Confirmation.Queued {
			t.Fatalf("explicit pending: %+v %v", res, err)
		}
		testkit.CheckConfirmationRequests(t, db, "bo", 1)
	})
}

// TestImportKeepsConsentStatus: an import of consented numbers keeps their
// status (the import row is the evidence) and sends nothing — double opt-in
// is for opt-ins smsflow receives, not for a list moved from another system.
func TestImportKeepsConsentStatus(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		csv := "phone,id,consent,consent_source,evidence_url\n" +
			"415 555 0171,ana,subscribed,web_form,https://glow.example/join\n" +
			"415 555 0172,bo,pending,,\n"
		im := &ingest.Importer{DB: db, Clock: testkit.NewClock(now), Region: "US"}
		if sum, err := im.Import(ctx, strings.NewReader(csv), "csv"); err != nil || sum.Imported != 2 {
			t.Fatalf("import %+v %v", sum, err)
		}
		for ph, want := range map[string]smsflow.ConsentStatus{"+14155550171": smsflow.ConsentSubscribed, "+14155550172": smsflow.ConsentPending} {
			if st := testkit.Consent(t, db, ph).Status; st != want {
				t.Errorf("%s: %s, want %s", ph, st, want)
			}
		}
		for _, id := range []string{"ana", "bo"} {
			if out := testkit.Outbound(t, db, id); len(out) != 0 {
				t.Errorf("%s: import sent %+v", id, out)
			}
		}
	})
}
