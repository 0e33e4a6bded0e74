package engine

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/sms/template"
	"github.com/smsflow/smsflow/store"
)

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
