package simulate_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/simulate"
)

// update rewrites the expected timelines: go test ./simulate -run Examples -update
// Read every changed line before committing it: a golden file is only as
// good as its review.
var update = flag.Bool("update", false, "rewrite examples/expected/*.jsonl from the current engine")

// examplesDir is the repository's examples directory, seen from this package.
var examplesDir = filepath.Join("..", "examples")

// example is one bundled flow with its history and expected timeline:
// examples/events/NAME.ndjson (what happens), the optional
// examples/events/NAME.contacts.ndjson (existing customers, imported, so they
// start no welcome series) and examples/expected/NAME.jsonl (what
// `smsflow simulate --json` prints for them).
type example struct {
	name     string
	events   string
	contacts string // "" when the example has no contacts file
	golden   string
}

const contactsSuffix = ".contacts.ndjson"

// examples lists the examples in name order, one per events file.
func examples(t *testing.T) []example {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(examplesDir, "events", "*.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	var out []example
	for _, f := range files {
		if strings.HasSuffix(f, contactsSuffix) {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(f), ".ndjson")
		ex := example{name: name, events: f, golden: filepath.Join(examplesDir, "expected", name+".jsonl")}
		if c := filepath.Join(examplesDir, "events", name+contactsSuffix); exists(c) {
			ex.contacts = c
		}
		out = append(out, ex)
	}
	if len(out) == 0 {
		t.Fatalf("no examples in %s", filepath.Join(examplesDir, "events"))
	}
	return out
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// examplesConfig is the configuration the expected timelines are made with
// (the Glow brand and link domain), read without the environment so that a
// developer's SMSFLOW_* variables cannot change the output.
func examplesConfig(t *testing.T) config.Config {
	t.Helper()
	cfg, err := config.Load(filepath.Join(examplesDir, "expected", "smsflow.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// simulateJSON runs one example exactly as
// `smsflow simulate --config examples/expected/smsflow.yaml --flows examples/flows
// --events E [--contacts C] --json` does and returns what it prints.
func simulateJSON(t *testing.T, ex example, cfg config.Config) ([]simulate.Line, []byte) {
	t.Helper()
	events, err := os.Open(ex.events)
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	opt := simulate.Options{Flows: filepath.Join(examplesDir, "flows"), Events: events, Config: cfg}
	if ex.contacts != "" {
		contacts, err := os.Open(ex.contacts)
		if err != nil {
			t.Fatal(err)
		}
		defer contacts.Close()
		opt.Contacts = contacts
	}
	lines, err := simulate.Run(context.Background(), opt)
	if err != nil {
		t.Fatalf("simulate %s: %v", ex.name, err)
	}
	var buf bytes.Buffer
	if err := simulate.WriteJSON(&buf, lines); err != nil {
		t.Fatal(err)
	}
	return lines, buf.Bytes()
}

// TestExamples replays each example's history through every bundled flow and
// compares the timeline, line by line, with the reviewed expected file.
func TestExamples(t *testing.T) {
	cfg := examplesConfig(t)
	for _, ex := range examples(t) {
		t.Run(ex.name, func(t *testing.T) {
			t.Parallel() // each run has its own database and clock
			lines, got := simulateJSON(t, ex, cfg)
			checkOwnFlow(t, ex, lines)
			if *update {
				if err := os.WriteFile(ex.golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("wrote %s (%d lines): review it", ex.golden, len(lines))
				return
			}
			want, err := os.ReadFile(ex.golden)
			if err != nil {
				t.Fatalf("%v (run go test ./simulate -run Examples -update, then review the file)", err)
			}
			compareLines(t, ex.golden, want, got)
		})
	}
}

// compareLines reports each differing line with its number, up to a limit,
// and a difference in length.
func compareLines(t *testing.T, file string, want, got []byte) {
	t.Helper()
	w := strings.Split(strings.TrimSuffix(string(want), "\n"), "\n")
	g := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	shown := 0
	for i := 0; i < min(len(w), len(g)) && shown < 10; i++ {
		if w[i] != g[i] {
			t.Errorf("%s:%d:\n got: %s\nwant: %s", file, i+1, g[i], w[i])
			shown++
		}
	}
	if got, want := len(g), len(w); got != want {
		var extra []string
		if got > want {
			extra = g[want:min(got, want+5)]
		} else {
			extra = w[got:min(want, got+5)]
		}
		t.Errorf("%s: got %d lines, want %d; first of the extra ones:\n%s", file, got, want, strings.Join(extra, "\n"))
	}
}

// deterministicExamples are run twice by TestExamplesDeterministic: those
// with the most to order — replies and a consent race (welcome), same-instant
// sends, holdout and suppression (cart-recovery), an audience scan entering
// contacts across zones (vip-early-access). Every other example is checked
// against a timeline an earlier run wrote, which catches most nondeterminism
// too.
var deterministicExamples = []string{"welcome", "cart-recovery", "vip-early-access"}

// TestExamplesDeterministic runs examples twice in one process: the same
// input must give the same timeline, byte for byte (link codes included).
func TestExamplesDeterministic(t *testing.T) {
	cfg := examplesConfig(t)
	for _, ex := range examples(t) {
		if !slices.Contains(deterministicExamples, ex.name) {
			continue
		}
		t.Run(ex.name, func(t *testing.T) {
			t.Parallel()
			_, first := simulateJSON(t, ex, cfg)
			_, second := simulateJSON(t, ex, cfg)
			if !bytes.Equal(first, second) {
				compareLines(t, ex.name+" (second run)", first, second)
			}
		})
	}
}

// TestExamplesCoverEveryFlow checks the set: the flows pass
// `smsflow validate` without a warning, each flow file is named after its id
// and has its example, each example is named after a flow, and no expected
// timeline is left without its events.
func TestExamplesCoverEveryFlow(t *testing.T) {
	flows, problems := flow.ValidateFiles([]string{filepath.Join(examplesDir, "flows")}, engine.ValidateOptions())
	for _, p := range problems {
		t.Errorf("smsflow validate examples/flows: %s", p) // warnings too: examples are meant to be copied
	}
	var ids []string
	for _, f := range flows {
		ids = append(ids, f.ID)
		if got, want := filepath.Base(f.File), f.ID+".yaml"; got != want {
			t.Errorf("flow %s is in %s, want %s (one flow per file, named by its id)", f.ID, got, want)
		}
	}
	exs := examples(t)
	var names []string
	for _, ex := range exs {
		names = append(names, ex.name)
	}
	for _, id := range ids {
		if !slices.Contains(names, id) {
			t.Errorf("flow %s has no example: add examples/events/%s.ndjson and its expected timeline", id, id)
		}
	}
	goldens, err := filepath.Glob(filepath.Join(examplesDir, "expected", "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range goldens {
		if name := strings.TrimSuffix(filepath.Base(g), ".jsonl"); !slices.Contains(names, name) {
			t.Errorf("%s has no examples/events/%s.ndjson: a stale expected timeline", g, name)
		}
	}

	for _, ex := range exs {
		if !slices.Contains(ids, ex.name) {
			t.Errorf("examples/events/%s.ndjson is named after no flow", ex.name)
		}
	}
}

// checkOwnFlow fails when an example's timeline shows its own flow neither
// entering anyone nor sending: a history that silently misses its flow (a
// wrong event name, a trigger the engine ignores) must not become an
// expected timeline.
func checkOwnFlow(t *testing.T, ex example, lines []simulate.Line) {
	t.Helper()
	count := map[string]int{}
	for _, l := range lines {
		if l.Flow == ex.name {
			count[l.Kind]++
		}
	}
	for _, kind := range []string{"enter", "send"} {
		if count[kind] == 0 {
			t.Errorf("example %s: flow %s has no %q line (its lines by kind: %v)", ex.name, ex.name, kind, count)
		}
	}
}
