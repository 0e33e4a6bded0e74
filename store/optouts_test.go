package store_test

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// TestOptOutsHeardAtCommit: a listener hears of the numbers a write
// transaction unsubscribed once it commits (never of a rolled-back one, nor
// of an opt-in), and the reader-pool reads the sender makes before and
// after its calls see them.
func TestOptOutsHeardAtCommit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var mu sync.Mutex
		var heard []string
		cancel := db.OnOptOut(func(phones []string) {
			mu.Lock()
			heard = append(heard, phones...)
			mu.Unlock()
		})
		t0 := time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC)
		add := func(ph string, status smsflow.ConsentStatus, at time.Time, fail bool) error {
			return db.WriteTx(ctx, func(tx *store.Tx) error {
				err := tx.AppendConsent(&smsflow.ConsentEntry{Phone: ph, ContactID: "c" + ph, Status: status, Source: smsflow.SourceKeyword,
					Evidence: map[string]any{"text": "x"}, OccurredAt: at, RecordedAt: at})
				if err == nil && fail {
					err = errors.New("rolled back")
				}
				return err
			})
		}
		const a, b, c = "+14155550100", "+14155550101", "+14155550102"
		for _, ph := range []string{a, b, c} {
			if err := add(ph, smsflow.ConsentSubscribed, t0, false); err != nil {
				t.Fatal(err)
			}
		}
		if err := add(a, smsflow.ConsentUnsubscribed, t0.Add(time.Second), false); err != nil {
			t.Fatal(err)
		}
		if err := add(b, smsflow.ConsentUnsubscribed, t0.Add(2*time.Second), true); err == nil {
			t.Fatal("the failing transaction committed")
		}
		mu.Lock()
		got := slices.Clone(heard)
		mu.Unlock()
		if !slices.Equal(got, []string{a}) {
			t.Errorf("heard %v, want only %s (committed opt-outs, not opt-ins nor rolled-back ones)", got, a)
		}
		st, err := db.LatestConsents(ctx, []string{a, b, c, "+14155550199"})
		if err != nil {
			t.Fatal(err)
		}
		if st[a] != smsflow.ConsentUnsubscribed || st[b] != smsflow.ConsentSubscribed || st[c] != smsflow.ConsentSubscribed || len(st) != 3 {
			t.Errorf("LatestConsents = %v", st)
		}
		outs, err := db.OptOutsSince(ctx, []string{a, b, c}, t0.Add(500*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if len(outs) != 1 || len(outs[a]) != 1 || !outs[a][0].Equal(t0.Add(time.Second)) {
			t.Errorf("OptOutsSince = %v", outs)
		}
		if outs, _ := db.OptOutsSince(ctx, []string{a}, t0.Add(2*time.Second)); len(outs) != 0 {
			t.Errorf("OptOutsSince after it = %v", outs)
		}
		cancel()
		if err := add(c, smsflow.ConsentUnsubscribed, t0.Add(3*time.Second), false); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(heard) != 1 {
			t.Errorf("a canceled listener still hears: %v", heard)
		}
	})
}
