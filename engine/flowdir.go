package engine

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/flow"
)

// Reloading a flows directory while serving.
const (
	// FlowDirPoll is how often serve looks at its flows directory.
	FlowDirPoll = time.Second
	// FlowFileGrace is how long a flow file may be missing before the node
	// stops counting it as loaded (its flow is then held unless another
	// live node loads it). An editor's save that renames or replaces the
	// file makes it vanish for milliseconds; a deploy that swaps the
	// directory, for about a second.
	FlowFileGrace = 5 * time.Second
	// racyWindow: a file read less than this after its modification time
	// is read again at the next scan even when its size and time look
	// unchanged, because a later write within the filesystem's timestamp
	// granularity (up to 2 s) could keep both, and a network filesystem's
	// clock may differ from ours. Older files are re-read only when their
	// size or time changes.
	racyWindow = 10 * time.Second
)

// FlowDir is a flows directory a serving node keeps loaded. Load loads it as
// LoadDir does (any invalid file refuses the set); then each Scan looks at
// what changed and reloads per file:
//
//   - a change takes effect once two scans in a row read the same content,
//     so a file caught half-written is never loaded;
//   - a changed file is validated with the set (enter targets, duplicate
//     ids, cycles); valid, it is stored (a new version when the flow
//     changed, none for identical content or comments) and recorded as
//     loaded by this node; invalid, the version loaded before stays live
//     (a new file loads nothing) and the problems are logged at WARN with
//     file:line:col, once each time such content is saved (again only if
//     the reason changes, say when another file changed), not every scan;
//   - one bad file does not block the others; changes that only hold
//     together (a new flow and a flow that now enters it) are taken
//     together;
//   - a file that disappears is not a deletion: only when it has stayed
//     missing for the grace period does the node stop recording it as
//     loaded, so its flow is held (runs kept, never archived); it is live
//     again when the file comes back. A file renamed within the grace
//     period (same flow id, another name) moves without a held moment.
//
// Time comes from the caller (now), so tests drive the grace period; the
// filesystem's modification times are compared with the wall clock.
type FlowDir struct {
	cat *Catalog
	dir string
	log *slog.Logger
	// Grace is how long a file may be missing before the node stops
	// loading it (FlowFileGrace when zero).
	Grace time.Duration
	// fsNow reads the clock file modification times are written with.
	fsNow func() time.Time

	mu       sync.Mutex
	files    map[string]*dirFile // by path
	dirty    bool                // the last round could not store its set
	reported string              // set problems last logged

	cancel   context.CancelFunc // ends Watch
	done     chan struct{}      // closed when Watch has ended
	stopOnce sync.Once
}

// digest is the sha256 of a file's content ("" content of a missing file:
// the zero digest).
type digest [sha256.Size]byte

// dirFile is what a FlowDir knows of one file.
type dirFile struct {
	// What the last scan saw: size and modification time, when it last
	// read the file (by fsNow), and its content.
	size    int64
	mtime   time.Time
	readAt  time.Time
	seen    digest
	data    []byte // content read and not yet settled (nil once parsed)
	readErr error  // why the content read could not be (data holds its text)
	// settled is the content two scans in a row have read, with its parse.
	settled  digest
	parsed   *flow.Flow
	problems []flow.Problem
	// missingSince is when a scan first found the file missing (zero:
	// present).
	missingSince time.Time
	// live is this file's flow in the node's loaded set (nil: none), read
	// from content liveSum.
	live    *flow.Flow
	liveSum digest
	// reported is the reason last logged for the settled content ("" since
	// it settled).
	reported string
}

// NewFlowDir returns the flows directory dir of a catalog that is a node
// (CatalogOptions.Node, Clock); call Load, then Scan or Watch.
func NewFlowDir(cat *Catalog, dir string, log *slog.Logger) *FlowDir {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &FlowDir{cat: cat, dir: dir, log: log, fsNow: time.Now, files: map[string]*dirFile{}}
}

func (d *FlowDir) grace() time.Duration {
	if d.Grace > 0 {
		return d.Grace
	}
	return FlowFileGrace
}

// Load validates every flow file of the directory and stores them, as
// Catalog.LoadDir does (any invalid file refuses the whole set), and
// remembers what it loaded for the scans that follow.
func (d *FlowDir) Load(ctx context.Context, now time.Time) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	paths, err := flowFiles(d.dir)
	if err != nil {
		return nil, err
	}
	// Stat before reading: a write after the stat changes what the next
	// scan sees, so it is never missed.
	stats := map[string]fs.FileInfo{}
	readAt := d.fsNow()
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil {
			stats[p] = st
		}
	}
	flows, err := d.cat.validateDir(d.dir, paths)
	if err != nil {
		return nil, err
	}
	ids, err := d.cat.storeLoaded(ctx, flows, OriginFile, d.dir, now)
	if err != nil {
		return nil, err
	}
	d.files = map[string]*dirFile{}
	for _, f := range flows {
		sum := digest(sha256.Sum256(f.Source))
		df := &dirFile{size: -1, readAt: readAt, seen: sum, settled: sum, parsed: f, live: f, liveSum: sum}
		if st := stats[f.File]; st != nil {
			df.size, df.mtime = st.Size(), st.ModTime()
		}
		d.files[f.File] = df
	}
	return ids, nil
}

// Missing lists the files found missing that the node still loads (within
// the grace period), sorted.
func (d *FlowDir) Missing() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for p, f := range d.files {
		if !f.missingSince.IsZero() && f.live != nil {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// Scan looks at the directory once, at now, and reloads what changed. An
// error (the directory cannot be read, the database refused) changes
// nothing this node records; the next scan tries again.
func (d *FlowDir) Scan(ctx context.Context, now time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	paths, err := flowFiles(d.dir)
	if err != nil {
		return fmt.Errorf("read flows directory %s: %w", d.dir, err)
	}
	changed := d.dirty
	present := map[string]bool{}
	for _, p := range paths {
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && !st.Mode().IsRegular()) {
			continue // gone since the listing, a dangling link (an editor's lock), a directory
		}
		present[p] = true
		f := d.files[p]
		if f == nil {
			f = &dirFile{size: -1}
			d.files[p] = f
		}
		f.missingSince = time.Time{}
		if d.observe(p, f, st, err) {
			changed = true
		}
	}
	for p, f := range d.files {
		if present[p] {
			continue
		}
		// Gone: its content must settle again when it comes back.
		f.size, f.mtime, f.seen, f.data = -1, time.Time{}, digest{}, nil
		if f.live == nil {
			delete(d.files, p) // nothing of it is loaded
			continue
		}
		if f.missingSince.IsZero() {
			f.missingSince = now
		}
		if now.Sub(f.missingSince) >= d.grace() {
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return d.reload(ctx, now)
}

// observe reads a present file when it may have changed and reports
// whether its settled content changed.
func (d *FlowDir) observe(path string, f *dirFile, st fs.FileInfo, statErr error) bool {
	sum := f.seen
	unchanged := statErr == nil && f.seen != (digest{}) && st.Size() == f.size && st.ModTime().Equal(f.mtime) &&
		f.readAt.Sub(f.mtime) >= racyWindow
	if !unchanged {
		f.readAt = d.fsNow()
		data, err := readFlowFile(path, statErr)
		if err != nil {
			data = []byte(err.Error()) // settles like content
		}
		sum = sha256.Sum256(data)
		if statErr == nil {
			f.size, f.mtime = st.Size(), st.ModTime()
		}
		if sum != f.seen {
			f.seen, f.data, f.readErr = sum, data, err
			return false // new content: settled when the next scan reads it again
		}
	}
	if sum == f.settled {
		f.data, f.readErr = nil, nil
		return false
	}
	f.settled, f.reported = sum, ""
	if f.readErr != nil {
		f.parsed, f.problems = nil, []flow.Problem{{File: path, Severity: flow.SeverityError, Message: f.readErr.Error()}}
	} else {
		f.parsed, f.problems = flow.Parse(path, f.data, d.cat.options())
	}
	f.data, f.readErr = nil, nil
	return true
}

// readFlowFile reads a flow file, at most one byte past the size limit
// (the parser reports the size).
func readFlowFile(path string, statErr error) ([]byte, error) {
	if statErr != nil {
		return nil, fmt.Errorf("cannot read: %w", statErr)
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, flow.MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", err)
	}
	return data, nil
}

// reload decides the node's loaded set from what the scans settled on,
// stores and records it when it changed, and logs what happened.
func (d *FlowDir) reload(ctx context.Context, now time.Time) error {
	// The set recorded now, and what it becomes without the files gone past
	// the grace period.
	recorded := map[string]*flow.Flow{}
	var gone []string
	for p, f := range d.files {
		if f.live == nil {
			continue
		}
		recorded[p] = f.live
		if !f.missingSince.IsZero() && now.Sub(f.missingSince) >= d.grace() {
			gone = append(gone, p)
		}
	}
	live := maps.Clone(recorded)
	for _, p := range gone {
		delete(live, p)
	}
	// Files whose settled content is not the one loaded, in name order.
	var pending []string
	for p, f := range d.files {
		if f.missingSince.IsZero() && f.settled != (digest{}) && f.settled != f.liveSum {
			pending = append(pending, p)
		}
	}
	slices.Sort(pending)
	// Take each change that keeps the set valid, until a pass takes none:
	// a flow that enters a new one is taken once the new one is.
	accepted := map[string]bool{}
	rejected := map[string][]flow.Problem{}
	for progress := true; progress; {
		progress = false
		for _, p := range pending {
			if accepted[p] {
				continue
			}
			f := d.files[p]
			if flow.HasErrors(f.problems) {
				rejected[p] = errorsOf(f.problems)
				continue
			}
			next := d.with(live, p, f.parsed)
			if ps := newSetProblems(live, next, p); len(ps) > 0 {
				rejected[p] = ps
				continue
			}
			live, accepted[p] = next, true
			delete(rejected, p)
			progress = true
		}
	}
	for _, p := range pending {
		if ps := rejected[p]; ps != nil {
			d.reportRejected(p, ps)
		}
	}

	if !sameSet(recorded, live) {
		flows := make([]*flow.Flow, 0, len(live))
		for _, p := range slices.Sorted(maps.Keys(live)) {
			flows = append(flows, live[p])
		}
		if _, err := d.cat.storeLoaded(ctx, flows, OriginFile, d.dir, now); err != nil {
			d.dirty = true
			return fmt.Errorf("reload flows of %s: %w", d.dir, err)
		}
	}
	d.dirty = false
	for _, p := range slices.Sorted(maps.Keys(accepted)) {
		f := d.files[p]
		old := f.live
		f.live, f.liveSum, f.reported = f.parsed, f.settled, ""
		if old != nil && old.ID == f.live.ID && old.Hash == f.live.Hash {
			continue // comments or layout only: the same version
		}
		h, _ := d.cat.Head(f.live.ID)
		switch {
		case old == nil:
			d.log.Info("flow file loaded", "file", p, "flow", f.live.ID, "version", h.Version, "status", h.Status)
		case old.ID != f.live.ID && !loads(live, old.ID):
			d.log.Warn("flow file now holds another flow: this node no longer loads the one it held, which is held unless another live node loads it (its runs are kept)",
				"file", p, "flow", f.live.ID, "version", h.Version, "status", h.Status, "was", old.ID)
		default:
			d.log.Info("flow file reloaded", "file", p, "flow", f.live.ID, "version", h.Version, "status", h.Status)
		}
	}
	for p, f := range d.files {
		if f.live != nil && live[p] == nil && !slices.Contains(gone, p) {
			f.live, f.liveSum = nil, digest{} // moved to a file of another name
		}
	}
	for _, p := range slices.Sorted(slices.Values(gone)) {
		id := d.files[p].live.ID
		delete(d.files, p)
		d.log.Warn("flow file gone: this node no longer loads its flow, which is held unless another live node loads it (its runs are kept); restore the file to make it live again",
			"file", p, "flow", id, "missing_for", d.grace().String())
	}
	d.reportSet(live)
	return nil
}

// with is the set live with path's flow replaced by f. A file missing
// within the grace period whose flow has f's id gives way: the flow moved
// to another file name.
func (d *FlowDir) with(live map[string]*flow.Flow, path string, f *flow.Flow) map[string]*flow.Flow {
	next := maps.Clone(live)
	next[path] = f
	for p, g := range live {
		if p != path && g.ID == f.ID && !d.files[p].missingSince.IsZero() {
			delete(next, p)
		}
	}
	return next
}

// newSetProblems are the errors of the set next that concern path, or that
// the set live did not have.
func newSetProblems(live, next map[string]*flow.Flow, path string) []flow.Problem {
	had := map[string]bool{}
	for _, p := range errorsOf(flow.CheckSet(sortedFlows(live))) {
		had[p.String()] = true
	}
	var out []flow.Problem
	for _, p := range errorsOf(flow.CheckSet(sortedFlows(next))) {
		if p.File == path || !had[p.String()] {
			out = append(out, p)
		}
	}
	return out
}

// loads reports whether a set has a flow of that id.
func loads(set map[string]*flow.Flow, id string) bool {
	for _, f := range set {
		if f.ID == id {
			return true
		}
	}
	return false
}

// sortedFlows are a set's flows by file name (so a duplicate id is always
// reported at the same file).
func sortedFlows(set map[string]*flow.Flow) []*flow.Flow {
	out := make([]*flow.Flow, 0, len(set))
	for _, p := range slices.Sorted(maps.Keys(set)) {
		out = append(out, set[p])
	}
	return out
}

func errorsOf(problems []flow.Problem) []flow.Problem {
	var out []flow.Problem
	for _, p := range problems {
		if p.Severity != flow.SeverityWarning {
			out = append(out, p)
		}
	}
	return out
}

// sameSet reports whether two sets load the same flows from the same files.
func sameSet(a, b map[string]*flow.Flow) bool {
	return maps.EqualFunc(a, b, func(x, y *flow.Flow) bool { return x.ID == y.ID && x.Hash == y.Hash })
}

// reportRejected logs why a file's settled content was not loaded, unless
// that reason was logged since the content settled.
func (d *FlowDir) reportRejected(path string, problems []flow.Problem) {
	f := d.files[path]
	lines := make([]string, len(problems))
	for i, p := range problems {
		lines[i] = p.String()
	}
	reason := strings.Join(lines, "; ")
	if f.reported == reason {
		return
	}
	f.reported = reason
	if f.live != nil {
		d.log.Warn("flow file not reloaded: the version loaded before stays live", "file", path, "flow", f.live.ID, "problems", reason)
	} else {
		d.log.Warn("flow file not loaded: nothing from it is live", "file", path, "problems", reason)
	}
}

// reportSet logs, once per distinct text, the errors of the loaded set
// that files gone past the grace period leave behind (an enter: of a flow
// no longer loaded from the directory).
func (d *FlowDir) reportSet(live map[string]*flow.Flow) {
	var lines []string
	for _, p := range errorsOf(flow.CheckSet(sortedFlows(live))) {
		lines = append(lines, p.String())
	}
	reason := strings.Join(lines, "; ")
	if reason == d.reported {
		return
	}
	d.reported = reason
	if reason != "" {
		d.log.Warn("flows loaded from files refer to flows no longer loaded", "dir", d.dir, "problems", reason)
	}
}

// Watch scans the directory every interval (FlowDirPoll when zero) until
// Stop, logging what a scan could not do once per distinct error.
func (d *FlowDir) Watch(interval time.Duration) {
	if interval <= 0 {
		interval = FlowDirPoll
	}
	var clock smsflow.Clock = smsflow.WallClock{}
	if d.cat.opts.Clock != nil {
		clock = d.cat.opts.Clock
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel, d.done = cancel, make(chan struct{})
	go func() {
		defer close(d.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		var last string
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			err := d.Scan(ctx, clock.Now())
			switch {
			case ctx.Err() != nil:
				return // stopped during the scan: nothing to report
			case err != nil && err.Error() != last:
				d.log.Error("flows directory not reloaded; trying again", "dir", d.dir, "err", err)
				last = err.Error()
			case err == nil && last != "":
				d.log.Info("flows directory reloads again", "dir", d.dir)
				last = ""
			}
		}
	}()
}

// Stop ends Watch; a scan in progress gives up (what it stored stays,
// what it did not is not recorded). Safe to call twice, and without Watch.
func (d *FlowDir) Stop() {
	d.stopOnce.Do(func() {
		if d.cancel != nil {
			d.cancel()
			<-d.done
		}
	})
}
