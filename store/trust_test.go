package store_test

import (
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// Migration 0016 on rows written before it: events count as trusted, and
// only the numbers smsflow can vouch for are verified.
func TestTrustMigrationKeepsOldRowsValid(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		contact := func(id, phone string) *smsflow.Contact {
			return &smsflow.Contact{ID: id, Phone: phone, Traits: map[string]any{"k": "v"}, CreatedAt: now, UpdatedAt: now}
		}
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			for _, c := range []*smsflow.Contact{contact("ana", "+14155550100"), contact("bob", "+14155550101"),
				contact("phone:+14155550102", "+14155550102"), contact("shopify:7", "+14155550103"), contact("eve", "")} {
				if err := tx.InsertContact(c); err != nil {
					return err
				}
			}
			in := &smsflow.Message{Direction: "in", ContactID: "bob", Phone: "+14155550101", Body: "hi", Status: smsflow.MessageReceived, CreatedAt: now, UpdatedAt: now}
			if _, err := tx.InsertMessage(in); err != nil {
				return err
			}
			_, err := tx.InsertEvent(&smsflow.Event{MessageID: "old-1", Type: smsflow.EventTrack, Name: "E", ContactID: "ana", Timestamp: now, ReceivedAt: now})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// Back to the schema before 0016, rows kept.
		for _, q := range []string{`ALTER TABLE events DROP COLUMN trust`, `ALTER TABLE contacts DROP COLUMN phone_trust`,
			`ALTER TABLE contacts DROP COLUMN public_traits`, `DELETE FROM schema_migrations WHERE version = 16`} {
			if err := store.ExecForTest(db, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if n, err := db.Migrate(ctx); err != nil || n != 1 {
			t.Fatalf("migrate: %d, %v", n, err)
		}
		for id, want := range map[string]bool{"ana": false, "bob": true, "phone:+14155550102": true, "shopify:7": true, "eve": false} {
			c, err := db.Contact(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if c.PhoneVerified != want || c.PhonePublic || len(c.PublicTraits) != 0 {
				t.Errorf("%s after the migration: verified %v, public %v, public traits %v; want verified %v, not public, none", id, c.PhoneVerified, c.PhonePublic, c.PublicTraits, want)
			}
		}
		evs, err := db.EventsByContact(ctx, "ana", 10)
		if err != nil || len(evs) != 1 || evs[0].Trust.Public() || evs[0].MessageID != "old-1" {
			t.Errorf("old event after the migration: %+v, %v", evs, err)
		}
	})
}

func TestContactTrustRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		c := &smsflow.Contact{ID: "ana", Phone: "+14155550100", PhonePublic: true, Traits: map[string]any{"a": 1.0, "b": "x"}, PublicTraits: []string{"b"}, CreatedAt: now, UpdatedAt: now}
		if err := db.WriteTx(ctx, func(tx *store.Tx) error { return tx.InsertContact(c) }); err != nil {
			t.Fatal(err)
		}
		got, err := db.Contact(ctx, "ana")
		if err != nil || got.PhoneVerified || !got.PhonePublic || len(got.PublicTraits) != 1 || got.PublicTraits[0] != "b" {
			t.Fatalf("inserted: %+v, %v", got, err)
		}
		if err := db.WriteTx(ctx, func(tx *store.Tx) error { return tx.VerifyPhone("+14155550100") }); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.Contact(ctx, "ana"); !got.PhoneVerified || got.PhonePublic {
			t.Errorf("VerifyPhone did not verify: %+v", got)
		}
	})
}
