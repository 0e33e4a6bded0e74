package store_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

var errRollback = errors.New("rollback")

// BenchmarkClaimOutbox measures one claim of 100 messages on SQLite: with
// no waiting flow (the statement of old), and with the 20,000 queued
// messages of a held flow in front of the ones that may go, which the claim
// skips. Each claim is rolled back, so every iteration sees the same outbox.
//
//	go test ./store -run '^$' -bench ClaimOutbox -benchtime 200x
func BenchmarkClaimOutbox(b *testing.B) {
	db, err := store.Open("sqlite:" + filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC)
	const held, live = 20_000, 1_000
	err = db.WriteTx(ctx, func(tx *store.Tx) error {
		for i := range held + live {
			flowID := "held"
			if i >= held {
				flowID = "live"
			}
			m := &smsflow.Message{Direction: "out", RunID: int64(i + 1), StepID: "s", FlowID: flowID, Category: "promo", ContactID: fmt.Sprint("c", i),
				Phone: "+14155550100", Body: "hi", Status: smsflow.MessageQueued, CreatedAt: now, UpdatedAt: now}
			if _, err := tx.InsertMessage(m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		waiting []string
		want    string
	}{
		{"none", nil, "held"},
		{"held-backlog", []string{"held"}, "live"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				err := db.WriteTx(ctx, func(tx *store.Tx) error {
					ms, err := tx.ClaimOutbox(now, 100, store.OutboxScope{Waiting: c.waiting})
					if err != nil {
						return err
					}
					if len(ms) != 100 || ms[0].FlowID != c.want {
						return fmt.Errorf("claimed %d, first of %q; want 100 of %q", len(ms), ms[0].FlowID, c.want)
					}
					return errRollback
				})
				if !errors.Is(err, errRollback) {
					b.Fatal(err)
				}
			}
		})
	}
}
