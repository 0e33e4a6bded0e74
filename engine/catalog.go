package engine

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/sms/segments"
	"github.com/smsflow/smsflow/sms/template"
	"github.com/smsflow/smsflow/store"
)

// Flow statuses. A head stores active, paused or archived; held is never
// stored: each node derives it (Catalog.Load) for a file flow that no live
// node has loaded and, where the provider is not console, for every bundled
// example. A held flow starts no runs and sends nothing; its runs are kept.
const (
	FlowActive   = "active"
	FlowPaused   = "paused"
	FlowHeld     = "held"
	FlowArchived = "archived"
	// FlowDeleted is how heads archived before archive had its name were
	// stored (migration 0017 renames them); it reads as FlowArchived.
	FlowDeleted = "deleted"
)

// Flow origins: where a flow's definition comes from.
const (
	OriginFile    = "file"    // a flows directory; the file is the source of truth
	OriginExample = "example" // the bundled examples (examples.Flows)
	OriginAPI     = "api"     // PUT /v1/flows/{id}
)

// Node liveness: a node records the file flows it loaded and refreshes its
// heartbeat every NodeHeartbeat; another node counts those loads while the
// heartbeat is younger than NodeTTL by its own clock. The TTL is generous
// (8 heartbeats): clocks of nodes may differ by a few seconds, and a crashed
// node's flows staying live two minutes longer holds nothing back, while a
// live node's flows turning held would.
const (
	NodeHeartbeat = 15 * time.Second
	NodeTTL       = 2 * time.Minute
	// nodeForget is how long after its last heartbeat a node's rows are
	// deleted by the next node that records its loads.
	nodeForget = 24 * time.Hour
)

// CatalogOptions say how a catalog decides which file flows are live.
type CatalogOptions struct {
	// Node is this node's id (serve uses host name and listen address):
	// LoadDir and LoadFS record the flows they loaded under it for every
	// node to see, and Heartbeat keeps them live. "" records nothing
	// (simulate, tests, commands).
	Node string
	// Clock, when set, makes the loads of other live nodes count; nil
	// counts this catalog's own loads only. Required with Node.
	Clock smsflow.Clock
	// Provider is the provider this node sends with: the bundled examples
	// are held unless it is console ("" counts as console).
	Provider string
}

// Compiled is one version of a flow, ready to run: the definition and its
// compiled templates.
type Compiled struct {
	*flow.Flow
	Version   int
	Templates map[string]*template.Template // send step id → template
}

// Catalog holds the flows: every stored version, compiled once, and each
// flow's head (current version and status). Runs keep the version they
// entered; new entries use the head.
//
// Heads carry the status this node acts on: held (with HeldReason) where the
// flow's file is loaded by no live node, archived for archived and deleted.
type Catalog struct {
	db   *store.DB
	opts CatalogOptions

	loadMu   sync.Mutex // serializes Load
	recordMu sync.Mutex // serializes recording this node's loads (recordOwn, Heartbeat)
	mu       sync.RWMutex
	gen      uint64          // bumped by every Load
	names    map[string]bool // event names any stored flow version reacts to
	// goals is, per goal event name, the longest attribution window of any
	// stored version of a flow not archived (0: one looks back without
	// limit): a run converts by its own version's goal, which an edit of
	// the flow may have renamed.
	goals    map[string]time.Duration
	heads    map[string]store.FlowHead
	versions map[string]*Compiled // "id@version"
	// own is what this catalog last loaded from files (LoadDir, LoadFS),
	// with where from; ownSet says whether it loaded any set at all.
	own       []store.NodeFlow
	ownSource string
	ownSet    bool
	held      map[string]string   // held flow → why
	loadedBy  map[string][]string // flow → live nodes that loaded it (this one included)
	waiting   []string            // flows whose queued messages wait: paused or held

	// CheckFrom, if set, refuses a send step's from: that names no
	// configured sender, in flows loaded from files or saved through the
	// API (flow Options.CheckFrom). Set before loading.
	CheckFrom func(from string) string
}

// options are the options flows from files and the API are validated with:
// ValidateOptions, and CheckFrom (configured senders) when set. Stored
// versions compile without CheckFrom: a sender removed from the
// configuration does not stop a stored flow from loading (its from: goes
// from the default sender, Engine.senderFor).
func (c *Catalog) options() flow.Options {
	o := ValidateOptions()
	o.CheckFrom = c.CheckFrom
	return o
}

// NewCatalog returns an empty catalog over db that counts only its own
// loads as live; call Load.
func NewCatalog(db *store.DB) *Catalog { return NewCatalogWith(db, CatalogOptions{}) }

// NewCatalogWith returns an empty catalog over db; call Load (or LoadDir,
// LoadFS).
func NewCatalogWith(db *store.DB, opts CatalogOptions) *Catalog {
	return &Catalog{db: db, opts: opts, heads: map[string]store.FlowHead{}, versions: map[string]*Compiled{}}
}

// ValidateOptions are the options new flow definitions are validated with
// (files, the API, smsflow validate): templates are compiled as Liquid, and
// the names expressions and templates read are checked against their scope.
func ValidateOptions() flow.Options {
	return flow.Options{CheckTemplate: CheckTemplate, CheckNames: true}
}

// storedOptions are the options a stored version compiles with: it was
// validated when it was stored, and a check added since (names, senders)
// must not stop it from loading while runs are on it. Its templates are
// compiled by compile.
func storedOptions() flow.Options { return flow.Options{} }

// TemplateScope is what a send's template can read (contactCtx.scopeWith):
// a variable or field outside it renders nothing (or the fallback) for every
// contact, so the validator refuses it. contact.traits and the properties
// and context of events are free-form.
var TemplateScope = flow.Shape{
	"contact": {"id": nil, "phone": nil, "timezone": nil, "traits": nil},
	"event":   flow.EventShape,
	"reply":   {"text": nil},
	"waited":  {"event": flow.EventShape},
	"brand":   {"name": nil, "help": nil},
	"flow":    {"id": nil, "name": nil},
	"now":     nil,
}

// CheckTemplate reports Liquid syntax errors of a send template and the
// variables and fields it reads that are not in TemplateScope, positioned
// inside the template, for the flow validator, and warns about what makes a
// text cost more or fail: a variable without a fallback, more than 3
// segments with sample data, a single character forcing UCS-2.
func CheckTemplate(src string) []flow.TemplateProblem {
	t, err := template.Compile(src)
	if err != nil {
		p := flow.TemplateProblem{Severity: flow.SeverityError, Message: err.Error()}
		if se, ok := err.(*template.SyntaxError); ok {
			p.Line, p.Col, p.Message = se.Line, se.Col, se.Message
		}
		return []flow.TemplateProblem{p}
	}
	var out []flow.TemplateProblem
	unknown := map[[2]int]bool{} // where a reference with an unknown name starts
	for _, r := range t.References() {
		if bad, msg := TemplateScope.Check(r.Names); bad >= 0 {
			out = append(out, flow.TemplateProblem{Line: r.Lines[bad], Col: r.Cols[bad], Severity: flow.SeverityError, Message: msg})
			unknown[[2]int{r.Lines[0], r.Cols[0]}] = true
		}
	}
	warn := func(line, col int, format string, args ...any) {
		out = append(out, flow.TemplateProblem{Line: line, Col: col, Severity: flow.SeverityWarning, Message: fmt.Sprintf(format, args...)})
	}
	for _, v := range t.Variables() {
		if !v.HasFallback && !alwaysPresent(v.Path) && !unknown[[2]int{v.Line, v.Col}] {
			warn(v.Line, v.Col, "%s has no fallback: a contact without it would not get this text; add | default: \"…\"", v.Path)
		}
	}
	body, err := t.Render(template.SampleScope(), sampleLinks{})
	if err != nil {
		return out
	}
	info := segments.Measure(body)
	if info.Segments > 3 {
		warn(1, 1, "renders to %d segments with sample data (%d characters, %s); each segment is billed — keep texts to 3 or fewer", info.Segments, info.Characters, info.Encoding)
	}
	if info.Encoding == segments.UCS2 && len(info.NonGSM) == 1 {
		ch := info.NonGSM[0].Char
		gsm := segments.Measure(strings.Replace(body, ch, "", 1))
		line, col := positionOf(src, ch)
		if info.Segments > gsm.Segments {
			warn(line, col, "the single character %q forces UCS-2: %s instead of %d; replace it (or turn on smart_encoding)", ch, segmentCount(info.Segments), gsm.Segments)
		} else { // one segment either way (UCS-2 never needs fewer), but less room for the values filled in
			warn(line, col, "the single character %q forces UCS-2 (70 characters per segment instead of 160); replace it (or turn on smart_encoding)", ch)
		}
	}
	return out
}

// segmentCount says "1 segment", "2 segments".
func segmentCount(n int) string {
	if n == 1 {
		return "1 segment"
	}
	return fmt.Sprintf("%d segments", n)
}

// alwaysPresent says whether a template variable always has a value.
func alwaysPresent(path string) bool {
	switch {
	case strings.HasPrefix(path, "brand."), strings.HasPrefix(path, "flow."), path == "now",
		path == "contact.id", path == "contact.phone", path == "contact.timezone":
		return true
	}
	return false
}

// positionOf finds the 1-based line and column of s in src (1:1 if absent).
func positionOf(src, s string) (int, int) {
	i := strings.Index(src, s)
	if i < 0 {
		return 1, 1
	}
	line := strings.Count(src[:i], "\n") + 1
	col := utf8.RuneCountInString(src[strings.LastIndex(src[:i], "\n")+1:i]) + 1
	return line, col
}

// sampleLinks shortens links as the real tracker would (same length).
type sampleLinks struct{}

func (sampleLinks) Track(string) (string, error) { return "https://sms.example/l/AbC2dE3", nil }

// compile parses and compiles one flow version.
func compile(file string, src []byte, version int) (*Compiled, error) {
	f, problems := flow.Parse(file, src, storedOptions())
	if f == nil {
		return nil, flow.ProblemsError(problems)
	}
	c := &Compiled{Flow: f, Version: version, Templates: map[string]*template.Template{}}
	for _, s := range f.AllSteps() {
		if s.Kind == flow.StepSend {
			t, err := template.Compile(s.Send.Template)
			if err != nil {
				return nil, fmt.Errorf("%s: step %s: %w", file, s.ID, err)
			}
			c.Templates[s.ID] = t
		}
	}
	return c, nil
}

// Load reads every flow head from the database, compiles the current
// versions, and decides which file flows are held on this node.
func (c *Catalog) Load(ctx context.Context) error {
	// One load at a time: a load that read the heads before another stored
	// a new version must not install its older view after that one.
	c.loadMu.Lock()
	defer c.loadMu.Unlock()
	heads, err := c.db.FlowHeads(ctx)
	if err != nil {
		return err
	}
	var loads []store.LoadedFlow
	if c.opts.Clock != nil {
		if loads, err = c.db.LoadedFlows(ctx, c.opts.Clock.Now().Add(-NodeTTL)); err != nil {
			return err
		}
	}
	next := map[string]store.FlowHead{}
	for _, h := range heads {
		key := fmt.Sprintf("%s@%d", h.ID, h.Version)
		c.mu.RLock()
		_, have := c.versions[key]
		c.mu.RUnlock()
		if !have {
			comp, err := compile(h.File, []byte(h.Source), h.Version)
			if err != nil {
				return fmt.Errorf("flow %s version %d no longer compiles: %w", h.ID, h.Version, err)
			}
			c.mu.Lock()
			c.versions[key] = comp
			c.mu.Unlock()
		}
		next[h.ID] = h
	}
	names, goals, err := c.eventNames(ctx, next)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.heads, c.held, c.loadedBy, c.waiting = c.liveness(next, loads)
	c.names, c.goals = names, goals
	c.gen++
	c.mu.Unlock()
	return nil
}

// liveness applies this node's view to the stored heads: archived (and
// deleted) read as archived; a file flow or bundled example is held when no
// live node — this one included — has loaded it, and a bundled example
// always where this node's provider is not console, whatever another node
// or an old row says. Held overrides active and paused; the stored status
// comes back with the file. Called with c.mu held.
func (c *Catalog) liveness(heads map[string]store.FlowHead, loads []store.LoadedFlow) (map[string]store.FlowHead, map[string]string, map[string][]string, []string) {
	loadedBy := map[string][]string{}
	self := c.opts.Node
	if self == "" {
		self = "this process"
	}
	for _, f := range c.own {
		loadedBy[f.FlowID] = append(loadedBy[f.FlowID], self)
	}
	for _, l := range loads {
		if l.Node != c.opts.Node {
			loadedBy[l.FlowID] = append(loadedBy[l.FlowID], l.Node)
		}
	}
	held := map[string]string{}
	var waiting []string
	for id, h := range heads {
		if h.Status == FlowDeleted {
			h.Status = FlowArchived
		}
		if h.Status != FlowArchived && (h.Origin == OriginFile || h.Origin == OriginExample) {
			switch {
			case h.Origin == OriginExample && c.opts.Provider != "" && c.opts.Provider != "console":
				held[id] = "bundled example; the provider is " + c.opts.Provider
			case len(loadedBy[id]) == 0:
				held[id] = "no live node has loaded " + h.File
			}
			if held[id] != "" {
				h.Status = FlowHeld
			}
		}
		if h.Status == FlowHeld || h.Status == FlowPaused {
			waiting = append(waiting, id)
		}
		heads[id] = h
	}
	sort.Strings(waiting)
	return heads, held, loadedBy, waiting
}

// HeldReason says why a flow is held on this node ("" when it is not):
// "no live node has loaded flows/welcome.yaml", or "bundled example; the
// provider is twilio".
func (c *Catalog) HeldReason(id string) string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.held[id]
}

// LoadedBy names the live nodes that have loaded a flow from a file ("this
// process" for a catalog that is no node).
func (c *Catalog) LoadedBy(id string) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return slices.Clone(c.loadedBy[id])
}

// Waiting lists the flows whose queued messages wait in the outbox on this
// node — paused and held ones — sorted; the sender claims none of their
// messages (delivery.Sender.Waiting). Cheap: computed by Load.
func (c *Catalog) Waiting() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.waiting
}

// eventNames collects every event name some stored version of some flow
// reacts to (triggers, inactivity, exits, goals, event and reply waits), so
// ingestion can skip engine work for events no flow cares about. Old versions
// count too: their open runs still exit and wait on their own names. goals
// are the goal event names of the versions of flows that are not archived
// (heads), with their longest window.
func (c *Catalog) eventNames(ctx context.Context, heads map[string]store.FlowHead) (map[string]bool, map[string]time.Duration, error) {
	versions, err := c.db.FlowVersions(ctx)
	if err != nil {
		return nil, nil, err
	}
	names := map[string]bool{}
	goals := map[string]time.Duration{}
	for _, v := range versions {
		comp, err := c.Version(ctx, v.ID, v.Version)
		if err != nil {
			// A version that no longer compiles has no runs that could move.
			continue
		}
		f := comp.Flow
		names[f.Trigger.Event] = true
		if f.Trigger.Inactivity != nil {
			names[f.Trigger.Inactivity.Event] = true
		}
		for _, x := range f.Exit {
			names[x.Event] = true
		}
		if f.Goal != nil {
			names[f.Goal.Event] = true
			if h, ok := heads[v.ID]; ok && h.Status != FlowArchived && h.Status != FlowDeleted {
				if w, seen := goals[f.Goal.Event]; !seen || (w != 0 && (f.Goal.Within == 0 || f.Goal.Within > w)) {
					goals[f.Goal.Event] = f.Goal.Within
				}
			}
		}
		for _, s := range f.AllSteps() {
			if s.Kind == flow.StepWait {
				switch s.Wait.Kind {
				case flow.WaitEvent:
					names[s.Wait.Event] = true
				case flow.WaitReply:
					names[smsflow.EventMessageReplied] = true
				}
			}
		}
	}
	delete(names, "")
	return names, goals, nil
}

// GoalWindow reports whether some version of a flow that is not archived
// has name as its goal, and the longest attribution window among them (0:
// without limit).
func (c *Catalog) GoalWindow(name string) (within time.Duration, ok bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	within, ok = c.goals[name]
	return within, ok
}

// Relevant reports whether a tracked event name matters to any flow; events
// that do not are stored as history without waking the engine.
func (c *Catalog) Relevant(name string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.names[name]
}

// Generation changes every time the catalog is reloaded.
func (c *Catalog) Generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// Version returns a compiled version of a flow, loading it if needed.
func (c *Catalog) Version(ctx context.Context, id string, version int) (*Compiled, error) {
	key := fmt.Sprintf("%s@%d", id, version)
	c.mu.RLock()
	comp := c.versions[key]
	c.mu.RUnlock()
	if comp != nil {
		return comp, nil
	}
	src, file, err := c.db.FlowSource(ctx, id, version)
	if err != nil {
		return nil, err
	}
	comp, err = compile(file, []byte(src), version)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.versions[key] = comp
	c.mu.Unlock()
	return comp, nil
}

// Peek returns a flow version already compiled, else the flow's current
// version, without touching the database (for ordering, not for running).
func (c *Catalog) Peek(id string, version int) (*Compiled, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if comp := c.versions[fmt.Sprintf("%s@%d", id, version)]; comp != nil {
		return comp, true
	}
	if h, ok := c.heads[id]; ok {
		comp := c.versions[fmt.Sprintf("%s@%d", id, h.Version)]
		return comp, comp != nil
	}
	return nil, false
}

// Active returns the current version of every active flow, highest
// priority first, then by id.
func (c *Catalog) Active() []*Compiled {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []*Compiled
	for id, h := range c.heads {
		if h.Status == FlowActive {
			if comp := c.versions[fmt.Sprintf("%s@%d", id, h.Version)]; comp != nil {
				out = append(out, comp)
			}
		}
	}
	// Priority order: sends of one instant are decided highest first.
	sort.Slice(out, func(i, j int) bool {
		if out[i].Priority != out[j].Priority {
			return out[i].Priority > out[j].Priority
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Current returns the current version of every flow that is not archived
// (active, paused or held): their runs go on, so their goals count.
func (c *Catalog) Current() []*Compiled {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []*Compiled
	for id, h := range c.heads {
		if h.Status != FlowArchived {
			if comp := c.versions[fmt.Sprintf("%s@%d", id, h.Version)]; comp != nil {
				out = append(out, comp)
			}
		}
	}
	return out
}

// Head returns a flow's head, with the status this node acts on (held,
// archived for deleted).
func (c *Catalog) Head(id string) (store.FlowHead, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	h, ok := c.heads[id]
	return h, ok
}

// Heads returns every head, by id.
func (c *Catalog) Heads() []store.FlowHead {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]store.FlowHead, 0, len(c.heads))
	for _, h := range c.heads {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// LoadDir validates every flow file of dir and stores each as the current
// version of a file flow (active when new; an unchanged file makes no new
// version; an archived flow whose file is back returns as a new version),
// then records the set as what this catalog loaded, replacing what it
// loaded before: a flow whose file is gone is held unless another live node
// still loads it. A directory that does not exist loads (and records)
// nothing; whether that is an error is the caller's call. Any invalid file
// stops the load with every problem listed, and records nothing.
func (c *Catalog) LoadDir(ctx context.Context, dir string, now time.Time) ([]string, error) {
	files, err := flowFiles(dir)
	if err != nil {
		return nil, err
	}
	flows, err := c.validateDir(dir, files)
	if err != nil {
		return nil, err
	}
	return c.storeLoaded(ctx, flows, OriginFile, dir, now)
}

// flowFiles lists the flow files of dir, by name: its *.yaml and *.yml
// files, not in subdirectories. A directory that does not exist has none.
func flowFiles(dir string) ([]string, error) {
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		// smsflow.yaml is configuration, not a flow.
		if !e.IsDir() && (ext == ".yaml" || ext == ".yml") && e.Name() != "smsflow.yaml" {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	return files, nil
}

// validateDir validates the flow files of dir as a set, as `smsflow
// validate` does: any error refuses the whole set, with every problem.
func (c *Catalog) validateDir(dir string, files []string) ([]*flow.Flow, error) {
	if len(files) == 0 {
		return nil, nil
	}
	flows, problems := flow.ValidateFiles(files, c.options())
	if flow.HasErrors(problems) {
		return nil, fmt.Errorf("flows in %s are invalid:\n%w", dir, flow.ProblemsError(problems))
	}
	return flows, nil
}

// LoadFS stores every flow file of fsys — the bundled examples — like
// LoadDir, with origin example: held wherever the provider is not console.
func (c *Catalog) LoadFS(ctx context.Context, fsys fs.FS, now time.Time) ([]string, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, err
	}
	var flows []*flow.Flow
	var problems []flow.Problem
	for _, name := range names {
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		f, ps := flow.Parse("examples/flows/"+name, src, c.options())
		problems = append(problems, ps...)
		if f != nil {
			flows = append(flows, f)
		}
	}
	problems = append(problems, flow.CheckSet(flows)...)
	if flow.HasErrors(problems) {
		return nil, flow.ProblemsError(problems)
	}
	return c.storeLoaded(ctx, flows, OriginExample, "bundled examples", now)
}

// storeLoaded stores the flows a load found, makes them this catalog's own
// loads, records them under the node (if it is one), and reloads.
func (c *Catalog) storeLoaded(ctx context.Context, flows []*flow.Flow, origin, source string, now time.Time) ([]string, error) {
	var ids []string
	var loaded []store.NodeFlow
	for _, f := range flows {
		if _, _, err := c.db.SaveFlow(ctx, f.ID, f.Hash, string(f.Source), f.File, origin, FlowActive, now); err != nil {
			return nil, fmt.Errorf("store flow %s (%s): %w", f.ID, f.File, err)
		}
		ids = append(ids, f.ID)
		loaded = append(loaded, store.NodeFlow{FlowID: f.ID, Hash: f.Hash, File: f.File, Origin: origin})
	}
	if err := c.recordOwn(ctx, loaded, source, now); err != nil {
		return nil, err
	}
	return ids, c.Load(ctx)
}

// recordOwn makes loaded this catalog's own loads and records them under
// the node (if it is one). Serialized with Heartbeat's re-recording, so a
// heartbeat that read the previous set cannot record it over this one.
func (c *Catalog) recordOwn(ctx context.Context, loaded []store.NodeFlow, source string, now time.Time) error {
	c.recordMu.Lock()
	defer c.recordMu.Unlock()
	c.mu.Lock()
	c.own, c.ownSource, c.ownSet = loaded, source, true
	c.mu.Unlock()
	if c.opts.Node != "" {
		if err := c.db.RecordNodeFlows(ctx, c.opts.Node, source, loaded, now, now.Add(-nodeForget)); err != nil {
			return fmt.Errorf("record the flows this node loaded: %w", err)
		}
	}
	return nil
}

// Heartbeat tells the other nodes that this one is alive, so the flows it
// loaded stay live there; when its record is gone (forgotten, or another
// process under the same id left) it records its loads again. A catalog
// that is no node does nothing.
func (c *Catalog) Heartbeat(ctx context.Context) error {
	if c.opts.Node == "" {
		return nil
	}
	c.recordMu.Lock()
	defer c.recordMu.Unlock()
	now := c.opts.Clock.Now()
	found, err := c.db.HeartbeatNode(ctx, c.opts.Node, now)
	if err != nil || found {
		return err
	}
	c.mu.RLock()
	own, source, set := c.own, c.ownSource, c.ownSet
	c.mu.RUnlock()
	if !set {
		return nil
	}
	return c.db.RecordNodeFlows(ctx, c.opts.Node, source, own, now, now.Add(-nodeForget))
}

// Leave removes this node's record (a clean stop): flows that only it
// loaded are held on the other nodes at their next reload, not after the
// TTL.
func (c *Catalog) Leave(ctx context.Context) error {
	if c.opts.Node == "" {
		return nil
	}
	return c.db.RemoveNode(ctx, c.opts.Node)
}

// Save stores a flow from the API after validation: a new flow starts paused;
// an identical one makes no new version. File flows cannot be changed here.
func (c *Catalog) Save(ctx context.Context, id string, src []byte, now time.Time) (store.FlowHead, []flow.Problem, error) {
	if h, ok := c.Head(id); ok && fromFile(h) && h.Status != FlowArchived {
		if h.Status == FlowHeld {
			return store.FlowHead{}, nil, smsflow.Errorf(smsflow.ECONFLICT, "flow %q came from %s and is held (%s); archive it (DELETE /v1/flows/%s) before replacing it through the API", id, h.File, c.HeldReason(id), id)
		}
		return store.FlowHead{}, nil, smsflow.Errorf(smsflow.ECONFLICT, "flow %q is loaded from %s; edit the file (it is the source of truth)", id, h.File)
	}
	f, problems := flow.Parse(id+".yaml", src, c.options())
	if f == nil {
		return store.FlowHead{}, problems, flow.ProblemsError(problems)
	}
	if f.ID != id {
		return store.FlowHead{}, problems, smsflow.FieldErrorf(smsflow.EINVALID, "id", "the flow's id %q does not match the URL's %q", f.ID, id)
	}
	head, _, err := c.db.SaveFlow(ctx, id, f.Hash, string(src), id+".yaml", OriginAPI, FlowPaused, now)
	if err != nil {
		return head, problems, err
	}
	return head, problems, c.Load(ctx)
}

// fromFile reports whether a flow's source of truth is a file (a flows
// directory or the bundled examples).
func fromFile(h store.FlowHead) bool { return h.Origin == OriginFile || h.Origin == OriginExample }

// Archive ends a flow by an explicit act (DELETE /v1/flows/{id}, `smsflow
// flows archive`): an API flow, or a file flow that is held. Its open runs
// end with exit reason flow_archived and its queued messages are canceled
// (canceled:flow_archived); runs, messages and decisions stay for the
// reports. A file flow that a live node has loaded is a conflict naming the
// file: the file is the source of truth, so it goes first. The view of the
// other nodes is read afresh.
func (c *Catalog) Archive(ctx context.Context, id string, now time.Time) (store.Archived, error) {
	if err := c.Load(ctx); err != nil {
		return store.Archived{}, err
	}
	h, ok := c.Head(id)
	switch {
	case !ok || h.Status == FlowArchived:
		return store.Archived{}, smsflow.Errorf(smsflow.ENOTFOUND, "no flow %q", id)
	case h.Origin == OriginExample && h.Status != FlowHeld:
		return store.Archived{}, smsflow.Errorf(smsflow.ECONFLICT, "flow %q is a bundled example, live on %s because it serves with the console provider and no flows directory; give that node a flows directory (or a real provider) first: the example is then held, and archiving it ends its runs",
			id, strings.Join(c.LoadedBy(id), ", "))
	case fromFile(h) && h.Status != FlowHeld:
		return store.Archived{}, smsflow.Errorf(smsflow.ECONFLICT, "flow %q is loaded from %s (by %s); remove the file from the flows directory first (it is the source of truth): the flow is then held, and archiving it ends its runs",
			id, h.File, strings.Join(c.LoadedBy(id), ", "))
	}
	res, err := c.db.ArchiveFlow(ctx, id, now)
	if err != nil {
		return res, err
	}
	return res, c.Load(ctx)
}
