package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/smsflow/smsflow/store"
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
