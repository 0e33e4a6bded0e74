package engine

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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

// Flow statuses.
const (
	FlowActive  = "active"
	FlowPaused  = "paused"
	FlowDeleted = "deleted"
)

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
type Catalog struct {
	db *store.DB

	mu       sync.RWMutex
	gen      uint64          // bumped by every Load
	names    map[string]bool // event names any stored flow version reacts to
	heads    map[string]store.FlowHead
	versions map[string]*Compiled // "id@version"
}

// NewCatalog returns an empty catalog over db; call Load.
func NewCatalog(db *store.DB) *Catalog {
	return &Catalog{db: db, heads: map[string]store.FlowHead{}, versions: map[string]*Compiled{}}
}

// ValidateOptions are the options flows are validated with: templates are
// compiled as Liquid.
func ValidateOptions() flow.Options {
	return flow.Options{CheckTemplate: CheckTemplate}
}

// CheckTemplate reports Liquid syntax errors of a send template, positioned
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
	warn := func(line, col int, format string, args ...any) {
		out = append(out, flow.TemplateProblem{Line: line, Col: col, Severity: flow.SeverityWarning, Message: fmt.Sprintf(format, args...)})
	}
	for _, v := range t.Variables() {
		if !v.HasFallback && !alwaysPresent(v.Path) {
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
	f, problems := flow.Parse(file, src, ValidateOptions())
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

// Load reads every flow head from the database and compiles the current
// versions.
func (c *Catalog) Load(ctx context.Context) error {
	heads, err := c.db.FlowHeads(ctx)
	if err != nil {
		return err
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
	names, err := c.eventNames(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.heads = next
	c.names = names
	c.gen++
	c.mu.Unlock()
	return nil
}

// eventNames collects every event name some stored version of some flow
// reacts to (triggers, inactivity, exits, goals, event and reply waits), so
// ingestion can skip engine work for events no flow cares about. Old versions
// count too: their open runs still exit and wait on their own names.
func (c *Catalog) eventNames(ctx context.Context) (map[string]bool, error) {
	versions, err := c.db.FlowVersions(ctx)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
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
	return names, nil
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

// Head returns a flow's head.
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
// version of a file flow (active; an unchanged file makes no new version).
// A directory that does not exist loads nothing. Any invalid file stops the
// load with every problem listed.
func (c *Catalog) LoadDir(ctx context.Context, dir string, now time.Time) ([]string, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, nil
	}
	var files []string
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		// smsflow.yaml is configuration, not a flow.
		if !e.IsDir() && (ext == ".yaml" || ext == ".yml") && e.Name() != "smsflow.yaml" {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, c.Load(ctx)
	}
	flows, problems := flow.ValidateFiles(files, ValidateOptions())
	if flow.HasErrors(problems) {
		return nil, fmt.Errorf("flows in %s are invalid:\n%w", dir, flow.ProblemsError(problems))
	}
	var ids []string
	for _, f := range flows {
		rel, _ := filepath.Rel(dir, f.File)
		if _, _, err := c.db.SaveFlow(ctx, f.ID, f.Hash, string(f.Source), f.File, "file", FlowActive, now); err != nil {
			return nil, fmt.Errorf("store flow %s (%s): %w", f.ID, rel, err)
		}
		ids = append(ids, f.ID)
	}
	return ids, c.Load(ctx)
}

// Save stores a flow from the API after validation: a new flow starts paused;
// an identical one makes no new version. File flows cannot be changed here.
func (c *Catalog) Save(ctx context.Context, id string, src []byte, now time.Time) (store.FlowHead, []flow.Problem, error) {
	if h, ok := c.Head(id); ok && h.Origin == "file" && h.Status != FlowDeleted {
		return store.FlowHead{}, nil, smsflow.Errorf(smsflow.ECONFLICT, "flow %q is loaded from %s; edit the file (it is the source of truth)", id, h.File)
	}
	f, problems := flow.Parse(id+".yaml", src, ValidateOptions())
	if f == nil {
		return store.FlowHead{}, problems, flow.ProblemsError(problems)
	}
	if f.ID != id {
		return store.FlowHead{}, problems, smsflow.FieldErrorf(smsflow.EINVALID, "id", "the flow's id %q does not match the URL's %q", f.ID, id)
	}
	head, _, err := c.db.SaveFlow(ctx, id, f.Hash, string(src), id+".yaml", "api", FlowPaused, now)
	if err != nil {
		return head, problems, err
	}
	return head, problems, c.Load(ctx)
}

// LoadFS stores every flow file of fsys (the bundled examples) like LoadDir.
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
		f, ps := flow.Parse("examples/flows/"+name, src, ValidateOptions())
		problems = append(problems, ps...)
		if f != nil {
			flows = append(flows, f)
		}
	}
	problems = append(problems, flow.CheckSet(flows)...)
	if flow.HasErrors(problems) {
		return nil, flow.ProblemsError(problems)
	}
	var ids []string
	for _, f := range flows {
		if _, _, err := c.db.SaveFlow(ctx, f.ID, f.Hash, string(f.Source), f.File, "file", FlowActive, now); err != nil {
			return nil, err
		}
		ids = append(ids, f.ID)
	}
	return ids, c.Load(ctx)
}
