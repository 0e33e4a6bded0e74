package engine_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

const waitThenSendFlow = `id: nudge
name: Nudge
category: behavior
trigger:
  event: Checkout Started
steps:
  - wait: 60m
  - id: reminder
    send: "{{ brand.name }}: still thinking it over?"
`

// countingStore is the engine's database, counting its write transactions.
type countingStore struct {
	*store.DB
	txs int
}

func (c *countingStore) WriteTx(ctx context.Context, fn func(*store.Tx) error) error {
	c.txs++
	return c.DB.WriteTx(ctx, fn)
}

// A pass of the engine opens a transaction for a kind of timer only when
// one of that kind is due (D105): while a run waits its hour, a pass is one
// transaction, for the inbox; once the hour is up the run's timer gets its
// own, and the run goes on to its send.
func TestPassOpensATransactionOnlyForTimersDue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, waitThenSendFlow)
		w.identify("ana", "+14155550101")
		w.subscribe("ana")
		w.track("ana", "Checkout Started", nil)

		cs := &countingStore{DB: db}
		eng := engine.New(cs, w.eng.Catalog(), w.clock, slog.New(slog.NewTextHandler(io.Discard, nil)),
			engine.Config{Brand: map[string]any{"name": "Glow"}, PublicURL: "https://sms.glow.example", Provider: "console"})
		pass := func() (handled, txs int) {
			t.Helper()
			cs.txs = 0
			n, err := eng.RunOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n, cs.txs
		}
		pass() // the first pass also brings the audience jobs up to date
		if n, txs := pass(); n != 0 || txs != 1 {
			t.Fatalf("run waiting an hour, nothing due: the pass handled %d items in %d transactions, want 0 in 1 (the inbox)", n, txs)
		}
		w.clock.Add(61 * time.Minute)
		if n, txs := pass(); n != 1 || txs != 2 {
			t.Fatalf("the run's hour is up: the pass handled %d items in %d transactions, want 1 in 2 (the inbox, the due runs)", n, txs)
		}
		var queued int
		if err := db.ReadQueryRow(ctx, `SELECT COUNT(*) FROM messages WHERE contact_id = 'ana' AND step_id = 'reminder'`).Scan(&queued); err != nil {
			t.Fatal(err)
		}
		if queued != 1 {
			t.Fatalf("the resumed run queued %d reminders, want 1", queued)
		}
	})
}
