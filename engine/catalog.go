package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/flow"
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
	db   Store
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
func NewCatalog(db Store) *Catalog { return NewCatalogWith(db, CatalogOptions{}) }

// NewCatalogWith returns an empty catalog over db; call Load (or LoadDir,
// LoadFS).
func NewCatalogWith(db Store, opts CatalogOptions) *Catalog {
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

// Waiting lists the flows whose queued messages wait in the outbox on this
// node — paused and held ones — sorted; the sender claims none of their
// messages (delivery.Sender.Waiting). Cheap: computed by Load.
func (c *Catalog) Waiting() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.waiting
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

// Save stores a flow from the API after validation: a new flow starts paused;
// an identical one makes no new version. File flows cannot be changed here.
func (c *Catalog) Save(ctx context.Context, id string, src []byte, now time.Time) (store.FlowHead, []flow.Problem, error) {
	if h, ok := c.Head(id); ok && fromFile(h) && h.Status != FlowArchived {
		if h.Status == FlowHeld {
			return store.FlowHead{}, nil, smsflow.Errorf(smsflow.ECONFLICT, "flow %q came from %s and is held (%s); archive it (DELETE /v1/flows/%s) before replacing it through the API", id, h.File, c.HeldReason(id), id)
		}
		return store.FlowHead{}, nil, smsflow.Errorf(smsflow.ECONFLICT, "flow %q is loaded from %s; edit the file (it is the source of truth)", id, h.File)
	}
	if _, ok := c.Head(id); !ok && id == flow.ReservedID { // the web UI's /flows/new is its new-flow page (D100)
		return store.FlowHead{}, nil, smsflow.FieldErrorf(smsflow.EINVALID, "id",
			"the flow id %q is reserved: the web UI's /flows/%s is the page that creates a flow, so a flow with this id could not be opened there; choose another id", id, id)
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
