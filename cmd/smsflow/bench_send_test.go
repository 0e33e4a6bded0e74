package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/smsflow/smsflow/store/storetest"
)

// TestBenchSend drains a 400-message outbox through the command, with
// status callbacks, on each database, and checks that every message reached
// the fake Twilio exactly once and ended delivered with its sid.
func TestBenchSend(t *testing.T) {
	const messages = 400
	for name, dsn := range storetest.DSNs(t) {
		t.Run(name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := benchSend(context.Background(), []string{"--db", dsn, "--messages", "400", "--receipts", "--progress", "1s"}, &out, &errb)
			if err != nil {
				t.Fatalf("bench send: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), "each of the 400 messages reached the provider exactly once") {
				t.Errorf("output lacks the check line:\n%s", out.String())
			}
			wantCounts(t, dsn, []countCheck{
				{"outbound messages", `SELECT COUNT(*) FROM messages WHERE direction = 'out'`, messages},
				{"delivered messages with a sid", `SELECT COUNT(*) FROM messages WHERE status = 'delivered' AND provider = 'twilio' AND provider_id LIKE 'SM%'`, messages},
				{"distinct sids", `SELECT COUNT(DISTINCT provider_id) FROM messages`, messages},
				{"receipts left pending", `SELECT COUNT(*) FROM pending_receipts`, 0},
			})
		})
	}
}
