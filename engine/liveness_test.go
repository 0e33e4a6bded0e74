package engine_test

import (
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/examples"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/provider/console"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// heldShipFlow is a service flow (no consent, no quiet hours) that sends, waits
// an hour and sends again.
const heldShipFlow = `id: ship
category: service
trigger:
  event: Shipped
steps:
  - id: first
    send: "Glow: your order shipped"
  - wait: 1h
  - id: second
    send: "Glow: your order is out for delivery"
`

const extraFlow = `id: extra
category: service
trigger:
  event: Extra
steps:
  - id: only
    send: "Glow: extra"
`

// flowsDir writes flow files (name → source) into a new directory.
func flowsDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// nodeCatalog is the catalog of one node (id) over db, loading dir.
func nodeCatalog(t *testing.T, db *store.DB, clock *virtualClock, node, provider, dir string) *engine.Catalog {
	t.Helper()
	cat := engine.NewCatalogWith(db, engine.CatalogOptions{Node: node, Clock: clock, Provider: provider})
	if _, err := cat.LoadDir(ctx, dir, clock.Now()); err != nil {
		t.Fatal(err)
	}
	return cat
}

// status reloads a catalog and returns a flow's status and held reason as
// that node sees them.
func status(t *testing.T, cat *engine.Catalog, id string) (string, string) {
	t.Helper()
	if err := cat.Load(ctx); err != nil {
		t.Fatal(err)
	}
	h, ok := cat.Head(id)
	if !ok {
		t.Fatalf("no head %s", id)
	}
	return h.Status, cat.HeldReason(id)
}

func expectStatus(t *testing.T, cat *engine.Catalog, id, want, wantReason string) {
	t.Helper()
	got, reason := status(t, cat, id)
	if got != want || reason != wantReason {
		t.Errorf("%s: status %q (%q), want %q (%q)", id, got, reason, want, wantReason)
	}
}

// TestFileFlowLiveWhileALiveNodeLoadsIt: a file flow stays live while any
// live node has loaded it (a rolling deploy flips nothing), is held when
// none has — at once when the node that loaded it restarts without it or
// stops cleanly, after NodeTTL when it was killed — and is live again, on
// the same version, when its file returns.
func TestFileFlowLiveWhileALiveNodeLoadsIt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock := &virtualClock{t: time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC)}
		oldSet := flowsDir(t, map[string]string{"ship.yaml": heldShipFlow, "extra.yaml": extraFlow})
		newSet := flowsDir(t, map[string]string{"ship.yaml": heldShipFlow})
		extraFile := filepath.Join(oldSet, "extra.yaml")

		a := nodeCatalog(t, db, clock, "host-a/10.0.0.1:8080", "console", oldSet)
		b := nodeCatalog(t, db, clock, "host-b/10.0.0.2:8080", "console", oldSet)
		expectStatus(t, b, "extra", engine.FlowActive, "")

		// Rolling deploy: a restarts (same node id) with the new set; b
		// still has the old one, so nothing flips.
		a = nodeCatalog(t, db, clock, "host-a/10.0.0.1:8080", "console", newSet)
		expectStatus(t, a, "extra", engine.FlowActive, "")
		if got := a.LoadedBy("extra"); !slices.Equal(got, []string{"host-b/10.0.0.2:8080"}) {
			t.Errorf("extra loaded by %v, want host-b only", got)
		}
		// b restarts with the new set: no live node has loaded extra now,
		// and its restart replaced b's old record at once.
		b = nodeCatalog(t, db, clock, "host-b/10.0.0.2:8080", "console", newSet)
		held := "no live node has loaded " + extraFile
		expectStatus(t, a, "extra", engine.FlowHeld, held)
		expectStatus(t, b, "extra", engine.FlowHeld, held)
		expectStatus(t, a, "ship", engine.FlowActive, "")
		if w := a.Waiting(); !slices.Equal(w, []string{"extra"}) {
			t.Errorf("waiting %v, want [extra]", w)
		}
		if act := a.Active(); len(act) != 1 || act[0].ID != "ship" {
			t.Errorf("active %v, want ship only", act)
		}

		// The file comes back on b: live again, same version.
		b = nodeCatalog(t, db, clock, "host-b/10.0.0.2:8080", "console", oldSet)
		expectStatus(t, a, "extra", engine.FlowActive, "")
		if h, _ := a.Head("extra"); h.Version != 1 {
			t.Errorf("extra is version %d after its file came back, want 1", h.Version)
		}

		// b keeps beating: its loads count past the TTL.
		for range 2 * int(engine.NodeTTL/engine.NodeHeartbeat) {
			clock.Add(engine.NodeHeartbeat)
			if err := b.Heartbeat(ctx); err != nil {
				t.Fatal(err)
			}
		}
		expectStatus(t, a, "extra", engine.FlowActive, "")

		// b is killed (no Leave): its loads count until NodeTTL has passed
		// since its last heartbeat, by a's clock, then no longer.
		clock.Add(engine.NodeTTL - time.Second)
		expectStatus(t, a, "extra", engine.FlowActive, "")
		clock.Add(2 * time.Second)
		expectStatus(t, a, "extra", engine.FlowHeld, held)

		// b starts again with the old set, then stops cleanly: held at once.
		b = nodeCatalog(t, db, clock, "host-b/10.0.0.2:8080", "console", oldSet)
		expectStatus(t, a, "extra", engine.FlowActive, "")
		if err := b.Leave(ctx); err != nil {
			t.Fatal(err)
		}
		expectStatus(t, a, "extra", engine.FlowHeld, held)
		// A node whose record is gone while it still runs records its loads
		// again with its next heartbeat.
		if err := b.Heartbeat(ctx); err != nil {
			t.Fatal(err)
		}
		expectStatus(t, a, "extra", engine.FlowActive, "")
	})
}

// TestBundledExamplesHeldUnlessConsole: a node whose provider is not console
// holds every bundled example, even while a console node has them loaded.
func TestBundledExamplesHeldUnlessConsole(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock := &virtualClock{t: time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC)}
		dev := engine.NewCatalogWith(db, engine.CatalogOptions{Node: "dev", Clock: clock, Provider: "console"})
		ids, err := dev.LoadFS(ctx, examples.Flows(), clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		names, err := fs.Glob(examples.Flows(), "*.yaml")
		if err != nil || len(ids) != len(names) {
			t.Fatalf("%d examples loaded, want %d (%v)", len(ids), len(names), err)
		}
		prod := nodeCatalog(t, db, clock, "prod", "twilio", flowsDir(t, map[string]string{"ship.yaml": heldShipFlow}))
		for _, id := range ids {
			h, _ := dev.Head(id)
			if h.Origin != engine.OriginExample {
				t.Errorf("%s: origin %q, want example", id, h.Origin)
			}
			expectStatus(t, dev, id, engine.FlowActive, "")
			expectStatus(t, prod, id, engine.FlowHeld, "bundled example; the provider is twilio")
			if !slices.Contains(prod.LoadedBy(id), "dev") {
				t.Errorf("%s: loaded by %v, want dev among them", id, prod.LoadedBy(id))
			}
		}
		if act := prod.Active(); len(act) != 1 || act[0].ID != "ship" {
			t.Errorf("active on prod: %d flows, want ship only", len(act))
		}
		if w := prod.Waiting(); len(w) != len(ids) || slices.Contains(w, "ship") {
			t.Errorf("waiting on prod %v, want the %d examples", w, len(ids))
		}
	})
}

// nodeWorld is a world whose engine runs the file flows of dir as node
// "node-a" (console), wired as serve wires it (engine.Connect).
func nodeWorld(t *testing.T, db *store.DB, dir string) *world {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := &world{t: t, db: db, clock: &virtualClock{t: time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC)}}
	cat := nodeCatalog(t, db, w.clock, "node-a", "console", dir)
	w.eng = engine.New(db, cat, w.clock, log, engine.Config{Brand: map[string]any{"name": "Glow"}, PublicURL: "https://sms.glow.example", Provider: "console"})
	w.eng.OnTrace = func(tr engine.Trace) { w.traces = append(w.traces, tr) }
	w.cons = console.New(log)
	w.sender = delivery.NewSender(db, w.cons, w.clock, log)
	engine.Connect(w.eng, w.sender)
	w.writer = ingest.NewWriter(db, w.clock, log)
	w.writer.Start()
	t.Cleanup(w.writer.Stop)
	return w
}

// reload loads dir again as this node's flows (a restart, or issue 17's
// reload): an empty directory holds the flows only this node loaded.
func (w *world) reload(dir string) {
	w.t.Helper()
	if _, err := w.eng.Catalog().LoadDir(ctx, dir, w.clock.Now()); err != nil {
		w.t.Fatal(err)
	}
}

// TestHeldFlowStartsNothingSendsNothingKeepsItsRuns: while no live node has
// loaded its file, a flow starts no runs, its queued message waits in the
// outbox, and its runs' next send is held (deferred:flow_held, once) — and
// all of it goes on when the file is back.
func TestHeldFlowStartsNothingSendsNothingKeepsItsRuns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		dir := flowsDir(t, map[string]string{"ship.yaml": heldShipFlow})
		w := nodeWorld(t, db, dir)
		for i, id := range []string{"ana", "bo", "cy"} {
			w.identify(id, "+1 415 555 010"+itoa(i))
		}
		w.track("ana", "Shipped", nil)
		if got := w.flowSent("ana"); len(got) != 1 || got[0].StepID != "first" {
			t.Fatalf("ana got %+v, want the first text", got)
		}
		w.trackOnly("bo", "Shipped")
		w.engineOnly() // bo's first text is queued, not yet sent
		if ms := w.outMessages("bo", "ship"); len(ms) != 1 || ms[0].Status != smsflow.MessageQueued {
			t.Fatalf("bo's messages %+v, want one queued", ms)
		}

		empty := t.TempDir()
		w.reload(empty)
		reason := "no live node has loaded " + filepath.Join(dir, "ship.yaml")
		expectStatus(t, w.eng.Catalog(), "ship", engine.FlowHeld, reason)

		w.settle()
		if ms := w.outMessages("bo", "ship"); len(ms) != 1 || ms[0].Status != smsflow.MessageQueued || len(w.flowSent("bo")) != 0 {
			t.Errorf("bo's queued text of a held flow: %d message(s), provider got %d; want it still queued", len(ms), len(w.flowSent("bo")))
		}
		w.track("cy", "Shipped", nil)
		if runs, _ := db.RunsByContact(ctx, "cy", false); len(runs) != 0 {
			t.Errorf("a held flow started a run: %+v", runs[0])
		}
		w.advance(time.Hour)
		if got := w.flowSent("ana"); len(got) != 1 {
			t.Errorf("ana got %d texts from a held flow's run, want only the first", len(got))
		}
		w.expectReasons("ana", "ship", smsflow.DecisionSent, smsflow.DecisionDeferredFlowHeld)
		if d := w.decisionsOf("ana", "ship"); len(d) == 2 && (d[1].Detail != reason || d[1].StepID != "second") {
			t.Errorf("held decision %+v, want step second, detail %q", d[1], reason)
		}
		w.advance(10 * engine.PauseRecheck) // looked at again: held again, no new decision
		w.expectReasons("ana", "ship", smsflow.DecisionSent, smsflow.DecisionDeferredFlowHeld)
		if run := w.onlyRun("ana", "ship"); run.Status != smsflow.RunWaiting || run.Step != "second" {
			t.Errorf("ana's run %s at %q, want kept, waiting on second", run.Status, run.Step)
		}
		if run := w.onlyRun("bo", "ship"); run.Ended() {
			t.Errorf("bo's run ended: %s %s", run.Status, run.ExitReason)
		}

		// The file is back: the queued text goes, the held send goes at the
		// next look, new runs start.
		w.reload(dir)
		expectStatus(t, w.eng.Catalog(), "ship", engine.FlowActive, "")
		w.settle()
		if got := w.flowSent("bo"); len(got) != 1 || got[0].StepID != "first" {
			t.Errorf("bo got %+v after the file came back, want the first text", got)
		}
		w.advance(engine.PauseRecheck)
		if got := w.flowSent("ana"); len(got) != 2 || got[1].StepID != "second" {
			t.Errorf("ana got %+v after the file came back, want both texts", got)
		}
		w.expectReasons("ana", "ship", smsflow.DecisionSent, smsflow.DecisionDeferredFlowHeld, smsflow.DecisionSent)
		w.track("cy", "Shipped", nil)
		if got := w.flowSent("cy"); len(got) != 1 {
			t.Errorf("cy got %d texts once the flow was live again, want 1", len(got))
		}
	})
}

// TestArchiveHeldFlow: archiving is the explicit act that ends a held
// flow's runs and cancels its queued messages (with a decision each); a live
// file flow cannot be archived; the reports' rows stay; the file coming back
// makes a new version.
func TestArchiveHeldFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		dir := flowsDir(t, map[string]string{"ship.yaml": heldShipFlow})
		w := nodeWorld(t, db, dir)
		cat := w.eng.Catalog()
		w.identify("ana", "+1 415 555 0100")
		w.identify("bo", "+1 415 555 0101")
		w.track("ana", "Shipped", nil)
		w.trackOnly("bo", "Shipped")
		w.engineOnly()

		_, err := cat.Archive(ctx, "ship", w.clock.Now())
		if smsflow.ErrorCode(err) != smsflow.ECONFLICT || !strings.Contains(smsflow.ErrorMessage(err), filepath.Join(dir, "ship.yaml")) {
			t.Fatalf("archive of a live file flow: %v, want a conflict naming the file", err)
		}

		w.reload(t.TempDir())
		res, err := cat.Archive(ctx, "ship", w.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if res.Runs != 2 || res.Messages != 1 {
			t.Errorf("archived %+v, want 2 runs ended and 1 message canceled", res)
		}
		for _, id := range []string{"ana", "bo"} {
			if run := w.onlyRun(id, "ship"); run.Status != smsflow.RunExited || run.ExitReason != "flow_archived" {
				t.Errorf("%s's run %s %q, want exited flow_archived", id, run.Status, run.ExitReason)
			}
		}
		if ms := w.outMessages("bo", "ship"); len(ms) != 1 || ms[0].Status != smsflow.MessageCanceled || ms[0].ErrorCode != "flow_archived" {
			t.Errorf("bo's message %+v, want canceled (flow_archived)", ms)
		}
		w.expectReasons("bo", "ship", smsflow.DecisionSent, smsflow.DecisionCanceledFlowArchived)
		if d := w.decisionsOf("bo", "ship"); len(d) == 2 && d[1].StepID != "first" {
			t.Errorf("cancel decision on step %q, want first", d[1].StepID)
		}
		expectStatus(t, cat, "ship", engine.FlowArchived, "")
		if _, err := cat.Archive(ctx, "ship", w.clock.Now()); smsflow.ErrorCode(err) != smsflow.ENOTFOUND {
			t.Errorf("archiving twice: %v, want not found", err)
		}
		w.settle()
		w.advance(2 * time.Hour)
		if got := w.flowSent("bo"); len(got) != 0 {
			t.Errorf("bo got %+v from an archived flow", got)
		}
		if got := w.flowSent("ana"); len(got) != 1 {
			t.Errorf("ana got %d texts, want only the one before the archive", len(got))
		}

		// The file comes back: a new version, live; the archived runs stay ended.
		w.reload(dir)
		if h, _ := cat.Head("ship"); h.Status != engine.FlowActive || h.Version != 2 {
			t.Errorf("after the file came back: %s version %d, want active version 2", h.Status, h.Version)
		}
		w.track("ana", "Shipped", nil)
		if got := w.flowSent("ana"); len(got) != 2 {
			t.Errorf("ana got %d texts, want a new run's first", len(got))
		}
	})
}

// TestPausedFlowHoldsQueuedAndNewSends: pausing holds what a flow already
// queued and its runs' next sends (deferred:flow_paused); resuming lets
// them go.
func TestPausedFlowHoldsQueuedAndNewSends(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, heldShipFlow)
		engine.Connect(w.eng, w.sender)
		w.identify("ana", "+1 415 555 0100")
		w.identify("bo", "+1 415 555 0101")
		w.track("ana", "Shipped", nil)
		w.trackOnly("bo", "Shipped")
		w.engineOnly()
		w.setFlowStatus("ship", engine.FlowPaused)

		w.settle()
		if got := w.flowSent("bo"); len(got) != 0 {
			t.Errorf("a paused flow's queued text went out: %+v", got)
		}
		w.advance(time.Hour)
		if got := w.flowSent("ana"); len(got) != 1 {
			t.Errorf("ana got %d texts from a paused flow, want only the first", len(got))
		}
		w.expectReasons("ana", "ship", smsflow.DecisionSent, smsflow.DecisionDeferredFlowPaused)

		w.setFlowStatus("ship", engine.FlowActive)
		w.settle()
		if got := w.flowSent("bo"); len(got) != 1 {
			t.Errorf("bo got %d texts after the resume, want the queued one", len(got))
		}
		w.advance(engine.PauseRecheck)
		if got := w.flowSent("ana"); len(got) != 2 {
			t.Errorf("ana got %d texts after the resume, want 2", len(got))
		}
	})
}

// TestArchiveLiveExampleSaysWhatToDo: a live bundled example has no file to
// remove; the conflict says how to hold it instead.
func TestArchiveLiveExampleSaysWhatToDo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock := &virtualClock{t: time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC)}
		dev := engine.NewCatalogWith(db, engine.CatalogOptions{Node: "dev", Clock: clock, Provider: "console"})
		if _, err := dev.LoadFS(ctx, examples.Flows(), clock.Now()); err != nil {
			t.Fatal(err)
		}
		_, err := dev.Archive(ctx, "welcome", clock.Now())
		if smsflow.ErrorCode(err) != smsflow.ECONFLICT || !strings.Contains(smsflow.ErrorMessage(err), "bundled example, live on dev") ||
			strings.Contains(smsflow.ErrorMessage(err), "remove the file") {
			t.Errorf("archive of a live example: %v", err)
		}
	})
}
