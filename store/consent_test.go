package store_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// consentContacts inserts one contact per number (the ledger's appends lock
// the number's contact).
func consentContacts(t *testing.T, db *store.DB, at time.Time, phones ...string) {
	t.Helper()
	err := db.WriteTx(ctx, func(tx *store.Tx) error {
		for i, ph := range phones {
			if err := tx.InsertContact(&smsflow.Contact{ID: fmt.Sprintf("c%d", i), Phone: ph, Traits: map[string]any{}, CreatedAt: at, UpdatedAt: at}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func appendConsent(t *testing.T, db *store.DB, e smsflow.ConsentEntry) *smsflow.ConsentEntry {
	t.Helper()
	if err := db.WriteTx(ctx, func(tx *store.Tx) error { return tx.AppendConsent(&e) }); err != nil {
		t.Fatalf("append %s by %s: %v", e.Status, e.Source, err)
	}
	return &e
}

// TestConsentLedgerOrderedByRecording is issue 16's first finding: an opt-in
// claiming a later time than a STOP recorded after it (2099, or minutes
// ahead), or an opt-out back-dated behind an earlier opt-in, must not decide
// the status. Every reader of the current status agrees: the ledger view,
// the single reads, the sender's batch read and the engine's prefetch.
func TestConsentLedgerOrderedByRecording(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
		form := map[string]any{"url": "https://glow.example/join"}
		stop := map[string]any{"keyword": "STOP", "body": "STOP"}
		cases := []struct {
			name, phone string
			entries     []smsflow.ConsentEntry
		}{
			{"opt-in dated 2099, then STOP", "+14155550101", []smsflow.ConsentEntry{
				{Status: smsflow.ConsentSubscribed, Source: smsflow.SourceAPI, Evidence: form, OccurredAt: time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC), RecordedAt: t0},
				{Status: smsflow.ConsentUnsubscribed, Source: smsflow.SourceKeyword, Evidence: stop, OccurredAt: t0.Add(time.Minute), RecordedAt: t0.Add(time.Minute)},
			}},
			{"import dated 10 minutes ahead, then STOP", "+14155550102", []smsflow.ConsentEntry{
				{Status: smsflow.ConsentSubscribed, Source: smsflow.SourceImport, OccurredAt: t0.Add(10 * time.Minute), RecordedAt: t0},
				{Status: smsflow.ConsentUnsubscribed, Source: smsflow.SourceKeyword, Evidence: stop, OccurredAt: t0.Add(time.Minute), RecordedAt: t0.Add(time.Minute)},
			}},
			{"opt-in, then an opt-out back-dated before it", "+14155550103", []smsflow.ConsentEntry{
				{Status: smsflow.ConsentSubscribed, Source: smsflow.SourceWebForm, Evidence: form, OccurredAt: t0, RecordedAt: t0},
				{Status: smsflow.ConsentUnsubscribed, Source: smsflow.SourceAPI, OccurredAt: t0.Add(-48 * time.Hour), RecordedAt: t0.Add(time.Minute)},
			}},
		}
		phones := make([]string, len(cases))
		for i, c := range cases {
			phones[i] = c.phone
		}
		consentContacts(t, db, t0, phones...)
		for i, c := range cases {
			var last *smsflow.ConsentEntry
			for _, e := range c.entries {
				e.Phone, e.ContactID = c.phone, fmt.Sprintf("c%d", i)
				last = appendConsent(t, db, e)
			}
			l, err := db.ConsentLedger(ctx, c.phone)
			if err != nil {
				t.Fatal(err)
			}
			if l.Status != smsflow.ConsentUnsubscribed || len(l.Ledger) != 2 || l.Ledger[1].ID != last.ID {
				t.Errorf("%s: ledger view %s %+v, want unsubscribed, the opt-out last", c.name, l.Status, l.Ledger)
			}
		}
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			batch, err := tx.LatestConsents(phones)
			if err != nil {
				return err
			}
			loaded, err := tx.LoadContacts([]string{"c0", "c1", "c2"}, store.Load{})
			if err != nil {
				return err
			}
			for i, c := range cases {
				one, err := tx.ContactConsent(c.phone)
				if err != nil {
					return err
				}
				latest, err := tx.LatestConsent(c.phone)
				if err != nil {
					return err
				}
				_, single, err := tx.ContactForUpdate(fmt.Sprintf("c%d", i))
				if err != nil {
					return err
				}
				for what, st := range map[string]smsflow.ConsentStatus{"ContactConsent": one, "LatestConsent": latest.Status, "LatestConsents": batch[c.phone],
					"ContactForUpdate": single, "LoadContacts": loaded[fmt.Sprintf("c%d", i)].Consent} {
					if st != smsflow.ConsentUnsubscribed {
						t.Errorf("%s: %s says %s, want unsubscribed", c.name, what, st)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestAppendConsentClampsClaimedTime: a claimed time after the moment of
// recording is stored as that moment, with the claim kept as evidence, on
// the entry returned and on the row read back.
func TestAppendConsentClampsClaimedTime(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const ph = "+14155550100"
		t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
		consentContacts(t, db, t0, ph)
		claim := time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC)
		form := map[string]any{"url": "https://glow.example/join"}
		e := appendConsent(t, db, smsflow.ConsentEntry{Phone: ph, ContactID: "c0", Status: smsflow.ConsentSubscribed, Source: smsflow.SourceImport,
			Evidence: form, OccurredAt: claim, RecordedAt: t0})
		past := appendConsent(t, db, smsflow.ConsentEntry{Phone: ph, ContactID: "c0", Status: smsflow.ConsentSubscribed, Source: smsflow.SourceWebForm,
			Evidence: form, OccurredAt: t0.Add(-time.Hour), RecordedAt: t0.Add(time.Second)})
		if len(form) != 1 {
			t.Errorf("the caller's evidence was changed: %v", form)
		}
		l, err := db.ConsentLedger(ctx, ph)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Ledger) != 2 {
			t.Fatalf("ledger %+v", l.Ledger)
		}
		for _, got := range []smsflow.ConsentEntry{*e, l.Ledger[0]} {
			if !got.OccurredAt.Equal(t0) || got.Evidence[smsflow.EvidenceTimestampClamped] != true ||
				got.Evidence[smsflow.EvidenceClaimedTimestamp] != "2099-12-31T23:59:59Z" || got.Evidence["url"] != "https://glow.example/join" {
				t.Errorf("future claim: timestamp %s evidence %v, want %s with the claim as evidence", got.OccurredAt, got.Evidence, t0)
			}
		}
		for _, got := range []smsflow.ConsentEntry{*past, l.Ledger[1]} {
			if !got.OccurredAt.Equal(t0.Add(-time.Hour)) || got.Evidence[smsflow.EvidenceTimestampClamped] != nil {
				t.Errorf("past claim changed: %s %v", got.OccurredAt, got.Evidence)
			}
		}
	})
}

// TestConsentAppendsSerializedPerNumber races opt-ins without evidence
// against STOPs on the same numbers, each in its own transaction. Whatever
// the interleaving, every entry the ledger holds must pass the rule against
// the entry recorded just before it: an append must see the latest entry it
// will follow (on PostgreSQL the number is locked; SQLite has one writer).
func TestConsentAppendsSerializedPerNumber(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
		const numbers, rounds = 8, 4
		phones := make([]string, numbers)
		for i := range phones {
			phones[i] = fmt.Sprintf("+1415555%04d", 200+i)
		}
		consentContacts(t, db, t0, phones...)
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, numbers*rounds*2)
		for i, ph := range phones {
			for r := 0; r < rounds; r++ {
				for _, e := range []smsflow.ConsentEntry{
					{Status: smsflow.ConsentSubscribed, Source: smsflow.SourceAPI},
					{Status: smsflow.ConsentUnsubscribed, Source: smsflow.SourceKeyword, Evidence: map[string]any{"keyword": "STOP"}},
				} {
					e.Phone, e.ContactID = ph, fmt.Sprintf("c%d", i)
					at := t0.Add(time.Duration(r) * time.Second)
					e.OccurredAt, e.RecordedAt = at, at
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						err := db.WriteTx(ctx, func(tx *store.Tx) error { return tx.AppendConsent(&e) })
						if err != nil && smsflow.ErrorCode(err) != smsflow.ECONFLICT {
							errs <- err
						}
					}()
				}
			}
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for _, ph := range phones {
			l, err := db.ConsentLedger(ctx, ph)
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i < len(l.Ledger); i++ {
				if err := smsflow.CheckConsentChange(&l.Ledger[i-1], l.Ledger[i]); err != nil {
					t.Errorf("%s: entry %d (%s by %s) follows entry %d (%s by %s) against the rule: %v", ph, l.Ledger[i].ID, l.Ledger[i].Status, l.Ledger[i].Source,
						l.Ledger[i-1].ID, l.Ledger[i-1].Status, l.Ledger[i-1].Source, smsflow.ErrorMessage(err))
				}
			}
		}
	})
}

// TestMigration0014KeepsEveryOptOut replays migration 0014 over ledgers
// written under the old order (by claimed time): a number whose status the
// new order would loosen (an opt-out, or pending, outranked by a
// later-recorded but earlier-dated entry) gets its old status appended
// again; a number the new order tightens (a STOP after an opt-in dated 2099)
// becomes unsubscribed; ordinary ledgers are untouched.
func TestMigration0014KeepsEveryOptOut(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t0 := time.Date(2020, 6, 1, 12, 0, 0, 0, time.UTC) // before the migration runs, whenever that is
		year2099 := time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC)
		type row struct {
			status            smsflow.ConsentStatus
			source            smsflow.ConsentSource
			claimed, recorded time.Time
		}
		ledgers := []struct {
			phone  string
			rows   []row
			want   smsflow.ConsentStatus
			n      int  // entries after the migration
			repeat int  // index of the row re-asserted, -1 for none
			future bool // the re-asserted row claimed a future time
		}{
			{"+14155550301", []row{ // an API opt-out dated ahead, then a form opt-in dated before it
				{smsflow.ConsentUnsubscribed, smsflow.SourceAPI, t0.Add(time.Hour), t0},
				{smsflow.ConsentSubscribed, smsflow.SourceWebForm, t0, t0.Add(2 * time.Hour)},
			}, smsflow.ConsentUnsubscribed, 3, 0, false},
			{"+14155550302", []row{ // an import dated 2099, then STOP: the bug the new order fixes
				{smsflow.ConsentSubscribed, smsflow.SourceImport, year2099, t0},
				{smsflow.ConsentUnsubscribed, smsflow.SourceKeyword, t0.Add(time.Hour), t0.Add(time.Hour)},
			}, smsflow.ConsentUnsubscribed, 2, -1, false},
			{"+14155550303", []row{ // JOIN pending, then an API opt-in dated before it
				{smsflow.ConsentPending, smsflow.SourceKeyword, t0.Add(time.Hour), t0.Add(time.Hour)},
				{smsflow.ConsentSubscribed, smsflow.SourceAPI, t0, t0.Add(2 * time.Hour)},
			}, smsflow.ConsentPending, 3, 0, false},
			{"+14155550304", []row{ // ordinary: opt-in, then STOP
				{smsflow.ConsentSubscribed, smsflow.SourceWebForm, t0, t0},
				{smsflow.ConsentUnsubscribed, smsflow.SourceKeyword, t0.Add(time.Hour), t0.Add(time.Hour)},
			}, smsflow.ConsentUnsubscribed, 2, -1, false},
			{"+14155550305", []row{ // ordinary: STOP, then START
				{smsflow.ConsentUnsubscribed, smsflow.SourceKeyword, t0, t0},
				{smsflow.ConsentSubscribed, smsflow.SourceKeyword, t0.Add(time.Hour), t0.Add(time.Hour)},
			}, smsflow.ConsentSubscribed, 2, -1, false},
			{"+14155550306", []row{ // an opt-out dated 2099, then an opt-in
				{smsflow.ConsentUnsubscribed, smsflow.SourceAPI, year2099, t0},
				{smsflow.ConsentSubscribed, smsflow.SourceWebForm, t0.Add(time.Hour), t0.Add(time.Hour)},
			}, smsflow.ConsentUnsubscribed, 3, 0, true},
		}
		ids := map[string][]int64{}
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			for _, l := range ledgers {
				for _, r := range l.rows {
					if err := tx.ExecForTest(`INSERT INTO consent_ledger (phone, contact_id, status, source, evidence, message_id, occurred_at, recorded_at)
VALUES (?, 'c', ?, ?, '{"old":true}', 'm', ?, ?)`, l.phone, string(r.status), string(r.source), r.claimed.UnixMicro(), r.recorded.UnixMicro()); err != nil {
						return err
					}
					id, err := tx.QueryIntForTest(`SELECT MAX(id) FROM consent_ledger`)
					if err != nil {
						return err
					}
					ids[l.phone] = append(ids[l.phone], id)
				}
			}
			return tx.ExecForTest(`DELETE FROM schema_migrations WHERE version = 14`)
		})
		if err != nil {
			t.Fatal(err)
		}
		before := time.Now()
		if n, err := db.Migrate(ctx); err != nil || n != 1 {
			t.Fatalf("migrate: %d %v, want migration 0014 applied again", n, err)
		}
		after := time.Now()
		for _, l := range ledgers {
			got, err := db.ConsentLedger(ctx, l.phone)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != l.want || len(got.Ledger) != l.n {
				t.Errorf("%s: %s with %d entries, want %s with %d", l.phone, got.Status, len(got.Ledger), l.want, l.n)
				continue
			}
			if l.repeat < 0 {
				continue
			}
			e, old := got.Ledger[len(got.Ledger)-1], l.rows[l.repeat]
			if e.Status != old.status || e.Source != old.source || e.ContactID != "c" || e.MessageID != "m" ||
				e.Evidence["reasserted_entry"] != float64(ids[l.phone][l.repeat]) || e.Evidence["reason"] == nil {
				t.Errorf("%s: re-asserted entry %+v, want a copy of entry %d naming it", l.phone, e, ids[l.phone][l.repeat])
			}
			if e.RecordedAt.Before(before.Add(-time.Second).Truncate(time.Second)) || e.RecordedAt.After(after) {
				t.Errorf("%s: re-asserted entry recorded at %s, want the migration's time (%s – %s)", l.phone, e.RecordedAt, before, after)
			}
			if wantClaim := old.claimed; l.future && !e.OccurredAt.Equal(e.RecordedAt) || !l.future && !e.OccurredAt.Equal(wantClaim) {
				t.Errorf("%s: re-asserted entry claims %s (recorded %s), want the old claim, clamped to the migration's time", l.phone, e.OccurredAt, e.RecordedAt)
			}
		}
	})
}
