package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow/bench"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// The benchmarks that start the app run here, with the app of this
// command (package bench cannot import it); bench's own tests cover the
// rest.

// TestBenchFlowsCounts runs both modes of `bench flows` briefly: every event
// the API accepted must reach the provider exactly once.
func TestBenchFlowsCounts(t *testing.T) {
	for name, dsn := range storetest.DSNs(t) {
		t.Run(name, func(t *testing.T) {
			results, err := bench.RunFlows(context.Background(), benchHarness(), bench.FlowsOptions{DSN: dsn, Duration: 500 * time.Millisecond, Rate: 100,
				Contacts: 20, Clients: 2, Batch: 10, Backlog: 50, Mode: "both", Progress: io.Discard, Log: testLog{t}})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(results), 2; got != want {
				t.Fatalf("%d results, want %d", got, want)
			}
			for _, r := range results {
				if r.Events == 0 {
					t.Errorf("%s: no events accepted", r.Mode)
				}
				if got, want := r.Messages, r.Events; got != want {
					t.Errorf("%s: %d messages reached the provider, want one per accepted event (%d)", r.Mode, got, want)
				}
				if got, want := r.Errors, int64(0); got != want {
					t.Errorf("%s: %d errors, want %d", r.Mode, got, want)
				}
			}
		})
	}
}

// TestBenchSend drains a 400-message outbox through the command, with
// status callbacks (the leg with receipts alone: the database is given), on
// each database, and checks that every message reached
// the fake Twilio exactly once and ended delivered with its sid.
func TestBenchSend(t *testing.T) {
	const messages = 400
	for name, dsn := range storetest.DSNs(t) {
		t.Run(name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := benchCommand(bench.Send)(context.Background(), []string{"--db", dsn, "--messages", "400", "--receipts", "--baseline=false", "--progress", "1s"}, &out, &errb)
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

// TestBenchSendReceiptsRatio runs the default --receipts mode, a leg
// without receipts then one with them, each on a fresh SQLite database, and
// checks both legs and the ratio line (issue 19: receipts at the speed of
// sending).
func TestBenchSendReceiptsRatio(t *testing.T) {
	var out, errb bytes.Buffer
	err := benchCommand(bench.Send)(context.Background(), []string{"--messages", "200", "--receipts", "--progress", "1s"}, &out, &errb)
	if err != nil {
		t.Fatalf("bench send: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
	}
	for _, want := range []string{"without receipts: check: each of the 200 messages reached the provider exactly once",
		"with receipts: check: each of the 200 messages reached the provider exactly once", "with receipts / without: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestBenchBroadcast runs a 2,000-contact broadcast through the command and
// checks that every contact entered once and got exactly one message, which
// the provider delivered.
func TestBenchBroadcast(t *testing.T) {
	const contacts = 2000
	for name, dsn := range storetest.DSNs(t) {
		t.Run(name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := benchCommand(bench.Broadcast)(context.Background(), []string{"--db", dsn, "--contacts", "2000", "--lead", "0s", "--progress", "1s"}, &out, &errb)
			if err != nil {
				t.Fatalf("bench broadcast: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), "each of the 2000 contacts got exactly one message") {
				t.Errorf("output lacks the check line:\n%s", out.String())
			}
			wantCounts(t, dsn, []countCheck{
				{"contacts", `SELECT COUNT(*) FROM contacts`, contacts},
				{"runs of the flow", `SELECT COUNT(*) FROM runs WHERE flow_id = 'broadcast'`, contacts},
				{"completed runs", `SELECT COUNT(*) FROM runs WHERE flow_id = 'broadcast' AND status = 'completed'`, contacts},
				{"outbound messages", `SELECT COUNT(*) FROM messages WHERE direction = 'out'`, contacts},
				{"delivered messages", `SELECT COUNT(*) FROM messages WHERE direction = 'out' AND status = 'delivered'`, contacts},
				{"contacts without exactly one message",
					`SELECT COUNT(*) FROM contacts c WHERE (SELECT COUNT(*) FROM messages m WHERE m.contact_id = c.id AND m.direction = 'out') <> 1`, 0},
				{"messages to a number other than the contact's",
					`SELECT COUNT(*) FROM messages m JOIN contacts c ON c.id = m.contact_id WHERE m.phone <> c.phone`, 0},
				{"events left in the engine's inbox", `SELECT COUNT(*) FROM inbox`, 0},
			})
		})
	}
}

// TestBenchBroadcastRefusesFullDatabase checks that a database that already
// holds contacts is refused rather than mixed into the measurement.
func TestBenchBroadcastRefusesFullDatabase(t *testing.T) {
	dsn := storetest.DSNs(t)["sqlite"]
	var out, errb bytes.Buffer
	args := []string{"--db", dsn, "--contacts", "10", "--lead", "0s"}
	if err := benchCommand(bench.Broadcast)(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("first run: %v\n%s", err, errb.String())
	}
	err := benchCommand(bench.Broadcast)(context.Background(), args, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "already holds 10 contacts") {
		t.Errorf("second run on the same database: err = %v, want a refusal naming the 10 contacts", err)
	}
}

// countCheck is one COUNT(*) query a benchmark's database must answer with
// want after the run.
type countCheck struct {
	what  string
	query string
	want  int64
}

// wantCounts opens the database a benchmark left and checks the counts.
func wantCounts(t *testing.T, dsn string, checks []countCheck) {
	t.Helper()
	db, err := store.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range checks {
		var got int64
		if err := db.QueryRowForTest(context.Background(), c.query).Scan(&got); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		if got != c.want {
			t.Errorf("%s = %d, want %d", c.what, got, c.want)
		}
	}
}

// TestBenchIngest runs both modes of `bench ingest` briefly on each
// database: both legs must store events without an error, over keep-alive
// connections, and report how many events each group commit carried.
func TestBenchIngestRefusesAnUnknownMode(t *testing.T) {
	var out, errb bytes.Buffer
	err := benchCommand(bench.Ingest)(context.Background(), []string{"--mode", "single", "--duration", "10ms"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "use batch, track or both") {
		t.Fatalf("bench ingest --mode single: %v, want the modes named", err)
	}
}

func TestBenchIngest(t *testing.T) {
	for name, dsn := range storetest.DSNs(t) {
		t.Run(name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := benchCommand(bench.Ingest)(context.Background(), []string{"--db", dsn, "--duration", "500ms", "--mode", "both",
				"--clients", "2", "--track-clients", "4", "--batch", "10", "--contacts", "50"}, &out, &errb)
			if err != nil {
				t.Fatalf("bench ingest: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
			}
			legs := map[string][]string{}
			for _, line := range strings.Split(out.String(), "\n") {
				f := strings.Fields(line)
				if len(f) >= 11 && (f[1] == "batch" || f[1] == "track") {
					legs[f[1]] = f
				}
			}
			for _, mode := range []string{"batch", "track"} {
				f, ok := legs[mode]
				if !ok {
					t.Fatalf("no %s row in:\n%s", mode, out.String())
				}
				if f[4] == "0" {
					t.Errorf("%s: no events stored:\n%s", mode, out.String())
				}
				if f[8] != "0" {
					t.Errorf("%s: %s errors, want 0:\n%s", mode, f[8], out.String())
				}
				if f[10] == "-" || strings.HasPrefix(f[10], "0") {
					t.Errorf("%s: events per commit %s, want at least one:\n%s", mode, f[10], out.String())
				}
			}
		})
	}
}
