package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

const ph = "+14155550100"

func consentCases() []contractCase {
	return []contractCase{
		{"Tx.AppendConsent", func(t *testing.T, db *store.DB) {
			addContact(t, db, "ana", ph)
			e := addConsent(t, db, ph, smsflow.ConsentSubscribed, t0)
			if e.ID == 0 {
				t.Error("the appended entry has no id")
			}
			if err := db.WriteTx(bg, func(tx *store.Tx) error {
				return tx.AppendConsent(&smsflow.ConsentEntry{Phone: ph, Status: smsflow.ConsentUnsubscribed, Source: smsflow.SourceAPI, OccurredAt: t0})
			}); err == nil {
				t.Error("an entry without a recording time was appended")
			}
			addConsent(t, db, ph, smsflow.ConsentUnsubscribed, t0.Add(time.Hour))
			// The rule: an unsubscribe is undone only by a newer opt-in
			// with evidence; a refused entry is recorded nowhere.
			err := db.WriteTx(bg, func(tx *store.Tx) error {
				return tx.AppendConsent(&smsflow.ConsentEntry{Phone: ph, Status: smsflow.ConsentSubscribed, Source: smsflow.SourceImport,
					OccurredAt: t0.Add(2 * time.Hour), RecordedAt: t0.Add(2 * time.Hour)})
			})
			equal(t, "a refused resubscription's code", smsflow.ErrorCode(err), smsflow.ECONFLICT)
			// A claimed time later than the recording is clamped to it.
			late := &smsflow.ConsentEntry{Phone: ph, Status: smsflow.ConsentSubscribed, Source: smsflow.SourceWebForm, Evidence: map[string]any{"ip": "203.0.113.9"},
				OccurredAt: t0.Add(48 * time.Hour), RecordedAt: t0.Add(3 * time.Hour)}
			write(t, db, func(tx *store.Tx) error { return tx.AppendConsent(late) })
			c := must(db.ConsentLedger(bg, ph))(t)
			equal(t, "entries", len(c.Ledger), 3)
			equal(t, "status", c.Status, smsflow.ConsentSubscribed)
			last := c.Ledger[2]
			equal(t, "clamped claimed time", last.OccurredAt, t0.Add(3*time.Hour))
			if last.Evidence[smsflow.EvidenceTimestampClamped] != true {
				t.Errorf("the clamp is not in the evidence: %v", last.Evidence)
			}
		}},
		{"Tx.LatestConsent", func(t *testing.T, db *store.DB) {
			write(t, db, func(tx *store.Tx) error {
				equal(t, "no entry", must(tx.LatestConsent(ph))(t), (*smsflow.ConsentEntry)(nil))
				return nil
			})
			addConsent(t, db, ph, smsflow.ConsentSubscribed, t0.Add(time.Hour))
			want := addConsent(t, db, ph, smsflow.ConsentPending, t0) // recorded last, with an earlier time
			write(t, db, func(tx *store.Tx) error {
				equal(t, "the entry recorded last", *must(tx.LatestConsent(ph))(t), *want)
				return nil
			})
		}},
		{"Tx.ContactConsent", func(t *testing.T, db *store.DB) {
			addConsent(t, db, ph, smsflow.ConsentSubscribed, t0)
			write(t, db, func(tx *store.Tx) error {
				equal(t, "no phone", must(tx.ContactConsent(""))(t), smsflow.ConsentNone)
				equal(t, "no entry", must(tx.ContactConsent("+14155550111"))(t), smsflow.ConsentNone)
				equal(t, "subscribed", must(tx.ContactConsent(ph))(t), smsflow.ConsentSubscribed)
				return nil
			})
		}},
		{"Tx.LatestConsents", func(t *testing.T, db *store.DB) {
			addConsent(t, db, ph, smsflow.ConsentSubscribed, t0)
			addConsent(t, db, ph, smsflow.ConsentUnsubscribed, t0.Add(time.Minute))
			addConsent(t, db, "+14155550101", smsflow.ConsentPending, t0)
			write(t, db, func(tx *store.Tx) error {
				equal(t, "statuses", must(tx.LatestConsents([]string{ph, "+14155550101", "+14155550199"}))(t),
					map[string]smsflow.ConsentStatus{ph: smsflow.ConsentUnsubscribed, "+14155550101": smsflow.ConsentPending})
				equal(t, "none asked", must(tx.LatestConsents(nil))(t), map[string]smsflow.ConsentStatus{})
				return nil
			})
		}},
		{"DB.LatestConsents", func(t *testing.T, db *store.DB) {
			addConsent(t, db, ph, smsflow.ConsentSubscribed, t0)
			addConsent(t, db, ph, smsflow.ConsentUnsubscribed, t0.Add(time.Minute))
			equal(t, "statuses", must(db.LatestConsents(bg, []string{ph, "+14155550199"}))(t), map[string]smsflow.ConsentStatus{ph: smsflow.ConsentUnsubscribed})
			equal(t, "none asked", must(db.LatestConsents(bg, nil))(t), map[string]smsflow.ConsentStatus{})
			// Read outside the writer: an opt-out committed since is seen.
			addConsent(t, db, "+14155550101", smsflow.ConsentUnsubscribed, t0)
			equal(t, "after a commit", must(db.LatestConsents(bg, []string{"+14155550101"}))(t), map[string]smsflow.ConsentStatus{"+14155550101": smsflow.ConsentUnsubscribed})
		}},
		{"DB.OptOutsSince", func(t *testing.T, db *store.DB) {
			addConsent(t, db, ph, smsflow.ConsentUnsubscribed, t0.Add(-time.Minute)) // before since
			addConsent(t, db, ph, smsflow.ConsentSubscribed, t0)
			addConsent(t, db, ph, smsflow.ConsentUnsubscribed, t0)
			addConsent(t, db, "+14155550101", smsflow.ConsentSubscribed, t0.Add(time.Minute))
			equal(t, "opt-outs at or after since", must(db.OptOutsSince(bg, []string{ph, "+14155550101"}, t0))(t), map[string][]time.Time{ph: {t0}})
			equal(t, "none asked", must(db.OptOutsSince(bg, nil, t0))(t), map[string][]time.Time{})
		}},
		{"DB.ConsentLedger", func(t *testing.T, db *store.DB) {
			empty := must(db.ConsentLedger(bg, ""))(t)
			equal(t, "no phone", empty, smsflow.Consent{Status: smsflow.ConsentNone, Ledger: []smsflow.ConsentEntry{}})
			a := addConsent(t, db, ph, smsflow.ConsentSubscribed, t0.Add(time.Hour))
			b := addConsent(t, db, ph, smsflow.ConsentUnsubscribed, t0) // recorded later, claimed earlier
			addConsent(t, db, "+14155550101", smsflow.ConsentSubscribed, t0)
			equal(t, "ledger in recording order", must(db.ConsentLedger(bg, ph))(t), smsflow.Consent{Status: smsflow.ConsentUnsubscribed, Ledger: []smsflow.ConsentEntry{*a, *b}})
		}},
		{"DB.ContactConsentEntries", func(t *testing.T, db *store.DB) {
			a := addConsent(t, db, ph, smsflow.ConsentSubscribed, t0)             // contact ana, its phone
			b := addConsent(t, db, "+14155550101", smsflow.ConsentSubscribed, t0) // contact ana, an old phone
			c := &smsflow.ConsentEntry{Phone: ph, ContactID: "bob", Status: smsflow.ConsentUnsubscribed, Source: smsflow.SourceKeyword, OccurredAt: t0, RecordedAt: t0}
			write(t, db, func(tx *store.Tx) error { return tx.AppendConsent(c) }) // another contact, ana's phone
			addConsent(t, db, "+14155550102", smsflow.ConsentSubscribed, t0)
			write(t, db, func(tx *store.Tx) error { // someone else entirely
				return tx.AppendConsent(&smsflow.ConsentEntry{Phone: "+14155550103", ContactID: "cy", Status: smsflow.ConsentSubscribed, Source: smsflow.SourceAPI, Evidence: map[string]any{"x": 1.0}, OccurredAt: t0, RecordedAt: t0})
			})
			got := must(db.ContactConsentEntries(bg, "ana", ph))(t)
			ids := []int64{}
			for _, e := range got {
				ids = append(ids, e.ID)
			}
			if len(ids) != 4 || !slices.IsSorted(ids) || ids[0] != a.ID || ids[1] != b.ID || ids[2] != c.ID {
				t.Errorf("entries %v, want ana's three and bob's on her phone, in recording order", ids)
			}
		}},
		{"DB.ConsentRecordedAfter", func(t *testing.T, db *store.DB) {
			a := addConsent(t, db, ph, smsflow.ConsentSubscribed, t0)
			b := addConsent(t, db, "+14155550101", smsflow.ConsentSubscribed, t0)
			c := addConsent(t, db, "+14155550102", smsflow.ConsentSubscribed, t0)
			equal(t, "from the start", must(db.ConsentRecordedAfter(bg, 0, 2))(t), []smsflow.ConsentEntry{*a, *b})
			equal(t, "after the first", must(db.ConsentRecordedAfter(bg, a.ID, 10))(t), []smsflow.ConsentEntry{*b, *c})
			equal(t, "after the last", must(db.ConsentRecordedAfter(bg, c.ID, 10))(t), []smsflow.ConsentEntry(nil))
		}},
		{"DB.OnOptOut", func(t *testing.T, db *store.DB) {
			var heard [][]string
			cancel := db.OnOptOut(func(phones []string) { heard = append(heard, phones) })
			addConsent(t, db, ph, smsflow.ConsentSubscribed, t0)
			equal(t, "after a subscription", heard, [][]string(nil))
			_ = db.WriteTx(bg, func(tx *store.Tx) error {
				if err := tx.AppendConsent(&smsflow.ConsentEntry{Phone: ph, Status: smsflow.ConsentUnsubscribed, Source: smsflow.SourceKeyword, OccurredAt: t0, RecordedAt: t0}); err != nil {
					return err
				}
				return smsflow.Errorf(smsflow.EINTERNAL, "roll back")
			})
			equal(t, "after a rolled-back opt-out", heard, [][]string(nil))
			addConsent(t, db, ph, smsflow.ConsentUnsubscribed, t0)
			equal(t, "after an opt-out", heard, [][]string{{ph}})
			cancel()
			addConsent(t, db, "+14155550101", smsflow.ConsentUnsubscribed, t0)
			equal(t, "after cancel", len(heard), 1)
		}},
		{"Tx.HadMarketing", func(t *testing.T, db *store.DB) {
			addContact(t, db, "ana", ph)
			had := func() bool {
				var b bool
				write(t, db, func(tx *store.Tx) (err error) { b, err = tx.HadMarketing("ana", ph); return })
				return b
			}
			addConsent(t, db, ph, smsflow.ConsentSubscribed, t0)
			equal(t, "nothing sent", had(), false)
			addMessage(t, db, smsflow.Message{ContactID: "ana", StepID: "keyword:help", Category: "service", CreatedAt: t0.Add(time.Minute)})
			equal(t, "a service message only", had(), false)
			r := addRun(t, db, smsflow.Run{ContactID: "ana"})
			addMessage(t, db, smsflow.Message{RunID: r.ID, StepID: "promo", ContactID: "ana", Category: "promo", CreatedAt: t0.Add(time.Minute)})
			equal(t, "a promo queued since the subscription", had(), true)
			addConsent(t, db, ph, smsflow.ConsentUnsubscribed, t0.Add(2*time.Minute))
			addConsent(t, db, ph, smsflow.ConsentSubscribed, t0.Add(3*time.Minute))
			equal(t, "after a new subscription", had(), false)
		}},
	}
}
