package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// bulkCases: the bulk loads the benchmarks seed through (more rows than one
// statement writes, read back as the live paths read them).
func bulkCases() []contractCase {
	return []contractCase{
		{"DB.BulkInsertContacts", func(t *testing.T, db *store.DB) {
			const n = 2500 // over two multi-row statements
			at := time.Date(2025, 3, 1, 12, 0, 0, 123000, time.UTC)
			var contacts []smsflow.Contact
			var consent []smsflow.ConsentEntry
			for i := range n {
				ph := fmt.Sprintf("+1415%07d", 2_000_000+i)
				contacts = append(contacts, smsflow.Contact{ID: fmt.Sprintf("c%05d", i), Phone: ph, PhoneType: "fixed_line_or_mobile",
					Timezone: "America/Los_Angeles", TimezoneSource: "number", Timezones: []string{"America/Los_Angeles"},
					Traits: map[string]any{"first_name": "Ana", "vip": true}, CreatedAt: at, UpdatedAt: at})
				if i%2 == 0 { // every other number has a ledger entry
					consent = append(consent, smsflow.ConsentEntry{Phone: ph, ContactID: contacts[i].ID, Status: smsflow.ConsentSubscribed,
						Source: smsflow.SourceImport, Evidence: map[string]any{"url": "https://x.example/join"}, OccurredAt: at, RecordedAt: at})
				}
			}
			if err := db.BulkInsertContacts(bg, contacts, consent); err != nil {
				t.Fatal(err)
			}
			if got, err := db.CountContacts(bg); err != nil || got != n {
				t.Fatalf("CountContacts = %d, %v; want %d", got, err, n)
			}
			for _, i := range []int{0, 999, 1000, 1001, n - 1} {
				want := contacts[i]
				got, err := db.Contact(bg, want.ID)
				if err != nil || got == nil {
					t.Fatalf("contact %s: %v, %v", want.ID, got, err)
				}
				if got.Phone != want.Phone || got.Timezone != want.Timezone || !reflect.DeepEqual(got.Timezones, want.Timezones) ||
					!reflect.DeepEqual(got.Traits, want.Traits) || !got.CreatedAt.Equal(at) || got.PhoneVerified {
					t.Errorf("contact %s read back as %+v, want %+v", want.ID, got, want)
				}
				c, err := db.ConsentLedger(bg, want.Phone)
				if err != nil {
					t.Fatal(err)
				}
				wantStatus := smsflow.ConsentNone
				if i%2 == 0 {
					wantStatus = smsflow.ConsentSubscribed
				}
				if c.Status != wantStatus || (i%2 == 0 && (len(c.Ledger) != 1 || c.Ledger[0].Source != smsflow.SourceImport)) {
					t.Errorf("consent of %s = %+v, want %q from one import entry", want.Phone, c, wantStatus)
				}
			}
			// New contacts only: one that exists is an error, and nothing of the
			// call is written.
			err := db.BulkInsertContacts(bg, []smsflow.Contact{{ID: "new", Phone: "+14155550199"}, contacts[0]}, nil)
			if err == nil {
				t.Fatal("a contact that exists was inserted again")
			}
			if c, _ := db.Contact(bg, "new"); c != nil {
				t.Error("a failed bulk insert wrote part of its rows")
			}
		}},
		{"DB.BulkInsertMessages", func(t *testing.T, db *store.DB) {
			at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
			var msgs []smsflow.Message
			for i := range 1500 {
				msgs = append(msgs, smsflow.Message{Direction: "out", RunID: int64(i + 1), StepID: "notify", FlowID: "f", ContactID: fmt.Sprintf("c%d", i),
					Phone: "+14155550100", Body: "hi", Encoding: "GSM-7", Characters: 2, Segments: 1, Status: smsflow.MessageQueued,
					CreatedAt: at, UpdatedAt: at, Category: "service"})
			}
			msgs = append(msgs, smsflow.Message{Direction: "out", StepID: "keyword:help", ContactID: "c0", Phone: "+14155550100", Body: "help",
				Status: smsflow.MessageQueued, CreatedAt: at, UpdatedAt: at})
			if err := db.BulkInsertMessages(bg, msgs); err != nil {
				t.Fatal(err)
			}
			var n int64
			if err := db.QueryRowForTest(bg, `SELECT COUNT(*) FROM messages WHERE status = 'queued'`).Scan(&n); err != nil || n != 1501 {
				t.Fatalf("%d queued messages (%v), want 1501", n, err)
			}
			got, err := db.Messages(bg, store.MessageFilter{ContactID: "c1499"})
			if err != nil || len(got) != 1 {
				t.Fatalf("messages of c1499: %v, %v", got, err)
			}
			if m := got[0]; m.RunID != 1500 || m.StepID != "notify" || m.Body != "hi" || m.Category != "service" || !m.CreatedAt.Equal(at) {
				t.Errorf("message read back as %+v", m)
			}
			var nullRun int64
			if err := db.QueryRowForTest(bg, `SELECT COUNT(*) FROM messages WHERE run_id IS NULL AND step_id = 'keyword:help'`).Scan(&nullRun); err != nil || nullRun != 1 {
				t.Errorf("the reply without a run: %d rows with run_id NULL and its step (%v), want 1", nullRun, err)
			}
			if err := db.BulkInsertMessages(bg, msgs[:1]); err == nil {
				t.Error("a second message for a run's step was written")
			}
		}},
		{"DB.RefreshStatistics", func(t *testing.T, db *store.DB) {
			if err := db.RefreshStatistics(bg, "contacts", "messages"); err != nil {
				t.Fatal(err)
			}
		}},
	}
}
