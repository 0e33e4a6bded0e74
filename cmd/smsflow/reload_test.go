package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/store/storetest"
)

// myWelcomeV2 is myWelcome with another first text.
var myWelcomeV2 = strings.Replace(myWelcome, "Glow: welcome aboard!", "Glow: welcome, version two!", 1)

// startReloadWorld starts the serve wiring in-process with the console
// provider on a new flows directory holding my-welcome.yaml (mine) and
// other-welcome.yaml (other), looked at every 50 ms, logging at INFO into
// the returned log (and the test's).
func startReloadWorld(t *testing.T, dsn string) (w *providerWorld, logs *testkit.LogBuffer, mine, other string) {
	t.Helper()
	dir := t.TempDir()
	mine, other = filepath.Join(dir, "my-welcome.yaml"), filepath.Join(dir, "other-welcome.yaml")
	testkit.SaveAsEditor(t, mine, myWelcome)
	testkit.SaveAsEditor(t, other, otherWelcome)
	cfg := heldWorldConfig("console", "", dir)
	cfg.DB, cfg.Addr = dsn, "127.0.0.1:0"
	cfg.WriteKey, cfg.ServerKey, cfg.AdminKey = "wk_p", "sk_p", "ak_p"
	cfg.PublicURL = fakePublic
	logs = &testkit.LogBuffer{}
	w = &providerWorld{t: t, outcomes: make(chan smsflow.Message, 1000)}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(logs, testLog{t}), &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, err := startAppWith(context.Background(), cfg, log, appOptions{OnOutcome: func(m smsflow.Message) { w.outcomes <- m }, FlowsPoll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop)
	w.app = a
	return w, logs, mine, other
}

// runVersions are a contact's open runs as "flow@version", sorted.
func (w *providerWorld) runVersions(user string) []string {
	w.t.Helper()
	return w.activeRuns(user, func(run map[string]any) string { return fmt.Sprintf("%s@%v", run["flow_id"], run["flow_version"]) })
}

// flowState is a flow's status and version through the API ("" when absent).
func (w *providerWorld) flowState(id string) string {
	f := w.flows("")[id]
	if f == nil {
		return ""
	}
	return fmt.Sprintf("%s@%v", f["status"], f["version"])
}

// TestServeReloadsEditedFlows: while serve runs, an edited flow file is the
// next entry's version (runs in progress keep theirs); a bad edit keeps the
// old version live and the log names file:line:col once, while a good edit
// of another file goes through.
func TestServeReloadsEditedFlows(t *testing.T) {
	for kind, dsn := range storetest.DSNs(t) {
		t.Run(kind, func(t *testing.T) {
			w, logs, mine, other := startReloadWorld(t, dsn)

			w.subscribe("ana", "+14155550100")
			if m := w.outcome("ana", "hi", smsflow.MessageSent); !strings.Contains(m.Body, "welcome aboard") {
				t.Errorf("ana's first text %q, want version 1's", m.Body)
			}

			// An edit: the next entry uses the new version.
			testkit.SaveAsEditor(t, mine, myWelcomeV2)
			waitFor(t, "my-welcome version 2", func() bool { return w.flowState("my-welcome") == "active@2" })
			w.subscribe("bo", "+14155550101")
			if m := w.outcome("bo", "hi", smsflow.MessageSent); !strings.Contains(m.Body, "version two") {
				t.Errorf("bo's first text %q, want version 2's", m.Body)
			}
			if got := w.runVersions("ana"); !slices.Contains(got, "my-welcome@1") {
				t.Errorf("ana's open runs %v, want her my-welcome run still on version 1", got)
			}
			if got := w.runVersions("bo"); !slices.Contains(got, "my-welcome@2") {
				t.Errorf("bo's open runs %v, want my-welcome on version 2", got)
			}

			// A bad edit, and a good edit of another file.
			bad := strings.Replace(myWelcome, "  - wait: 1d", "  - wait: 1 day", 1)
			_, ps := flow.Parse(mine, []byte(bad), engine.ValidateOptions())
			if !flow.HasErrors(ps) || ps[0].Line == 0 {
				t.Fatalf("the bad edit is not a positioned error: %v", ps)
			}
			badAt := fmt.Sprintf("%s:%d:%d: ", mine, ps[0].Line, ps[0].Col)
			testkit.SaveAsEditor(t, mine, bad)
			testkit.SaveAsEditor(t, other, strings.Replace(otherWelcome, "hello from", "hi from", 1))
			waitFor(t, "other-welcome version 2", func() bool { return w.flowState("other-welcome") == "active@2" })
			waitFor(t, "the warning naming "+badAt, func() bool { return logs.Count(badAt) > 0 })
			// Another edit of the other file: the bad one is tried again
			// with it, and not logged again.
			testkit.SaveAsEditor(t, other, otherWelcome)
			waitFor(t, "other-welcome version 3", func() bool { return w.flowState("other-welcome") == "active@3" })
			if got := logs.Count(badAt); got != 1 {
				t.Errorf("%d log lines name %s, want 1", got, badAt)
			}
			if got := logs.Count(`level=WARN msg="flow file not reloaded: the version loaded before stays live" file=` + mine + " flow=my-welcome"); got != 1 {
				t.Errorf("%d not-reloaded warnings for my-welcome, want 1", got)
			}
			if got := w.flowState("my-welcome"); got != "active@2" {
				t.Errorf("my-welcome after a bad edit: %s, want active@2", got)
			}
			w.subscribe("cy", "+14155550102")
			if m := w.outcome("cy", "hi", smsflow.MessageSent); !strings.Contains(m.Body, "version two") {
				t.Errorf("cy's first text %q, want version 2's (the one live before the bad edit)", m.Body)
			}

			// The fix loads.
			testkit.SaveAsEditor(t, mine, myWelcome)
			waitFor(t, "my-welcome version 3", func() bool { return w.flowState("my-welcome") == "active@3" })
		})
	}
}

// TestServeMissingFlowFileIsNoDeletion: while serve runs, a file that
// disappears during an editor's save never holds its flow; one that stays
// missing for the grace period holds it — no entries, runs kept — and it is
// live again, on the same version, when the file is back.
func TestServeMissingFlowFileIsNoDeletion(t *testing.T) {
	for kind, dsn := range storetest.DSNs(t) {
		t.Run(kind, func(t *testing.T) {
			w, logs, mine, _ := startReloadWorld(t, dsn)
			w.subscribe("ana", "+14155550100")
			w.outcome("ana", "hi", smsflow.MessageSent)

			// An editor's save that leaves a moment without the file: the old
			// file moved to a backup, the new one written once the server
			// has seen it missing.
			var states []string
			seen := func() string {
				s := w.flowState("my-welcome")
				if len(states) == 0 || states[len(states)-1] != s {
					states = append(states, s)
				}
				return s
			}
			if err := os.Rename(mine, mine+"~"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the server to see my-welcome.yaml missing", func() bool {
				seen()
				return slices.Equal(w.app.flowDir.Missing(), []string{mine})
			})
			if err := os.WriteFile(mine, []byte(myWelcomeV2), 0o644); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "my-welcome version 2", func() bool { return seen() == "active@2" })
			if !slices.Equal(states, []string{"active@1", "active@2"}) {
				t.Errorf("my-welcome went through %v during an editor's save, want active@1 then active@2", states)
			}
			if got := w.app.flowDir.Missing(); len(got) != 0 {
				t.Errorf("missing %v after the save", got)
			}

			// Gone for longer than the grace period: held.
			if err := os.Remove(mine); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "my-welcome held", func() bool { return w.flowState("my-welcome") == "held@2" })
			if f := w.flows("")["my-welcome"]; f["held_reason"] != "no live node has loaded "+mine {
				t.Errorf("held reason %v, want no live node has loaded %s", f["held_reason"], mine)
			}
			// The node stores its loaded set, then logs what left it: the
			// warning may follow the held state by a moment.
			waitFor(t, "the flow-file-gone warning", func() bool {
				return logs.Count(`msg="flow file gone: this node no longer loads its flow`) > 0
			})
			if got := logs.Count(`msg="flow file gone: this node no longer loads its flow`); got != 1 {
				t.Errorf("%d gone warnings, want 1", got)
			}
			// No entry; ana's run is kept.
			w.subscribe("bo", "+14155550101")
			w.outcome("bo", "other-hi", smsflow.MessageSent)
			if got := w.openRuns("bo"); slices.Contains(got, "my-welcome") {
				t.Errorf("bo's open runs %v: a held flow started a run", got)
			}
			if got := w.runVersions("ana"); !slices.Contains(got, "my-welcome@1") {
				t.Errorf("ana's open runs %v, want her my-welcome run kept", got)
			}

			// Back: live on the same version, and entered again.
			testkit.SaveAsEditor(t, mine, myWelcomeV2)
			waitFor(t, "my-welcome live again", func() bool { return w.flowState("my-welcome") == "active@2" })
			w.subscribe("cy", "+14155550102")
			if m := w.outcome("cy", "hi", smsflow.MessageSent); !strings.Contains(m.Body, "version two") {
				t.Errorf("cy's first text %q, want version 2's", m.Body)
			}
		})
	}
}

// TestServeBannerSaysWhatReloads: serve's banner says that a flows directory
// reloads while serving, and that the bundled examples do not (a ./flows
// created later loads at the next start).
func TestServeBannerSaysWhatReloads(t *testing.T) {
	work := t.TempDir()
	dsn := "sqlite:" + filepath.Join(work, "smsflow.db")
	s, lines := serveBanner(t, work, []string{"--db", dsn})
	if !bannerHas(lines, "reload:     off: a ./flows directory created now loads at the next start") {
		t.Errorf("banner with the bundled examples:\n%s", strings.Join(lines, "\n"))
	}
	s.stop(t)
	mine := filepath.Join(work, "mine")
	if err := os.Mkdir(mine, 0o755); err != nil {
		t.Fatal(err)
	}
	testkit.SaveAsEditor(t, filepath.Join(mine, "my-welcome.yaml"), myWelcome)
	s, lines = serveBanner(t, work, []string{"--db", dsn, "--flows", mine})
	want := fmt.Sprintf("reload:     edits to the flow files in %s load while serving; a bad edit keeps the version loaded before (logged); a file missing for %s holds its flow", mine, engine.FlowFileGrace)
	if !bannerHas(lines, want) {
		t.Errorf("banner of serve --flows, want %q:\n%s", want, strings.Join(lines, "\n"))
	}
	s.stop(t)
}
