package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSimulateCommand runs `smsflow simulate` on the bundled examples: the
// welcome example's STOP texts print their consent and reply lines (text and
// --json), a refused input line is printed and the run goes on (exit 0), and
// cart recovery without its contacts says on stderr why nothing was sent.
func TestSimulateCommand(t *testing.T) {
	ex := filepath.Join("..", "..", "examples")
	cfg := filepath.Join(ex, "expected", "smsflow.yaml")
	simulate := func(args ...string) (string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		args = append([]string{"simulate", "--config", cfg, "--flows", filepath.Join(ex, "flows")}, args...)
		if code := run(context.Background(), args, &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		return out.String(), errb.String()
	}

	text, stderr := simulate("--events", filepath.Join(ex, "events", "welcome.ndjson"))
	for _, want := range []string{
		"  dee" + strings.Repeat(" ", 27) + "consent unsubscribed (keyword)\n",
		"  dee" + strings.Repeat(" ", 27) + "reply    keyword:stop\n      \"Glow: You are unsubscribed",
		"  ana" + strings.Repeat(" ", 27) + "reply    keyword:start\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text output lacks %q:\n%s", want, text)
		}
	}
	if stderr != "" {
		t.Errorf("stderr %q, want nothing", stderr)
	}
	out, _ := simulate("--events", filepath.Join(ex, "events", "welcome.ndjson"), "--json")
	kinds := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("--json line %q: %v", l, err)
		}
		kinds[m["kind"].(string)]++
	}
	if kinds["reply"] != 3 || kinds["consent"] != 8 {
		t.Errorf("--json kinds %v, want 3 replies (STOP, STOP, START) and 8 consent lines", kinds)
	}

	events := filepath.Join(t.TempDir(), "events.ndjson")
	if err := os.WriteFile(events, []byte(`{"type":"identify","userId":"ana","traits":{"phone":"+1 415 555 0100"},"timestamp":"2026-03-02T17:00:00Z"}
{"type":"identify","userId":"bo","traits":{"phone":"+1 415 555 0100"},"timestamp":"2026-03-02T17:01:00Z"}
{"type":"consent","userId":"ana","status":"subscribed","source":"web_form","timestamp":"2026-03-02T17:02:00Z"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	text, _ = simulate("--events", events)
	if !strings.Contains(text, "refused line 2: phone +1415***0100 already belongs to") || !strings.Contains(text, "welcome          enter") {
		t.Errorf("a refused line and the run going on, got:\n%s", text)
	}

	_, stderr = simulate("--events", filepath.Join(ex, "events", "cart-recovery.ndjson"))
	if !strings.Contains(stderr, "skipped:no_consent") || !strings.Contains(stderr, "--contacts") {
		t.Errorf("cart recovery without contacts: stderr %q, want a note naming skipped:no_consent and --contacts", stderr)
	}
	_, stderr = simulate("--events", filepath.Join(ex, "events", "cart-recovery.ndjson"), "--contacts", filepath.Join(ex, "events", "cart-recovery.contacts.ndjson"))
	if stderr != "" {
		t.Errorf("cart recovery with contacts: stderr %q, want nothing", stderr)
	}
}
