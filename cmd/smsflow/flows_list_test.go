package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store/storetest"
)

// flowsList runs `smsflow flows ARGS... --json` and returns the flows by id.
func flowsList(t *testing.T, args ...string) map[string]flowRow {
	t.Helper()
	code, out, errOut := runArgs(append(append([]string{"flows"}, args...), "--json")...)
	if code != 0 {
		t.Fatalf("flows %v: exit %d: %s", args, code, errOut)
	}
	var got struct {
		Since string    `json:"since"`
		Flows []flowRow `json:"flows"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Since == "" {
		t.Fatalf("flows %v --json: %v\n%s", args, err, out)
	}
	byID := map[string]flowRow{}
	for _, f := range got.Flows {
		byID[f.ID] = f
	}
	return byID
}

// TestFlowsCommand: `smsflow flows` lists every flow of the database with
// version, status (held with its reason, as a node with the configured
// provider decides it, counting the live nodes' loads), origin and the runs
// entered in the last 7 days — on both databases.
func TestFlowsCommand(t *testing.T) {
	for kind, dsn := range storetest.DSNs(t) {
		t.Run(kind, func(t *testing.T) {
			// The bundled examples, live with the console provider; one
			// contact enters the welcome example; an API flow (paused).
			w := startHeldWorld(t, dsn, heldWorldConfig("console", "", ""))
			w.subscribe("ana", "+14155550100")
			w.outcome("ana", "hello", smsflow.MessageSent)
			if r := call(t, "PUT", w.app.URL()+"/v1/flows/api-promo", "bearer:ak_p", strings.Replace(otherWelcome, "other-welcome", "api-promo", 1)); r.status != 201 {
				t.Fatalf("PUT api-promo: %d %s", r.status, r.raw)
			}
			flows := flowsList(t, "--db", dsn)
			if len(flows) != len(exampleIDs)+1 {
				t.Errorf("%d flows listed, want the %d examples and api-promo: %v", len(flows), len(exampleIDs), flows)
			}
			if f := flows["welcome"]; f.Status != "active" || f.Origin != "example" || f.Version != 1 || f.Entered7d != 1 || f.Name != "Welcome series" || len(f.LoadedBy) != 1 {
				t.Errorf("welcome: %+v; want active, example, version 1, 1 entered, loaded by the live node", f)
			}
			if f := flows["cart-recovery"]; f.Status != "active" || f.Entered7d != 0 {
				t.Errorf("cart-recovery: %+v; want active, 0 entered", f)
			}
			if f := flows["api-promo"]; f.Status != "paused" || f.Origin != "api" || f.Entered7d != 0 || f.HeldReason != "" {
				t.Errorf("api-promo: %+v; want paused, api, 0 entered", f)
			}
			if paused := flowsList(t, "--db", dsn, "--status", "paused"); len(paused) != 1 || paused["api-promo"].ID == "" {
				t.Errorf("--status paused: %v", paused)
			}

			// With a real provider configured, the command sees the
			// examples as such a node would: held.
			tw := filepath.Join(t.TempDir(), "twilio.yaml")
			if err := os.WriteFile(tw, []byte("provider: twilio\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			held := flowsList(t, "--config", tw, "--db", dsn, "--status", "held")
			if len(held) != len(exampleIDs) || held["welcome"].HeldReason != "bundled example; the provider is twilio" {
				t.Errorf("with provider twilio, held: %v", held)
			}

			// The table: one aligned row per flow, the held reason in the status.
			code, table, errOut := runArgs("flows", "--db", dsn)
			if code != 0 {
				t.Fatalf("flows: exit %d %s", code, errOut)
			}
			lines := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
			if len(lines) != len(exampleIDs)+2 || !strings.HasPrefix(lines[0], "ID ") {
				t.Fatalf("table:\n%s", table)
			}
			col := strings.Index(lines[0], "ENTERED 7D")
			for _, l := range lines[1:] {
				if strings.HasPrefix(l, "welcome ") && !strings.HasPrefix(l[col:], "1 ") {
					t.Errorf("the ENTERED 7D column of welcome is not 1 under its header:\n%s", table)
				}
			}

			// No server runs it: every example is held, saying why; the
			// entry stays counted. Archived, it is listed as archived.
			w.app.Stop()
			flows = flowsList(t, "--db", dsn)
			if f := flows["welcome"]; f.Status != "held" || !strings.HasPrefix(f.HeldReason, "no live node has loaded ") || f.Entered7d != 1 {
				t.Errorf("welcome with no server: %+v; want held (no live node has loaded …), 1 entered", f)
			}
			if code, out, errOut := runArgs("flows", "--db", dsn); code != 0 || !strings.Contains(out, "held (no live node has loaded ") {
				t.Errorf("table with no server: exit %d %q %q", code, out, errOut)
			}
			if code, _, errOut := runArgs("flows", "archive", "welcome", "--db", dsn); code != 0 {
				t.Fatalf("archive: %s", errOut)
			}
			archived := flowsList(t, "--db", dsn, "--status", "archived")
			if f := archived["welcome"]; len(archived) != 1 || f.Status != "archived" || f.Entered7d != 1 || f.LoadedBy != nil {
				t.Errorf("--status archived: %v", archived)
			}
		})
	}
}

// TestFlowsCommandNeverCreatesADatabase: without a database, `smsflow flows`
// says how to get one and creates nothing.
func TestFlowsCommandNeverCreatesADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.db")
	code, out, errOut := runArgs("flows", "--db", "sqlite:"+path)
	if code != 1 || out != "" || !strings.Contains(errOut, "no smsflow database at") || !strings.Contains(errOut, "smsflow serve") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("flows created %s: %v", path, err)
	}
}
