package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow/store/storetest"
)

// TestTwoNodesShareOnePostgres runs two real `smsflow serve` processes on one
// PostgreSQL database, sends half the events to each, and checks that every
// run was advanced exactly once per step: one message and one decision per
// send step, every run completed.
func TestTwoNodesShareOnePostgres(t *testing.T) {
	dsn := storetest.PostgresDSN(t) // skips without PostgreSQL
	dir := t.TempDir()
	flows := filepath.Join(dir, "flows")
	if err := os.Mkdir(flows, 0o755); err != nil {
		t.Fatal(err)
	}
	const flowSrc = `id: ping
category: service
trigger:
  event: Ping
steps:
  - id: first
    send: "Ping 1 for {{ contact.id }}"
  - wait: 2s
  - id: second
    send: "Ping 2 for {{ contact.id }}"
`
	if err := os.WriteFile(filepath.Join(flows, "ping.yaml"), []byte(flowSrc), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"SMSFLOW_WRITE_KEY=wk_two", "SMSFLOW_SERVER_KEY=sk_two", "SMSFLOW_ADMIN_KEY=ak_two", "SMSFLOW_FLOWS=" + flows}
	a := startServer(t, dsn, env...)
	b := startServer(t, dsn, env...)

	const contacts = 120
	for i := 0; i < contacts; i++ {
		node := a
		if i%2 == 1 {
			node = b
		}
		r := call(t, "POST", node.url+"/v1/batch", "basic:sk_two", fmt.Sprintf(`{"batch":[
			{"type":"identify","userId":"c%d","traits":{"phone":"+1 415 555 %04d"},"messageId":"id-%d"},
			{"type":"track","userId":"c%d","event":"Ping","messageId":"ping-%d"}]}`, i, 1000+i, i, i, i))
		if r.status != 200 || strings.Contains(r.raw, `"errors"`) {
			t.Fatalf("batch to node: %d %s", r.status, r.raw)
		}
	}
	// Wait (bounded) for both nodes to finish every run: a condition on the
	// database, polled, since the work happens in other processes.
	deadline := time.Now().Add(60 * time.Second)
	var n int
	for {
		r := call(t, "GET", a.url+"/v1/messages?limit=1000", "bearer:ak_two", "")
		n = len(r.body["messages"].([]any))
		if n >= 2*contacts || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n != 2*contacts {
		t.Fatalf("%d messages, want %d", n, 2*contacts)
	}
	seen := map[string]bool{}
	r := call(t, "GET", a.url+"/v1/messages?limit=1000", "bearer:ak_two", "")
	for _, m := range r.body["messages"].([]any) {
		msg := m.(map[string]any)
		key := fmt.Sprint(msg["run_id"], "/", msg["step_id"])
		if seen[key] {
			t.Errorf("run step %s sent twice", key)
		}
		seen[key] = true
	}
	for i := 0; i < contacts; i += 17 {
		r := call(t, "GET", fmt.Sprintf("%s/v1/contacts/c%d/timeline", b.url, i), "bearer:ak_two", "")
		decisions := 0
		for _, it := range r.body["items"].([]any) {
			if it.(map[string]any)["type"] == "decision" {
				decisions++
			}
		}
		if decisions != 2 {
			t.Errorf("c%d: %d decisions, want 2 (one per send step)", i, decisions)
		}
		c := call(t, "GET", fmt.Sprintf("%s/v1/contacts/c%d", b.url, i), "bearer:ak_two", "")
		if runs := c.body["active_runs"].([]any); len(runs) != 0 {
			t.Errorf("c%d still has open runs: %v", i, runs)
		}
	}
	for _, s := range []*server{a, b} {
		if log := s.stoppedLog(); strings.Contains(log, "level=ERROR") || strings.Contains(log, "panic") {
			t.Errorf("node log has errors:\n%s", log)
		}
	}
}
