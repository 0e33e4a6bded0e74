package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow/bench"
	"github.com/smsflow/smsflow/store/storetest"
)

// TestTakeoverOfAKilledNodesClaims runs two `serve` nodes on one
// PostgreSQL with a short node_ttl and a paced Twilio sender, so each holds
// up to a second's worth of claimed messages while it waits for their
// slots. One node is killed with SIGKILL while it holds claims, and is not
// restarted: the other must take its claims back once its heartbeat is
// older than the lease (never-called ones queued again, called ones
// reconciled with the provider), and every message must reach the
// provider exactly once.
func TestTakeoverOfAKilledNodesClaims(t *testing.T) {
	dsn := storetest.PostgresDSN(t) // skips without PostgreSQL
	const (
		contacts = 240
		ttl      = 3 * time.Second
	)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	h := newKillHarness(t, ctx, "postgres", dsn,
		"SMSFLOW_TWILIO_RATE=40/s", // a round claims 40 and waits for their slots
		"SMSFLOW_TWILIO_RECONCILE_AFTER=2s",
		"SMSFLOW_NODE_TTL="+ttl.String(),
		"SMSFLOW_WRITE_KEY=wk_take", "SMSFLOW_SERVER_KEY=sk_take", "SMSFLOW_ADMIN_KEY=ak_take", "SMSFLOW_LOG_LEVEL=info",
	)
	fake, sdb, count := h.fake, h.sdb, h.count
	appName := fmt.Sprintf("smsflow-takeover-%x", time.Now().UnixNano())
	addrA, addrB := crashFreeAddr(t), crashFreeAddr(t)
	a := startServerIn(t, t.TempDir(), []string{"--db", withAppName(t, dsn, appName), "--addr", addrA}, h.env...)
	b := startServerIn(t, t.TempDir(), []string{"--db", dsn, "--addr", addrB}, h.env...)
	host, _ := os.Hostname()
	nodeA := host + "/" + addrA

	// Every contact gets one "Parcel Ready", half through each node.
	for from := 0; from < contacts; from += 40 {
		var items []string
		for i := from; i < from+40; i++ {
			ph, _ := bench.Phone(i)
			items = append(items,
				fmt.Sprintf(`{"type":"identify","userId":"take-%04d","traits":{"phone":%q},"messageId":"take-id-%04d"}`, i, ph, i),
				fmt.Sprintf(`{"type":"track","userId":"take-%04d","event":"Parcel Ready","messageId":"take-ev-%04d","properties":{"ref":"ref-%05d"}}`, i, i, i))
		}
		node := a
		if from/40%2 == 1 {
			node = b
		}
		if r := call(t, "POST", node.url+"/v1/batch", "basic:sk_take", `{"batch":[`+strings.Join(items, ",")+`]}`); r.status != 200 || r.body["errors"] != nil {
			t.Fatalf("batch: %d %s", r.status, r.raw)
		}
	}

	// Kill A while it holds claims it has not called yet.
	deadline := time.Now().Add(60 * time.Second)
	// A claimed row stays queued with its round's token (D91).
	for count(`SELECT COUNT(*) FROM messages WHERE status = 'queued' AND claim <> 0 AND claimed_by = ? AND called_at = 0`, nodeA) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("node A never held uncalled claims; provider has %d requests\nA's log:\n%s", fake.Count(), a.stoppedLog())
		}
		time.Sleep(2 * time.Millisecond) // polling a condition, bounded by deadline
	}
	h.kill(a, appName)
	killed := time.Now()
	uncalled := count(`SELECT COUNT(*) FROM messages WHERE status = 'queued' AND claim <> 0 AND claimed_by = ? AND called_at = 0`, nodeA)
	called := count(`SELECT COUNT(*) FROM messages WHERE status = 'queued' AND claim <> 0 AND claimed_by = ? AND called_at <> 0`, nodeA)
	if uncalled == 0 {
		t.Fatalf("the kill left node A no uncalled claims: nothing for B to take over")
	}
	t.Logf("A killed holding %d uncalled and %d called claims; provider has %d requests", uncalled, called, fake.Count())

	// B takes them over after the lease, and everything drains.
	deadline = time.Now().Add(90 * time.Second)
	var tookOver time.Duration
	for {
		if tookOver == 0 && count(`SELECT COUNT(*) FROM messages WHERE status = 'queued' AND claim <> 0 AND claimed_by = ?`, nodeA) == 0 {
			tookOver = time.Since(killed)
		}
		pending := count(`SELECT COUNT(*) FROM messages WHERE direction = 'out' AND status IN ('queued', 'sending', 'unknown')`)
		msgs := count(`SELECT COUNT(*) FROM messages WHERE direction = 'out'`)
		if pending == 0 && msgs == contacts {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not drained 90 s after the kill: %d messages, %d queued, sending or unknown: %s\nB's log:\n%s", msgs, pending, pendingMessages(t, sdb), b.stoppedLog())
		}
		time.Sleep(50 * time.Millisecond) // polling a condition, bounded by deadline
	}
	// A's last heartbeat was at most one heartbeat (ttl/8) before the kill.
	if earliest := ttl - ttl/8; tookOver < earliest {
		t.Errorf("A's claims were taken back %s after the kill, before its lease could have ended (%s)", tookOver, earliest)
	}
	t.Logf("A's claims taken back %s after the kill (node_ttl %s)", tookOver.Round(time.Millisecond), ttl)

	// Exactly once at the provider, by message id and by number.
	perMessage, perNumber := map[string]int{}, map[string]int{}
	for _, r := range fake.Requests() {
		perMessage[r.StatusCallback]++
		perNumber[r.To]++
	}
	for cb, n := range perMessage {
		if n > 1 {
			t.Errorf("%s: %d provider requests, want 1", cb, n)
		}
	}
	if len(perNumber) != contacts {
		t.Errorf("%d numbers reached at the provider, want %d", len(perNumber), contacts)
	}
	for to, n := range perNumber {
		if n > 1 {
			t.Errorf("%s got %d messages, want 1", to, n)
		}
	}
	if n := count(`SELECT COUNT(*) FROM messages WHERE direction = 'out' AND status NOT IN ('sent', 'delivered')`); n != 0 {
		t.Errorf("%d messages ended neither sent nor delivered (the fake refuses nothing and can be asked)", n)
	}
	log := b.stoppedLog()
	if !strings.Contains(log, "of_stale_nodes=true") {
		t.Errorf("node B's log does not say it took back a stale node's claims:\n%s", log)
	}
	if strings.Contains(log, "panic") {
		t.Errorf("node B's log mentions a panic:\n%s", log)
	}
}

// pendingMessages describes the outbound messages not yet done, for a
// failure message.
func pendingMessages(t *testing.T, sdb *sql.DB) string {
	t.Helper()
	rows, err := sdb.Query(`SELECT id, status, error_code, claimed_by, called_at, next_attempt_at FROM messages WHERE direction = 'out' AND status IN ('queued', 'sending', 'unknown') ORDER BY id LIMIT 20`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, calledAt, next int64
		var status, code, by string
		if err := rows.Scan(&id, &status, &code, &by, &calledAt, &next); err != nil {
			return err.Error()
		}
		out = append(out, fmt.Sprintf("message %d %s %q claimed by %q called_at %d next_attempt_at %d", id, status, code, by, calledAt, next))
	}
	return strings.Join(out, "; ")
}
