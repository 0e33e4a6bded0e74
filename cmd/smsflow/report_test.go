package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// reportDB writes a database with a two-step flow, 40 treatment runs (ten
// converted, each first message delivered) and 40 holdout runs (two
// converted), and returns its DSN.
func reportDB(t *testing.T) string {
	t.Helper()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "r.db")
	ctx := context.Background()
	db, err := store.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	src := "id: promo\nname: Spring promo\ncategory: promo\ntrigger:\n  event: Checkout Started\nsteps:\n  - id: first\n    send: \"Sale\"\n  - id: second\n    send: \"Last day\"\n"
	at := time.Date(2025, 3, 2, 10, 0, 0, 0, time.UTC)
	if _, _, err := db.SaveFlow(ctx, "promo", "h", src, "promo.yaml", "file", "active", at); err != nil {
		t.Fatal(err)
	}
	err = db.WriteTx(ctx, func(tx *store.Tx) error {
		for i := 0; i < 80; i++ {
			r := &smsflow.Run{FlowID: "promo", FlowVersion: 1, ContactID: "c", Status: smsflow.RunCompleted, Holdout: i >= 40, EnteredAt: at, UpdatedAt: at}
			if (i < 40 && i%4 == 0) || i == 40 || i == 41 {
				r.GoalAt, r.GoalValue = at.Add(time.Hour), 25
			}
			if err := tx.InsertRun(r); err != nil {
				return err
			}
			if i < 40 {
				m := &smsflow.Message{Direction: "out", RunID: r.ID, StepID: "first", FlowID: "promo", ContactID: "c", Phone: "+14155550100",
					Body: "Sale", Segments: 1, Status: smsflow.MessageDelivered, ProviderID: "p", CreatedAt: at, UpdatedAt: at}
				if _, err := tx.InsertMessage(m); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

func TestReportCommand(t *testing.T) {
	dsn := reportDB(t)
	ctx := context.Background()
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"report", "promo", "--db", dsn, "--from", "2025-03-01", "--to", "2025-03-07"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	text := out.String()
	for _, want := range []string{
		"Spring promo (promo): runs entered 2025-03-01T00:00:00Z to 2025-03-08T00:00:00Z",
		"entered 80 (holdout 40); ended: completed 80",
		"lift (everyone assigned vs holdout): conversion 25.0% vs 5.0%, revenue per recipient 6.25 vs 1.25",
		"difference +20.00 pts",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	lines := strings.Split(text, "\n")
	var first, second string
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == "first" {
			first = l
		}
		if len(f) > 0 && f[0] == "second" {
			second = l
		}
	}
	// first: entered 0 (no decisions recorded), sent 40, delivered 40, 10 conversions.
	if f := strings.Fields(first); len(f) < 13 || f[2] != "40" || f[3] != "40" || f[11] != "10" {
		t.Errorf("first row = %q", first)
	}
	if f := strings.Fields(second); len(f) < 3 || f[2] != "0" {
		t.Errorf("second row = %q", second)
	}

	out.Reset()
	if code := run(ctx, []string{"report", "promo", "--csv", "--db", dsn, "--from", "2025-03-01"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "step_id,entered,sent") {
		t.Errorf("csv: exit %d %q %s", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run(ctx, []string{"report", "--program", "--db", dsn, "--from", "2025-03-01", "--to", "2025-03-02"}, &out, &errb); code != 0 || !strings.Contains(out.String(), `"sent": 40`) {
		t.Errorf("program: exit %d %q %s", code, out.String(), errb.String())
	}
	for _, args := range [][]string{{"report"}, {"report", "promo", "--csv", "--json"}, {"report", "promo", "--program"}} {
		errb.Reset()
		if code := run(ctx, args, &out, &errb); code != 2 || !strings.Contains(errb.String(), "usage: smsflow report") {
			t.Errorf("%v: exit %d %q", args, code, errb.String())
		}
	}
	errb.Reset()
	if code := run(ctx, []string{"report", "nope", "--db", dsn}, &out, &errb); code != 1 || !strings.Contains(errb.String(), `no flow "nope"`) {
		t.Errorf("unknown flow: exit %d %q", code, errb.String())
	}
	errb.Reset()
	if code := run(ctx, []string{"report", "promo", "--db", dsn, "--from", "soon"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "not a date") {
		t.Errorf("bad date: exit %d %q", code, errb.String())
	}
}
