package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

var ctx = context.Background()

func TestMigrateIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		n, err := db.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("second Migrate applied %d migrations, want 0", n)
		}
		v, err := db.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v < 1 {
			t.Errorf("schema version %d, want ≥ 1", v)
		}
	})
}

func TestContactRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 11, 28, 10, 0, 0, 123456000, time.UTC)
		c := &smsflow.Contact{ID: "ana", Phone: "+14155550100", PhoneType: "fixed_line_or_mobile", Timezone: "America/Los_Angeles",
			TimezoneSource: "number", Timezones: []string{"America/Los_Angeles"}, Traits: map[string]any{"first_name": "Ana", "vip": true, "visits": 3.0}, CreatedAt: now, UpdatedAt: now}
		if err := db.WriteTx(ctx, func(tx *store.Tx) error { return tx.InsertContact(c) }); err != nil {
			t.Fatal(err)
		}
		got, err := db.Contact(ctx, "ana")
		if err != nil {
			t.Fatal(err)
		}
		if got.Phone != c.Phone || got.Timezone != c.Timezone || got.Traits["first_name"] != "Ana" || got.Traits["visits"] != 3.0 || !got.CreatedAt.Equal(now) {
			t.Errorf("round trip: got %+v", got)
		}
		byPhone, err := db.ContactByPhone(ctx, "+14155550100")
		if err != nil || byPhone.ID != "ana" {
			t.Errorf("ContactByPhone = %v, %v", byPhone, err)
		}
		if _, err := db.Contact(ctx, "nobody"); smsflow.ErrorCode(err) != smsflow.ENOTFOUND {
			t.Errorf("missing contact: err %v, want not_found", err)
		}
		// Phone numbers are unique.
		err = db.WriteTx(ctx, func(tx *store.Tx) error {
			return tx.InsertContact(&smsflow.Contact{ID: "bob", Phone: "+14155550100", CreatedAt: now, UpdatedAt: now})
		})
		if err == nil {
			t.Error("second contact with the same phone was stored")
		}
	})
}

func TestInsertEventDedupes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ts := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
		ev := func(mid string, order string) *smsflow.Event {
			props := map[string]any{"order_id": order}
			return &smsflow.Event{MessageID: mid, Type: "track", Name: "Order Completed", ContactID: "ana", Properties: props,
				DedupeKey: smsflow.OrderDedupeKey("Order Completed", props), Timestamp: ts, ReceivedAt: ts}
		}
		var got []bool
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			for _, e := range []*smsflow.Event{ev("m1", "o1"), ev("m1", "o2"), ev("m2", "o1"), ev("m3", "o3")} {
				ok, err := tx.InsertEvent(e)
				if err != nil {
					return err
				}
				got = append(got, ok)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []bool{true, false, false, true}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("insert %d: new=%v, want %v", i, got[i], want[i])
			}
		}
		n, _ := db.CountEvents(ctx)
		if n != 2 {
			t.Errorf("%d events stored, want 2", n)
		}
	})
}

func TestConsentLedgerRule(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const ph = "+14155550100"
		t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		add := func(status smsflow.ConsentStatus, src smsflow.ConsentSource, ev map[string]any, at time.Time) error {
			return db.WriteTx(ctx, func(tx *store.Tx) error {
				return tx.AppendConsent(&smsflow.ConsentEntry{Phone: ph, ContactID: "ana", Status: status, Source: src, Evidence: ev, OccurredAt: at, RecordedAt: at})
			})
		}
		steps := []struct {
			status smsflow.ConsentStatus
			src    smsflow.ConsentSource
			ev     map[string]any
			at     time.Duration
			ok     bool
			after  smsflow.ConsentStatus
		}{
			{smsflow.ConsentSubscribed, smsflow.SourceCheckout, map[string]any{"url": "https://glow.example/checkout"}, 0, true, smsflow.ConsentSubscribed},
			{smsflow.ConsentUnsubscribed, smsflow.SourceKeyword, map[string]any{"text": "STOP"}, time.Hour, true, smsflow.ConsentUnsubscribed},
			{smsflow.ConsentSubscribed, smsflow.SourceImport, nil, 2 * time.Hour, false, smsflow.ConsentUnsubscribed},
			{smsflow.ConsentSubscribed, smsflow.SourceAPI, nil, 2 * time.Hour, false, smsflow.ConsentUnsubscribed},
			{smsflow.ConsentSubscribed, smsflow.SourceShopify, map[string]any{"x": 1}, 2 * time.Hour, false, smsflow.ConsentUnsubscribed},
			{smsflow.ConsentSubscribed, smsflow.SourceWebForm, map[string]any{"ip": "203.0.113.9"}, 30 * time.Minute, false, smsflow.ConsentUnsubscribed}, // dated before the STOP
			{smsflow.ConsentSubscribed, smsflow.SourceWebForm, map[string]any{"ip": "203.0.113.9"}, 3 * time.Hour, true, smsflow.ConsentSubscribed},
		}
		for i, s := range steps {
			err := add(s.status, s.src, s.ev, t0.Add(s.at))
			if (err == nil) != s.ok {
				t.Fatalf("step %d (%s by %s): err %v, want ok=%v", i, s.status, s.src, err, s.ok)
			}
			if err != nil && smsflow.ErrorCode(err) != smsflow.ECONFLICT {
				t.Errorf("step %d: code %s, want conflict", i, smsflow.ErrorCode(err))
			}
			c, err := db.ConsentLedger(ctx, ph)
			if err != nil {
				t.Fatal(err)
			}
			if c.Status != s.after {
				t.Errorf("step %d: status %s, want %s", i, c.Status, s.after)
			}
		}
		c, _ := db.ConsentLedger(ctx, ph)
		if len(c.Ledger) != 3 {
			t.Errorf("ledger has %d entries, want 3 (refused changes are recorded nowhere)", len(c.Ledger))
		}
	})
}

func TestSettingOrInit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		v1, created, err := db.SettingOrInit(ctx, "write_key", func() string { return "first" })
		if err != nil || !created || v1 != "first" {
			t.Fatalf("first: %q %v %v", v1, created, err)
		}
		v2, created, err := db.SettingOrInit(ctx, "write_key", func() string { return "second" })
		if err != nil || created || v2 != "first" {
			t.Fatalf("second: %q %v %v", v2, created, err)
		}
	})
}

func TestRebindDollar(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT ? , ?":            "SELECT $1 , $2",
		"WHERE a = '?' AND b = ?": "WHERE a = '?' AND b = $1",
		"no placeholders":         "no placeholders",
	} {
		if got := store.RebindDollar(in); got != want {
			t.Errorf("RebindDollar(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOpenRejectsUnknownScheme(t *testing.T) {
	if _, err := store.Open("mysql://x"); err == nil {
		t.Error("mysql:// accepted")
	}
}
