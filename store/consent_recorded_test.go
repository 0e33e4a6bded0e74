package store_test

import (
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// TestConsentRecordedAfter follows the ledger with an id cursor, as simulate
// does: each entry once, in the order appended (not by claimed time), across
// numbers, in pages; a refused change is never seen.
func TestConsentRecordedAfter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
		add := func(ph, contact string, status smsflow.ConsentStatus, src smsflow.ConsentSource, occurred time.Time) error {
			return db.WriteTx(ctx, func(tx *store.Tx) error {
				return tx.AppendConsent(&smsflow.ConsentEntry{Phone: ph, ContactID: contact, Status: status, Source: src,
					Evidence: map[string]any{"n": 1}, OccurredAt: occurred, RecordedAt: t0})
			})
		}
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.ConsentRecordedAfter(ctx, 0, 10)
		if err != nil || len(got) != 0 {
			t.Fatalf("empty ledger: %v, %v", got, err)
		}
		must(add("+14155550100", "ana", smsflow.ConsentSubscribed, smsflow.SourceWebForm, t0))
		// Claimed earlier than ana's, appended later: still after it.
		must(add("+12125550199", "bo", smsflow.ConsentSubscribed, smsflow.SourceCheckout, t0.Add(-time.Hour)))
		must(add("+14155550100", "ana", smsflow.ConsentUnsubscribed, smsflow.SourceKeyword, t0.Add(time.Minute)))
		if err := add("+14155550100", "ana", smsflow.ConsentSubscribed, smsflow.SourceImport, t0.Add(time.Hour)); smsflow.ErrorCode(err) != smsflow.ECONFLICT {
			t.Fatalf("import after STOP: %v, want conflict", err)
		}
		must(add("+12125550199", "bo", smsflow.ConsentUnsubscribed, smsflow.SourceAPI, t0.Add(2*time.Hour)))

		var all []smsflow.ConsentEntry
		var cursor int64
		for {
			page, err := db.ConsentRecordedAfter(ctx, cursor, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > 2 {
				t.Fatalf("page of %d entries, limit 2", len(page))
			}
			if len(page) == 0 {
				break
			}
			all = append(all, page...)
			cursor = page[len(page)-1].ID
		}
		want := []struct {
			contact string
			status  smsflow.ConsentStatus
			source  smsflow.ConsentSource
		}{
			{"ana", smsflow.ConsentSubscribed, smsflow.SourceWebForm},
			{"bo", smsflow.ConsentSubscribed, smsflow.SourceCheckout},
			{"ana", smsflow.ConsentUnsubscribed, smsflow.SourceKeyword},
			{"bo", smsflow.ConsentUnsubscribed, smsflow.SourceAPI},
		}
		if len(all) != len(want) {
			t.Fatalf("followed %d entries, want %d: %+v", len(all), len(want), all)
		}
		for i, w := range want {
			e := all[i]
			if e.ContactID != w.contact || e.Status != w.status || e.Source != w.source || e.Evidence["n"] == nil {
				t.Errorf("entry %d = %s %s %s %v, want %s %s %s", i, e.ContactID, e.Status, e.Source, e.Evidence, w.contact, w.status, w.source)
			}
			if i > 0 && e.ID <= all[i-1].ID {
				t.Errorf("entry %d: id %d after %d", i, e.ID, all[i-1].ID)
			}
		}
		if rest, err := db.ConsentRecordedAfter(ctx, all[1].ID, 10); err != nil || len(rest) != 2 || rest[0].ID != all[2].ID {
			t.Errorf("after entry 1: %+v, %v; want entries 2 and 3", rest, err)
		}
	})
}
