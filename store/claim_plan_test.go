package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// The outbox claim walks the queue's own index (messages_outbox_sender)
// whatever the statistics say (D102). Statistics taken on a full queue — a
// first import, a broadcast's start — once made PostgreSQL walk the primary
// key instead and filter out every message sent since, so that each claim
// read the whole history before its first queued row.
func TestClaimWalksTheQueueIndexWithStaleStatistics(t *testing.T) {
	db := storetest.OpenMigrated(t, storetest.PostgresDSN(t))
	for _, q := range []string{
		`ALTER TABLE messages SET (autovacuum_enabled = false)`,
		// 20,000 queued messages, analyzed while every one is queued …
		`INSERT INTO messages (direction, run_id, step_id, contact_id, phone, body, status, created_at, updated_at)
SELECT 'out', i, 'a', 'c' || i, '+14155550100', 'hi', 'queued', i, i FROM generate_series(1, 20000) AS i`,
		`ANALYZE messages`,
		// … then all but the last 100 sent, as a send in progress leaves them.
		`UPDATE messages SET status = 'sent', provider = 'twilio', provider_id = 'SM' || id WHERE run_id <= 19900`,
	} {
		if err := store.ExecForTest(db, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	now := time.Unix(1_800_000_000, 0)
	for _, scope := range []store.OutboxScope{{}, {Calling: 10}, {After: 19_000}, {Sender: "+15005550006", Waiting: []string{"paused"}}} {
		var plan string
		err := db.WriteTx(ctx, func(tx *store.Tx) (err error) {
			plan, err = tx.ExplainClaimForTest(now, 100, scope)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// An index scan (a bitmap scan would be sorted afterwards, every
		// queued row of a backlog per claim).
		if !strings.Contains(plan, "Index Scan using messages_outbox_sender") {
			t.Errorf("scope %+v: the claim does not walk messages_outbox_sender:\n%s", scope, plan)
		}
	}
}
