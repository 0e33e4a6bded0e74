package main

import (
	"bytes"
	"context"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// TestBroadcastPhones checks the benchmark's numbers over their whole range
// (a sample) and the first 2,000 in full: each is a valid US number that
// libphonenumber classes fixed_line_or_mobile in the zone the contact gets,
// and no two are the same.
func TestBroadcastPhones(t *testing.T) {
	seen := map[string]int{}
	check := func(i int) {
		got, zone := broadcastPhone(i)
		if j, dup := seen[got]; dup {
			t.Fatalf("contacts %d and %d share %s", j, i, got)
		}
		seen[got] = i
		n, err := phone.Parse(got, "")
		if err != nil {
			t.Fatalf("contact %d: %s: %v", i, got, err)
		}
		if n.E164 != got || n.Type != "fixed_line_or_mobile" || !slices.Contains(n.Timezones, zone) {
			t.Fatalf("contact %d: %s parses as %+v, want E.164 %s, fixed_line_or_mobile, zone %s", i, got, n, got, zone)
		}
	}
	for i := range 2_000 {
		check(i)
	}
	for i := 10_000; i < broadcastCapacity; i += 9973 {
		check(i)
	}
	check(broadcastCapacity - 1)
}

// TestBroadcastContactIDs checks that contact ids sort in creation order
// (the segment scan's cursor walks them by id).
func TestBroadcastContactIDs(t *testing.T) {
	for _, n := range []int{10, 1_000_000, 12_345_678} {
		idx := []int{0, 1, 9, n / 2, n - 2, n - 1}
		slices.Sort(idx)
		idx = slices.Compact(idx)
		ids := make([]string, len(idx))
		for k, i := range idx {
			ids[k] = broadcastContactID(i, n)
		}
		if !sort.StringsAreSorted(ids) {
			t.Errorf("n=%d: ids %v do not sort in creation order", n, ids)
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
			err := benchBroadcast(context.Background(), []string{"--db", dsn, "--contacts", "2000", "--lead", "0s", "--progress", "1s"}, &out, &errb)
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
	if err := benchBroadcast(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("first run: %v\n%s", err, errb.String())
	}
	err := benchBroadcast(context.Background(), args, &out, &errb)
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
