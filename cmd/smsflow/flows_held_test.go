package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// myWelcome is a user's own welcome flow: one text at once, one a day
// later (so its runs wait).
const myWelcome = `id: my-welcome
category: lifecycle
trigger:
  consent: subscribed
steps:
  - id: hi
    send: "Glow: welcome aboard! Reply STOP to opt out."
  - wait: 1d
  - id: tip
    send: "Glow: a tip for your first order. Reply STOP to opt out."
`

// otherWelcome also reacts to an opt-in: the mark that the engine has
// applied one.
const otherWelcome = `id: other-welcome
category: lifecycle
trigger:
  consent: subscribed
steps:
  - id: other-hi
    send: "Glow: hello from the other flow. Reply STOP to opt out."
`

// heldWorldConfig is the configuration of the in-process apps of these
// tests: the given provider, every category exempt from quiet hours (the
// tests run at any hour on the wall clock), fixed keys.
func heldWorldConfig(provider, fakeURL, flows string) config.Config {
	cfg := config.Default()
	cfg.Provider, cfg.Flows = provider, flows
	cfg.QuietHours.Exempt = []string{"service", "lifecycle", "behavior", "promo"}
	if provider == "twilio" {
		cfg.Twilio.AccountSID, cfg.Twilio.AuthToken, cfg.Twilio.From, cfg.Twilio.APIBase = fakeSID, fakeToken, fakeFrom, fakeURL
	}
	return cfg
}

// startHeldWorld starts the serve wiring in-process with cfg (its flows
// setting untouched), recording every outcome the sender records.
func startHeldWorld(t *testing.T, dsn string, cfg config.Config) *providerWorld {
	t.Helper()
	cfg.DB, cfg.Addr = dsn, "127.0.0.1:0"
	cfg.WriteKey, cfg.ServerKey, cfg.AdminKey = "wk_p", "sk_p", "ak_p"
	cfg.PublicURL = fakePublic
	w := &providerWorld{t: t, outcomes: make(chan smsflow.Message, 1000)}
	log := slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := startAppWith(context.Background(), cfg, log, appOptions{OnOutcome: func(m smsflow.Message) { w.outcomes <- m }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop)
	w.app = a
	return w
}

// subscribe identifies a contact with a phone and opts it in (web form).
func (w *providerWorld) subscribe(user, phone string) {
	w.t.Helper()
	u := w.app.URL()
	if r := call(w.t, "POST", u+"/v1/identify", "basic:wk_p", fmt.Sprintf(`{"userId":%q,"traits":{"phone":%q}}`, user, phone)); r.status != 200 {
		w.t.Fatalf("identify: %d %s", r.status, r.raw)
	}
	if r := call(w.t, "POST", u+"/v1/contacts/"+user+"/consent", "bearer:ak_p", `{"status":"subscribed","source":"web_form","evidence":{"url":"https://glow.example/join"}}`); r.status != 201 {
		w.t.Fatalf("consent: %d %s", r.status, r.raw)
	}
}

// flows returns GET /v1/flows (with a query) by id.
func (w *providerWorld) flows(query string) map[string]map[string]any {
	w.t.Helper()
	r := call(w.t, "GET", w.app.URL()+"/v1/flows"+query, "bearer:ak_p", "")
	if r.status != 200 {
		w.t.Fatalf("GET /v1/flows%s: %d %s", query, r.status, r.raw)
	}
	out := map[string]map[string]any{}
	for _, f := range r.body["flows"].([]any) {
		m := f.(map[string]any)
		out[m["id"].(string)] = m
	}
	return out
}

// openRuns are the flows of a contact's open runs, sorted.
func (w *providerWorld) openRuns(user string) []string {
	w.t.Helper()
	return w.activeRuns(user, func(run map[string]any) string { return run["flow_id"].(string) })
}

// activeRuns are a contact's open runs (GET /v1/contacts/{id}), each as
// name gives it, sorted.
func (w *providerWorld) activeRuns(user string, name func(run map[string]any) string) []string {
	w.t.Helper()
	r := call(w.t, "GET", w.app.URL()+"/v1/contacts/"+user, "bearer:ak_p", "")
	if r.status != 200 {
		w.t.Fatalf("GET contact %s: %d %s", user, r.status, r.raw)
	}
	var out []string
	for _, x := range r.body["active_runs"].([]any) {
		out = append(out, name(x.(map[string]any)))
	}
	slices.Sort(out)
	return out
}

// flowMessages are the statuses of a flow's messages (newest first).
func (w *providerWorld) flowMessages(flowID string) []string {
	w.t.Helper()
	r := call(w.t, "GET", w.app.URL()+"/v1/messages?flow="+flowID, "bearer:ak_p", "")
	var out []string
	for _, x := range r.body["messages"].([]any) {
		out = append(out, x.(map[string]any)["status"].(string))
	}
	return out
}

var exampleIDs = []string{"back-in-stock", "birthday", "cart-recovery", "replenishment", "review-request", "shipping-update", "subscription-save", "vip-early-access", "welcome", "win-back"}

// TestExamplesNeverTextRealCustomers is issue 15's scenario: examples load
// with console on a fresh database; restarted with Twilio and a flows
// directory, the examples are held (no run starts, the example message
// queued before waits and never reaches Twilio, runs are kept), DELETE and
// `smsflow flows archive` end them explicitly, a live file flow cannot be
// deleted, and a user's file flow whose file goes away is held, its runs
// kept, until the file comes back.
func TestExamplesNeverTextRealCustomers(t *testing.T) {
	for kind, dsn := range storetest.DSNs(t) {
		t.Run(kind, func(t *testing.T) {
			const ana, bo, cy = "+14155550100", "+14155550101", "+14155550102"
			// 1. A fresh database with console and no ./flows: the bundled
			// examples are live.
			dev := startHeldWorld(t, dsn, heldWorldConfig("console", "", ""))
			flows := dev.flows("")
			for _, id := range exampleIDs {
				if f := flows[id]; f == nil || f["status"] != "active" || f["origin"] != "example" {
					t.Errorf("with console, example %s: %v, want active, origin example", id, f)
				}
			}
			dev.subscribe("ana", ana)
			dev.outcome("ana", "hello", smsflow.MessageSent) // the example welcome's first text (console)
			dev.app.Stop()

			// An example's text queued when the provider changes (the
			// issue's shipping-update): written as that flow queues it.
			queueExampleText(t, dsn, "ana", ana)

			// 2. The same database with Twilio and a flows directory.
			fake := newFakeTwilioAPI(t)
			mine := t.TempDir()
			if err := os.WriteFile(filepath.Join(mine, "my-welcome.yaml"), []byte(myWelcome), 0o644); err != nil {
				t.Fatal(err)
			}
			prod := startHeldWorld(t, dsn, heldWorldConfig("twilio", fake.URL(), mine))
			flows = prod.flows("")
			for _, id := range exampleIDs {
				if f := flows[id]; f == nil || f["status"] != "held" || f["held_reason"] != "bundled example; the provider is twilio" {
					t.Errorf("with twilio, example %s: %v, want held (bundled example; the provider is twilio)", id, f)
				}
			}
			if f := flows["my-welcome"]; f == nil || f["status"] != "active" || f["origin"] != "file" {
				t.Errorf("my-welcome: %v, want active, origin file", f)
			}
			if held := prod.flows("?status=held"); len(held) != len(exampleIDs) {
				t.Errorf("?status=held lists %d flows, want the %d examples", len(held), len(exampleIDs))
			}
			// A new subscriber gets the user's welcome from Twilio, not the
			// example's; the example's queued text (older, so claimed first
			// if at all) stays queued.
			prod.subscribe("bo", bo)
			prod.outcome("bo", "hi", smsflow.MessageSent)
			if got := prod.openRuns("bo"); !slices.Equal(got, []string{"my-welcome"}) {
				t.Errorf("bo's open runs %v, want my-welcome only (no example run)", got)
			}
			if n := len(sentTo(fake, ana)); n != 0 {
				t.Errorf("Twilio got %d texts for ana (an example's), want none", n)
			}
			if got := prod.flowMessages("shipping-update"); !slices.Equal(got, []string{"queued"}) {
				t.Errorf("the example's text: %v, want still queued", got)
			}
			if got := prod.openRuns("ana"); !slices.Equal(got, []string{"shipping-update", "welcome"}) {
				t.Errorf("ana's open runs %v, want the examples' runs kept", got)
			}

			// A live file flow cannot be deleted: the file is the source of truth.
			r := call(t, "DELETE", prod.app.URL()+"/v1/flows/my-welcome", "bearer:ak_p", "")
			if r.status != 409 || !strings.Contains(r.raw, filepath.Join(mine, "my-welcome.yaml")) {
				t.Errorf("DELETE of a live file flow: %d %s, want 409 naming the file", r.status, r.raw)
			}
			// A held one is archived: runs end, the queued text is canceled
			// with a decision, the report stays.
			r = call(t, "DELETE", prod.app.URL()+"/v1/flows/shipping-update", "bearer:ak_p", "")
			if r.status != 200 || r.body["status"] != "archived" || r.body["runs_ended"] != 1.0 || r.body["messages_canceled"] != 1.0 {
				t.Errorf("DELETE of a held example: %d %s, want archived, 1 run ended, 1 message canceled", r.status, r.raw)
			}
			if got := prod.flowMessages("shipping-update"); !slices.Equal(got, []string{"canceled"}) {
				t.Errorf("the example's text after the archive: %v, want canceled", got)
			}
			if !timelineHas(t, prod, "ana", "decision", smsflow.DecisionCanceledFlowArchived) {
				t.Error("ana's timeline lacks the decision canceled:flow_archived")
			}
			if r := call(t, "GET", prod.app.URL()+"/v1/flows/shipping-update", "bearer:ak_p", ""); r.status != 404 {
				t.Errorf("GET of an archived flow: %d, want 404", r.status)
			}
			if a := prod.flows("?status=archived"); a["shipping-update"] == nil {
				t.Errorf("?status=archived lacks shipping-update: %v", a)
			}
			if r := call(t, "GET", prod.app.URL()+"/v1/flows/shipping-update/report", "bearer:ak_p", ""); r.status != 200 {
				t.Errorf("report of an archived flow: %d %s", r.status, r.raw)
			}
			// The command line does the same.
			var out, errOut bytes.Buffer
			if code := run(context.Background(), []string{"flows", "archive", "welcome", "--db", dsn}, &out, &errOut); code != 0 ||
				!strings.Contains(out.String(), "archived flow welcome: 1 run(s) ended") {
				t.Errorf("smsflow flows archive welcome: exit %d, %q %q", code, out.String(), errOut.String())
			}
			if got := prod.openRuns("ana"); len(got) != 0 {
				t.Errorf("ana's open runs after both archives: %v", got)
			}
			if code := run(context.Background(), []string{"flows", "archive", "my-welcome", "--db", dsn}, &out, &errOut); code != 1 ||
				!strings.Contains(errOut.String(), "my-welcome.yaml") {
				t.Errorf("archiving a live file flow from the command line: exit %d, %q", code, errOut.String())
			}
			prod.app.Stop()
			if p := fake.Problems(); len(p) > 0 {
				t.Errorf("Twilio refused requests: %v", p)
			}

			// 3. The flows directory loses my-welcome: held, bo's run kept,
			// no run starts; it is live again when the file is back.
			other := t.TempDir()
			if err := os.WriteFile(filepath.Join(other, "other-welcome.yaml"), []byte(otherWelcome), 0o644); err != nil {
				t.Fatal(err)
			}
			gone := startHeldWorld(t, dsn, heldWorldConfig("twilio", fake.URL(), other))
			if f := gone.flows("")["my-welcome"]; f == nil || f["status"] != "held" || f["held_reason"] != "no live node has loaded "+filepath.Join(mine, "my-welcome.yaml") {
				t.Errorf("my-welcome without its file: %v, want held (no live node has loaded it)", f)
			}
			gone.subscribe("cy", cy)
			gone.outcome("cy", "other-hi", smsflow.MessageSent)
			if got := gone.openRuns("cy"); len(got) != 0 {
				t.Errorf("cy's open runs %v: a held flow started a run", got)
			}
			if got := gone.openRuns("bo"); !slices.Equal(got, []string{"my-welcome"}) {
				t.Errorf("bo's open runs %v, want the held flow's run kept", got)
			}
			gone.app.Stop()

			back := startHeldWorld(t, dsn, heldWorldConfig("twilio", fake.URL(), mine))
			if f := back.flows("")["my-welcome"]; f == nil || f["status"] != "active" || f["version"] != 1.0 {
				t.Errorf("my-welcome with its file back: %v, want active, version 1", f)
			}
			if got := back.openRuns("bo"); !slices.Equal(got, []string{"my-welcome"}) {
				t.Errorf("bo's open runs %v, want my-welcome", got)
			}
		})
	}
}

// queueExampleText writes a run of the example shipping-update flow with
// its first text queued, as the flow would have before a restart.
func queueExampleText(t *testing.T, dsn, contact, phone string) {
	t.Helper()
	db, err := store.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC()
	err = db.WriteTx(context.Background(), func(tx *store.Tx) error {
		run := &smsflow.Run{FlowID: "shipping-update", FlowVersion: 1, ContactID: contact, Status: smsflow.RunWaiting, Step: "shipped", EnteredAt: now, UpdatedAt: now}
		if err := tx.InsertRun(run); err != nil {
			return err
		}
		_, err := tx.InsertMessage(&smsflow.Message{Direction: "out", RunID: run.ID, StepID: "shipped", FlowID: "shipping-update", Category: "service",
			ContactID: contact, Phone: phone, Body: "Glow: your order #1 is on its way", Encoding: "GSM-7", Characters: 33, Segments: 1,
			Status: smsflow.MessageQueued, Provider: "console", CreatedAt: now, UpdatedAt: now})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// timelineHas reports whether a contact's timeline has an item of a type
// and name.
func timelineHas(t *testing.T, w *providerWorld, user, typ, name string) bool {
	t.Helper()
	r := call(t, "GET", w.app.URL()+"/v1/contacts/"+user+"/timeline", "bearer:ak_p", "")
	for _, it := range r.body["items"].([]any) {
		m := it.(map[string]any)
		if m["type"] == typ && m["name"] == name {
			return true
		}
	}
	return false
}

// TestRollingDeployFlipsNothing: two nodes on one database, with different
// flows directories. A flow stays live while either has loaded its file,
// cannot be deleted meanwhile (the 409 names the file and the node), and is
// held once the last node that loaded it stops.
func TestRollingDeployFlipsNothing(t *testing.T) {
	for kind, dsn := range storetest.DSNs(t) {
		t.Run(kind, func(t *testing.T) {
			oldSet, newSet := t.TempDir(), t.TempDir()
			for name, src := range map[string]string{"my-welcome.yaml": myWelcome, "other-welcome.yaml": otherWelcome} {
				if err := os.WriteFile(filepath.Join(oldSet, name), []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(newSet, "my-welcome.yaml"), []byte(myWelcome), 0o644); err != nil {
				t.Fatal(err)
			}
			b := startHeldWorld(t, dsn, heldWorldConfig("console", "", oldSet))
			a := startHeldWorld(t, dsn, heldWorldConfig("console", "", newSet))
			f := a.flows("")["other-welcome"]
			if f == nil || f["status"] != "active" || fmt.Sprint(f["loaded_by"]) != fmt.Sprint([]any{b.app.node}) {
				t.Errorf("on the node without its file, other-welcome: %v, want active, loaded by %s", f, b.app.node)
			}
			r := call(t, "DELETE", a.app.URL()+"/v1/flows/other-welcome", "bearer:ak_p", "")
			if r.status != 409 || !strings.Contains(r.raw, filepath.Join(oldSet, "other-welcome.yaml")) || !strings.Contains(r.raw, b.app.node) {
				t.Errorf("DELETE while another node loads it: %d %s, want 409 naming the file and the node", r.status, r.raw)
			}
			// A new subscriber enters it (the engine and sender of either
			// node may do the work).
			a.subscribe("ana", "+14155550100")
			waitFor(t, "other-welcome's text to ana", func() bool {
				got := a.flowMessages("other-welcome")
				return len(got) == 1 && (got[0] == smsflow.MessageSent || got[0] == smsflow.MessageDelivered)
			})

			b.app.Stop() // the last node that loads it leaves
			if err := a.app.cat.Load(context.Background()); err != nil {
				t.Fatal(err)
			}
			if f := a.flows("")["other-welcome"]; f == nil || f["status"] != "held" {
				t.Errorf("once no live node loads it, other-welcome: %v, want held", f)
			}
			if f := a.flows("")["my-welcome"]; f == nil || f["status"] != "active" {
				t.Errorf("my-welcome: %v, want active", f)
			}
		})
	}
}

// serveBanner runs `smsflow serve` with args in dir, waits for its banner
// and returns the server and the banner's lines.
func serveBanner(t *testing.T, dir string, args []string, env ...string) (*server, []string) {
	t.Helper()
	s := startServerIn(t, dir, args, env...)
	return s, s.banner
}

// stop ends a server as an operator does (SIGTERM: a clean stop).
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop on SIGTERM")
	}
}

func bannerHas(lines []string, want string) bool {
	for _, l := range lines {
		if strings.Contains(l, want) {
			return true
		}
	}
	return false
}

// TestServeFlowsDirectory: `serve --flows DIR` loads DIR; a flows directory
// given by flag, SMSFLOW_FLOWS or the configuration that does not exist
// stops serve at start (creating no database); the default ./flows absent
// loads the examples with console and nothing with another provider; the
// banner names the held flows and why.
func TestServeFlowsDirectory(t *testing.T) {
	work := t.TempDir()
	dsn := "sqlite:" + filepath.Join(work, "smsflow.db")
	mine := filepath.Join(work, "mine")
	if err := os.Mkdir(mine, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mine, "my-welcome.yaml"), []byte(myWelcome), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "missing.yaml"), []byte("flows: ./missing\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(work, "missing")
	for _, c := range []struct {
		name string
		args []string
		env  []string
	}{
		{"flag", []string{"--flows", missing}, nil},
		{"environment", nil, []string{"SMSFLOW_FLOWS=" + missing}},
		{"configuration", []string{"--config", "missing.yaml"}, nil},
	} {
		cmd := exec.Command(binary, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", dsn}, c.args...)...)
		cmd.Env = append(os.Environ(), c.env...)
		cmd.Dir = work
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "flows directory") || !strings.Contains(string(out), "missing does not exist") {
			t.Errorf("%s: a missing flows directory: %v\n%s", c.name, err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(work, "smsflow.db")); !os.IsNotExist(err) {
		t.Errorf("serve created a database before refusing its flows directory: %v", err)
	}

	// No ./flows and console: the examples.
	s, lines := serveBanner(t, work, []string{"--db", dsn})
	if !bannerHas(lines, fmt.Sprintf("flows:      %d from the bundled examples (no ./flows directory)", len(exampleIDs))) {
		t.Errorf("banner with console and no ./flows:\n%s", strings.Join(lines, "\n"))
	}
	s.stop(t)

	// --flows with Twilio: the user's flow; every example held, and why.
	twilioEnv := []string{"SMSFLOW_PROVIDER=twilio", "SMSFLOW_TWILIO_ACCOUNT_SID=" + fakeSID, "SMSFLOW_TWILIO_AUTH_TOKEN=" + fakeToken,
		"SMSFLOW_TWILIO_FROM=" + fakeFrom, "SMSFLOW_TWILIO_API_BASE=http://127.0.0.1:9", "SMSFLOW_PUBLIC_URL=" + fakePublic}
	s, lines = serveBanner(t, work, []string{"--db", dsn, "--flows", mine}, twilioEnv...)
	if !bannerHas(lines, "flows:      1 from "+mine+" [my-welcome]") {
		t.Errorf("banner of serve --flows:\n%s", strings.Join(lines, "\n"))
	}
	for _, id := range exampleIDs {
		if !bannerHas(lines, "held:       "+id+" (bundled example; the provider is twilio)") {
			t.Errorf("banner does not say %s is held:\n%s", id, strings.Join(lines, "\n"))
		}
	}
	s.stop(t)

	// No ./flows and Twilio: nothing loads, and the banner says why.
	s, lines = serveBanner(t, work, []string{"--db", dsn}, twilioEnv...)
	if !bannerHas(lines, "flows:      none (no ./flows directory; the bundled examples load only with the console provider)") ||
		!bannerHas(lines, "held:       my-welcome (no live node has loaded "+filepath.Join(mine, "my-welcome.yaml")+")") {
		t.Errorf("banner with twilio and no ./flows:\n%s", strings.Join(lines, "\n"))
	}
	s.stop(t)
}
