package engine_test

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/examples"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// reloadNode is one serving node's catalog and flows directory, scanned by
// the test on a virtual clock.
type reloadNode struct {
	t     *testing.T
	clock *virtualClock
	cat   *engine.Catalog
	fd    *engine.FlowDir
	dir   string
	logs  *testkit.LogBuffer
}

func newReloadNode(t *testing.T, db *store.DB, files map[string]string) *reloadNode {
	t.Helper()
	n := &reloadNode{t: t, clock: &virtualClock{t: time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC)}, dir: flowsDir(t, files), logs: &testkit.LogBuffer{}}
	n.cat = engine.NewCatalogWith(db, engine.CatalogOptions{Node: "host-a/10.0.0.1:8080", Clock: n.clock, Provider: "console"})
	n.fd = engine.NewFlowDir(n.cat, n.dir, slog.New(slog.NewTextHandler(n.logs, nil)))
	if _, err := n.fd.Load(ctx, n.clock.Now()); err != nil {
		t.Fatal(err)
	}
	return n
}

func (n *reloadNode) path(name string) string { return filepath.Join(n.dir, name) }

// save writes a file as editors save (testkit.SaveAsEditor).
func (n *reloadNode) save(name, src string) {
	n.t.Helper()
	testkit.SaveAsEditor(n.t, n.path(name), src)
}

func (n *reloadNode) remove(name string) {
	n.t.Helper()
	if err := os.Remove(n.path(name)); err != nil {
		n.t.Fatal(err)
	}
}

// scan advances the clock by a poll interval and scans.
func (n *reloadNode) scan() {
	n.t.Helper()
	n.clock.Add(engine.FlowDirPoll)
	if err := n.fd.Scan(ctx, n.clock.Now()); err != nil {
		n.t.Fatal(err)
	}
}

// head is a flow's head as this node acts on it ("" status: no such flow).
func (n *reloadNode) head(id string) store.FlowHead {
	n.t.Helper()
	h, _ := n.cat.Head(id)
	return h
}

func (n *reloadNode) expect(id, status string, version int) {
	n.t.Helper()
	if h := n.head(id); h.Status != status || h.Version != version {
		n.t.Errorf("%s: %s version %d (%s), want %s version %d", id, h.Status, h.Version, n.cat.HeldReason(id), status, version)
	}
}

// problemAt is where the validator puts the first error of src as path,
// "path:line:col".
func problemAt(t *testing.T, path, src string) string {
	t.Helper()
	_, ps := flow.Parse(path, []byte(src), engine.ValidateOptions())
	if !flow.HasErrors(ps) || ps[0].Line == 0 {
		t.Fatalf("%s: want a positioned error, got %v", path, ps)
	}
	return fmt.Sprintf("%s:%d:%d", path, ps[0].Line, ps[0].Col)
}

var (
	shipV2 = strings.Replace(heldShipFlow, "your order shipped", "your order has shipped", 1)
	// shipV3 is as long as shipV2: only a letter differs.
	shipV3 = strings.Replace(shipV2, "has shipped", "had shipped", 1)
	// shipBad has a misspelt step key.
	shipBad   = strings.Replace(shipV2, "  - wait: 1h", "  - wiat: 1h", 1)
	shipWorse = strings.Replace(shipV2, "category: service", "category: servise", 1)
	extraV2   = strings.Replace(extraFlow, "Glow: extra", "Glow: extra, again", 1)
)

// TestFlowDirReloadsAnEditedFile: an edited flow file becomes the flow's
// next version once two scans read the same content; identical flows
// (comments, layout) make no version; a new file loads; a rewrite that
// keeps the size and modification time is seen too.
func TestFlowDirReloadsAnEditedFile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		n := newReloadNode(t, db, map[string]string{"ship.yaml": heldShipFlow, "extra.yaml": extraFlow})
		n.expect("ship", engine.FlowActive, 1)

		n.save("ship.yaml", shipV2)
		n.scan()
		n.expect("ship", engine.FlowActive, 1) // read once: not settled yet
		n.scan()
		n.expect("ship", engine.FlowActive, 2)
		if h := n.head("ship"); h.Source != shipV2 {
			t.Errorf("ship version 2 is %q, want the edited file", h.Source)
		}
		if got := n.logs.Count(`msg="flow file reloaded" file=` + n.path("ship.yaml") + " flow=ship version=2"); got != 1 {
			t.Errorf("%d reload lines for ship version 2, want 1; log:\n%s", got, n.logs)
		}
		n.scan()
		n.scan()
		n.expect("ship", engine.FlowActive, 2)

		// Comments and layout change no flow: no version, no log.
		n.save("ship.yaml", "# shipping notices\n"+strings.Replace(shipV2, "steps:\n", "steps:    # two texts\n\n", 1))
		n.scan()
		n.scan()
		n.expect("ship", engine.FlowActive, 2)
		if got := n.logs.Count("flow file reloaded"); got != 1 || strings.Contains(n.logs.String(), "level=WARN") {
			t.Errorf("%d reload lines after a comment-only edit, want still 1, and no warning; log:\n%s", got, n.logs)
		}
		n.expect("extra", engine.FlowActive, 1)

		// A new file loads.
		n.save("later.yaml", strings.ReplaceAll(extraFlow, "extra", "later"))
		n.scan()
		n.scan()
		n.expect("later", engine.FlowActive, 1)
		if got := n.cat.LoadedBy("later"); !slices.Equal(got, []string{"host-a/10.0.0.1:8080"}) {
			t.Errorf("later loaded by %v, want this node", got)
		}

		// Same size, same modification time, other content: still seen.
		n.save("ship.yaml", shipV2)
		n.scan()
		n.scan()
		st, err := os.Stat(n.path("ship.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		n.save("ship.yaml", shipV3)
		if err := os.Chtimes(n.path("ship.yaml"), st.ModTime(), st.ModTime()); err != nil {
			t.Fatal(err)
		}
		if st2, _ := os.Stat(n.path("ship.yaml")); st2.Size() != st.Size() || !st2.ModTime().Equal(st.ModTime()) {
			t.Fatalf("the rewrite changed size or time: %d %v, was %d %v", st2.Size(), st2.ModTime(), st.Size(), st.ModTime())
		}
		n.scan()
		n.scan()
		n.expect("ship", engine.FlowActive, 3)
		if h := n.head("ship"); h.Source != shipV3 {
			t.Errorf("ship version 3 is %q, want the rewritten file", h.Source)
		}
	})
}

// TestFlowDirLoadsNoHalfWrittenFile: a file caught mid-write (an editor
// that truncates and writes in place) is not loaded, even when the part
// written is a valid flow, and logs nothing.
func TestFlowDirLoadsNoHalfWrittenFile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		n := newReloadNode(t, db, map[string]string{"ship.yaml": heldShipFlow})
		for _, part := range []string{shipV2[:strings.Index(shipV2, "  - wait")], shipV2[:len(shipV2)/2+3]} {
			if err := os.WriteFile(n.path("ship.yaml"), []byte(part), 0o644); err != nil {
				t.Fatal(err)
			}
			n.scan()
			if err := os.WriteFile(n.path("ship.yaml"), []byte(shipV2), 0o644); err != nil {
				t.Fatal(err)
			}
			n.scan()
		}
		n.scan()
		n.expect("ship", engine.FlowActive, 2)
		if h := n.head("ship"); h.Source != shipV2 {
			t.Errorf("ship version 2 is %q, want the whole file", h.Source)
		}
		if strings.Contains(n.logs.String(), "level=WARN") {
			t.Errorf("warnings about a file being written:\n%s", n.logs)
		}
	})
}

// TestFlowDirBadEditKeepsTheOldVersion: an invalid edit keeps the version
// loaded before live and is logged at WARN with file:line:col, once per
// distinct content; an unrelated good edit goes through meanwhile; the fix
// loads. A new invalid file loads nothing.
func TestFlowDirBadEditKeepsTheOldVersion(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		n := newReloadNode(t, db, map[string]string{"ship.yaml": heldShipFlow, "extra.yaml": extraFlow})
		bad := problemAt(t, n.path("ship.yaml"), shipBad)
		n.save("ship.yaml", shipBad)
		n.save("extra.yaml", extraV2)
		for range 5 {
			n.scan()
		}
		n.expect("ship", engine.FlowActive, 1)
		n.expect("extra", engine.FlowActive, 2)
		if got := n.logs.Count(bad); got != 1 {
			t.Errorf("%d log lines name %s, want 1; log:\n%s", got, bad, n.logs)
		}
		if got := n.logs.Count(`level=WARN msg="flow file not reloaded: the version loaded before stays live" file=` + n.path("ship.yaml") + " flow=ship"); got != 1 {
			t.Errorf("%d not-reloaded warnings for ship, want 1; log:\n%s", got, n.logs)
		}

		// Another bad content is another warning; the same one again is not.
		worse := problemAt(t, n.path("ship.yaml"), shipWorse)
		n.save("ship.yaml", shipWorse)
		n.scan()
		n.scan()
		n.save("extra.yaml", extraFlow) // a round that tries ship again
		n.scan()
		n.scan()
		n.expect("ship", engine.FlowActive, 1)
		n.expect("extra", engine.FlowActive, 3)
		if got := n.logs.Count(worse); got != 1 {
			t.Errorf("%d log lines name %s, want 1; log:\n%s", got, worse, n.logs)
		}
		if got := n.logs.Count("flow file not reloaded"); got != 2 {
			t.Errorf("%d not-reloaded warnings, want 2 (one per bad content)", got)
		}

		// The fix loads.
		n.save("ship.yaml", shipV2)
		n.scan()
		n.scan()
		n.expect("ship", engine.FlowActive, 2)
		// The first bad content saved again is a new mistake: logged again.
		n.save("ship.yaml", shipBad)
		for range 3 {
			n.scan()
		}
		n.expect("ship", engine.FlowActive, 2)
		if got := n.logs.Count(bad); got != 2 {
			t.Errorf("%d log lines name %s after it was saved a second time, want 2", got, bad)
		}

		// A new invalid file: nothing loads, one warning.
		badNew := strings.ReplaceAll(shipBad, "id: ship", "id: fresh")
		at := problemAt(t, n.path("fresh.yaml"), badNew)
		n.save("fresh.yaml", badNew)
		for range 3 {
			n.scan()
		}
		if h := n.head("fresh"); h.Status != "" {
			t.Errorf("an invalid new file loaded: %+v", h)
		}
		if got := n.logs.Count(`msg="flow file not loaded: nothing from it is live" file=` + n.path("fresh.yaml")); got != 1 || n.logs.Count(at) != 1 {
			t.Errorf("warnings for the new invalid file: %d, naming %s: %d; want 1 and 1; log:\n%s", got, at, n.logs.Count(at), n.logs)
		}
	})
}

// TestFlowDirChecksTheSet: a change is validated with the other files
// (enter targets, duplicate ids, cycles); changes that only hold together
// are taken together.
func TestFlowDirChecksTheSet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		n := newReloadNode(t, db, map[string]string{"ship.yaml": heldShipFlow})
		later := strings.ReplaceAll(extraFlow, "extra", "later")
		// ship (first by name) now enters later, which a new file brings.
		shipEnters := heldShipFlow + "  - enter: later\n"
		n.save("ship.yaml", shipEnters)
		n.save("z-later.yaml", later)
		n.scan()
		n.scan()
		n.expect("ship", engine.FlowActive, 2)
		n.expect("later", engine.FlowActive, 1)
		if strings.Contains(n.logs.String(), "level=WARN") {
			t.Errorf("warnings for changes that hold together:\n%s", n.logs)
		}

		// Renaming later's id would leave ship entering nothing.
		n.save("z-later.yaml", strings.ReplaceAll(later, "id: later", "id: later2"))
		n.scan()
		n.scan()
		n.expect("later", engine.FlowActive, 1)
		if h := n.head("later2"); h.Status != "" {
			t.Errorf("later2 loaded: %+v", h)
		}
		// The problem is ship.yaml's, where its enter is.
		shipF, _ := flow.Parse(n.path("ship.yaml"), []byte(shipEnters), engine.ValidateOptions())
		later2, _ := flow.Parse(n.path("z-later.yaml"), []byte(strings.ReplaceAll(later, "id: later", "id: later2")), engine.ValidateOptions())
		ps := flow.CheckSet([]*flow.Flow{shipF, later2})
		if len(ps) != 1 || ps[0].File != n.path("ship.yaml") {
			t.Fatalf("the set's problems: %v", ps)
		}
		enterAt := fmt.Sprintf("%s:%d:%d: enter", ps[0].File, ps[0].Line, ps[0].Col)
		if got := n.logs.Count(`file=` + n.path("z-later.yaml") + ` flow=later problems="` + enterAt); got != 1 {
			t.Errorf("%d warnings for z-later.yaml naming %s, want 1; log:\n%s", got, enterAt, n.logs)
		}
		n.save("z-later.yaml", later)

		// A new file with a flow id already loaded.
		n.save("a-dup.yaml", strings.Replace(extraFlow, "id: extra", "id: ship", 1))
		// A loop of enter.
		n.save("z-later.yaml", later+"  - enter: ship\n")
		n.scan()
		n.scan()
		n.expect("ship", engine.FlowActive, 2)
		n.expect("later", engine.FlowActive, 1)
		if h := n.head("ship"); h.Source != shipEnters {
			t.Errorf("ship is %q, want the file's", h.Source)
		}
		if n.logs.Count(`flow file not loaded: nothing from it is live" file=`+n.path("a-dup.yaml")) != 1 || n.logs.Count(`flow id \"ship\" is already used`) != 1 {
			t.Errorf("want one warning for a-dup.yaml (duplicate id); log:\n%s", n.logs)
		}
		if n.logs.Count(`stays live" file=`+n.path("z-later.yaml")+` flow=later`) != 2 || n.logs.Count("makes a loop of flows") != 1 {
			t.Errorf("want a second warning for z-later.yaml, about its loop; log:\n%s", n.logs)
		}
	})
}

// TestFlowDirMissingFileHeldAfterGrace: a file that disappears is not a
// deletion. Back within the grace period (an editor's save, a rename), its
// flow is never held; missing for the grace period, it is held — not
// archived — until the file comes back.
func TestFlowDirMissingFileHeldAfterGrace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		n := newReloadNode(t, db, map[string]string{"ship.yaml": heldShipFlow, "extra.yaml": extraFlow})
		polls := int(engine.FlowFileGrace / engine.FlowDirPoll)

		// Gone for less than the grace period, back unchanged.
		n.remove("extra.yaml")
		for range polls - 1 {
			n.scan()
			n.expect("extra", engine.FlowActive, 1)
		}
		if got := n.fd.Missing(); !slices.Equal(got, []string{n.path("extra.yaml")}) {
			t.Errorf("missing %v, want extra.yaml", got)
		}
		if err := os.WriteFile(n.path("extra.yaml"), []byte(extraFlow), 0o644); err != nil {
			t.Fatal(err)
		}
		for range polls + 1 {
			n.scan()
			n.expect("extra", engine.FlowActive, 1)
		}
		if got := n.fd.Missing(); len(got) != 0 {
			t.Errorf("missing %v after the file came back", got)
		}

		// An editor's save: the old file moved to a backup name, the new
		// content written after a moment.
		if err := os.Rename(n.path("extra.yaml"), n.path("extra.yaml~")); err != nil {
			t.Fatal(err)
		}
		n.scan()
		n.expect("extra", engine.FlowActive, 1)
		if err := os.WriteFile(n.path("extra.yaml"), []byte(extraV2), 0o644); err != nil {
			t.Fatal(err)
		}
		for range polls + 1 {
			n.scan()
			if h := n.head("extra"); h.Status != engine.FlowActive {
				t.Fatalf("extra %s (%s) during an editor's save", h.Status, n.cat.HeldReason("extra"))
			}
		}
		n.expect("extra", engine.FlowActive, 2)

		// A rename to another file name: the flow moves, never held.
		if err := os.Rename(n.path("ship.yaml"), n.path("shipping.yaml")); err != nil {
			t.Fatal(err)
		}
		for range 2 * polls {
			n.scan()
			n.expect("ship", engine.FlowActive, 1)
		}
		if n.logs.Count("level=WARN") != 0 {
			t.Errorf("warnings while files were saved and renamed:\n%s", n.logs)
		}

		// Gone for the grace period: held, with the reason; the flow's
		// other nodes see it too.
		other := engine.NewCatalogWith(db, engine.CatalogOptions{Node: "host-b/10.0.0.2:8080", Clock: n.clock, Provider: "console"})
		n.remove("extra.yaml")
		n.scan() // first seen missing
		for range polls - 1 {
			n.scan()
			n.expect("extra", engine.FlowActive, 2)
		}
		n.scan() // missing for the grace period
		held := "no live node has loaded " + n.path("extra.yaml")
		n.expect("extra", engine.FlowHeld, 2)
		if got := n.cat.HeldReason("extra"); got != held {
			t.Errorf("held reason %q, want %q", got, held)
		}
		expectStatus(t, other, "extra", engine.FlowHeld, held)
		expectStatus(t, other, "ship", engine.FlowActive, "")
		if got := n.logs.Count(`msg="flow file gone: this node no longer loads its flow`); got != 1 {
			t.Errorf("%d gone warnings, want 1; log:\n%s", got, n.logs)
		}
		n.scan()
		n.scan()
		if got := n.logs.Count("flow file gone"); got != 1 {
			t.Errorf("%d gone warnings after more scans, want still 1", got)
		}

		// Back: live again on the same version.
		n.save("extra.yaml", extraV2)
		n.scan()
		n.scan()
		n.expect("extra", engine.FlowActive, 2)
		expectStatus(t, other, "extra", engine.FlowActive, "")

		// The whole directory gone: every flow held after the grace period.
		if err := os.RemoveAll(n.dir); err != nil {
			t.Fatal(err)
		}
		for range polls + 1 {
			n.scan()
		}
		n.expect("extra", engine.FlowHeld, 2)
		n.expect("ship", engine.FlowHeld, 1)
	})
}

// TestFlowDirGoneFileLeavesAnEnter: when a flow's file is gone past the
// grace period, a flow that enters it stays live (a run reaching the enter
// leaves and enters nothing while the target is held) and the dangling
// enter is logged once.
func TestFlowDirGoneFileLeavesAnEnter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		later := strings.ReplaceAll(extraFlow, "extra", "later")
		n := newReloadNode(t, db, map[string]string{"ship.yaml": heldShipFlow + "  - enter: later\n", "later.yaml": later})
		n.remove("later.yaml")
		for range int(engine.FlowFileGrace/engine.FlowDirPoll) + 3 {
			n.scan()
		}
		n.expect("later", engine.FlowHeld, 1)
		n.expect("ship", engine.FlowActive, 1)
		if got := n.logs.Count(`msg="flows loaded from files refer to flows no longer loaded"`); got != 1 || n.logs.Count(`enter \"later\": no flow has this id`) != 1 {
			t.Errorf("want one warning naming ship's enter of later; log:\n%s", n.logs)
		}
	})
}

// BenchmarkFlowDirIdleScan is what serve pays every second for a flows
// directory where nothing changed: the bundled examples, a stat each.
func BenchmarkFlowDirIdleScan(b *testing.B) {
	dir := b.TempDir()
	names, err := fs.Glob(examples.Flows(), "*.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range names {
		src, err := fs.ReadFile(examples.Flows(), name)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), src, 0o644); err != nil {
			b.Fatal(err)
		}
		// Older than the racy window: a scan trusts size and time.
		old := time.Now().Add(-time.Minute)
		if err := os.Chtimes(filepath.Join(dir, name), old, old); err != nil {
			b.Fatal(err)
		}
	}
	db := storetest.OpenSQLite(b)
	clock := &virtualClock{t: time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC)}
	cat := engine.NewCatalogWith(db, engine.CatalogOptions{Node: "bench", Clock: clock, Provider: "console"})
	d := engine.NewFlowDir(cat, dir, nil)
	if _, err := d.Load(ctx, clock.Now()); err != nil {
		b.Fatal(err)
	}
	if err := d.Scan(ctx, clock.Now()); err != nil { // the first scan after Load re-reads
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := d.Scan(ctx, clock.Now()); err != nil {
			b.Fatal(err)
		}
	}
}
