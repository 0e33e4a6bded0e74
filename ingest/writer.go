package ingest

import (
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/store"
)

func maskPhone(e164 string) string { return phone.Mask(e164) }

// MaxGroup bounds how many items one group commit carries.
const MaxGroup = 2000

// ErrStopped is returned by Submit after Stop.
var ErrStopped = errors.New("ingest: writer stopped")

// Writer applies items to the database with group commit. Submit blocks until
// the items are durable (or refused) and returns one Result per item.
//
// Where the database takes several writers (PostgreSQL), items that touch
// only their own contact — a userId, no anonymousId, previousId or phone,
// not an alias, no hooks — are committed by Lanes writers in parallel, each
// owning the contacts whose userId hashes to it, so one contact's items
// are still written by one goroutine in the order they were submitted
// (D89). Every other request goes to one more writer that runs alone:
// while it writes, the lanes wait, and it waits for their groups in
// flight. The database's unique indexes keep deduplication exact across
// lanes: two lanes storing the same messageId collide, and the loser runs
// its group again and finds the duplicate.
type Writer struct {
	db    Store
	clock smsflow.Clock
	log   *slog.Logger

	// Lanes is how many writers commit single-contact items in parallel;
	// 0 sends every request to the one writer (SQLite, where one writer
	// excludes the others anyway). NewWriter sets the database's default;
	// change it before Start.
	Lanes int

	lanes []*lane      // single-contact items, by userId
	alone *lane        // everything else
	gate  sync.RWMutex // lanes hold it shared for a group, alone exclusively

	stop      chan struct{}
	done      sync.WaitGroup
	startOnce sync.Once
	stopOnce  sync.Once

	// OnCommit, if set, is called after a successful commit with the
	// results of each request that may have queued work for the flow
	// engine (a new event that is not history only, or hooks), so the
	// engine can be woken; a group of history only (events no flow reacts
	// to) wakes nobody. Lanes call it concurrently.
	OnCommit func(results []Result)
	// OnApplied, if set, is called after each successful commit with each
	// request's items and their results, before that request's Submit
	// returns (metrics count them). It must be quick, and safe to call
	// from several goroutines (lanes); a request split across lanes is
	// reported in its parts.
	OnApplied func(items []*Item, results []Result)

	groups, grouped atomic.Int64 // committed groups and their items (Groups)
}

// Groups returns how many groups the writer committed and how many items
// they carried: their ratio is the group commit's average group, which
// says whether concurrent calls really share commits (bench ingest).
func (w *Writer) Groups() (groups, items int64) {
	return w.groups.Load(), w.grouped.Load()
}

// DefaultLanes is Writer.Lanes where the database takes several writers.
// Measured on 2 cores (docs/benchmarks.md, D89).
const DefaultLanes = 2

// lane is one committing goroutine's queue.
type lane struct {
	reqs  chan *request
	alone bool // commits with the gate held exclusively
}

type request struct {
	items   []*Item
	hooks   TxHooks
	results []Result
	err     error
	done    chan struct{}
}

// NewWriter returns a writer; call Start before Submit.
func NewWriter(db Store, clock smsflow.Clock, log *slog.Logger) *Writer {
	w := &Writer{db: db, clock: clock, log: log, stop: make(chan struct{}),
		alone: &lane{reqs: make(chan *request, 1024), alone: true}}
	if !db.SingleWriter() {
		w.Lanes = DefaultLanes
	}
	return w
}

// Start runs the commit loops until Stop.
func (w *Writer) Start() {
	w.startOnce.Do(func() {
		for range max(0, w.Lanes) {
			w.lanes = append(w.lanes, &lane{reqs: make(chan *request, 1024)})
		}
		for _, l := range append([]*lane{w.alone}, w.lanes...) {
			w.done.Add(1)
			go w.loop(l)
		}
	})
}

// Stop finishes the requests already submitted and stops. Safe to call twice.
func (w *Writer) Stop() {
	w.stopOnce.Do(func() {
		close(w.stop)
		w.startOnce.Do(func() {}) // never started: nothing to wait for
		w.done.Wait()
	})
}

// Submit applies items and waits until they are committed. Item-level
// refusals are in each Result's Err; the returned error is for failures of
// the whole call (database down, writer stopped, ctx done).
func (w *Writer) Submit(ctx context.Context, items []*Item) ([]Result, error) {
	return w.SubmitWith(ctx, items, TxHooks{})
}

// TxHooks run inside the transaction that commits one Submit's items, so
// work tied to those items (a webhook's dedupe key, a consent change)
// commits or rolls back with them. A hook's error fails the call (it is
// retried alone first, like any failed group); refusals belong in Results.
type TxHooks struct {
	// Before runs before the items are applied; skip=true applies none of
	// them and marks each Result Duplicate.
	Before func(tx *store.Tx) (skip bool, err error)
	// After runs once the items are applied, with their results.
	After func(tx *store.Tx, results []Result) error
}

// SubmitWith is Submit with hooks that run in the items' transaction.
// Items that fail Item.Validate are refused in their Result without
// reaching the database (the hooks do not run when every item is refused).
func (w *Writer) SubmitWith(ctx context.Context, items []*Item, hooks TxHooks) ([]Result, error) {
	var refused []Result // nil while every item is valid
	valid := items
	for i, it := range items {
		err := it.Validate()
		if err != nil && refused == nil {
			refused = make([]Result, len(items))
			valid = append(make([]*Item, 0, len(items)-1), items[:i]...)
		}
		switch {
		case err != nil:
			refused[i].Err = err
		case refused != nil:
			valid = append(valid, it)
		}
	}
	res, err := w.submit(ctx, valid, hooks)
	if err != nil || refused == nil {
		return res, err
	}
	j := 0
	for i := range refused {
		if refused[i].Err == nil {
			refused[i] = res[j]
			j++
		}
	}
	return refused, nil
}

func (w *Writer) submit(ctx context.Context, items []*Item, hooks TxHooks) ([]Result, error) {
	if len(items) == 0 {
		return nil, nil
	}
	if len(w.lanes) == 0 || hooks.Before != nil || hooks.After != nil || slices.ContainsFunc(items, notOwnContact) {
		return w.enqueue(ctx, w.alone, items, hooks)
	}
	// Each item to the lane of its contact, in order; the parts are
	// committed in parallel and the call answers when all are.
	parts := make([][]int, len(w.lanes))
	for i, it := range items {
		n := laneOf(it.UserID, len(w.lanes))
		parts[n] = append(parts[n], i)
	}
	type part struct {
		idx []int
		r   *request
	}
	var queued []part
	var err error
	for n, idx := range parts {
		if len(idx) == 0 {
			continue
		}
		if len(idx) == len(items) {
			return w.enqueue(ctx, w.lanes[n], items, hooks)
		}
		sub := make([]*Item, len(idx))
		for j, i := range idx {
			sub[j] = items[i]
		}
		r, qerr := w.queue(ctx, w.lanes[n], sub, hooks)
		if qerr != nil {
			err = qerr
			break
		}
		queued = append(queued, part{idx, r})
	}
	// Once a part is queued it will be committed or failed: wait for it
	// even if ctx ended or another part could not be queued.
	results := make([]Result, len(items))
	for _, p := range queued {
		<-p.r.done
		if p.r.err != nil && err == nil {
			err = p.r.err
		}
		for j, i := range p.idx {
			if j < len(p.r.results) {
				results[i] = p.r.results[j]
			}
		}
	}
	if err != nil {
		// Parts committed in other lanes stay committed: sent again, their
		// items are duplicates (messageId).
		return nil, err
	}
	return results, nil
}

// notOwnContact reports whether applying an item may read or write another
// contact than its userId's (a merge, an alias, a number another contact
// holds, an anonymous id resolved through the aliases): such an item is
// written alone, never in a lane.
func notOwnContact(it *Item) bool {
	return it.UserID == "" || it.AnonymousID != "" || it.PreviousID != "" || it.Phone != nil || it.Type == smsflow.EventAlias
}

// laneOf is the lane of a contact: the same userId, the same lane.
func laneOf(userID string, lanes int) int {
	h := fnv.New32a()
	h.Write([]byte(userID))
	return int(h.Sum32() % uint32(lanes))
}

// enqueue queues one request on a lane and waits for its commit.
func (w *Writer) enqueue(ctx context.Context, l *lane, items []*Item, hooks TxHooks) ([]Result, error) {
	r, err := w.queue(ctx, l, items, hooks)
	if err != nil {
		return nil, err
	}
	// Once queued, the request will be committed or failed; wait for it even if
	// ctx ends, so a caller never reports failure for data that was stored.
	<-r.done
	return r.results, r.err
}

func (w *Writer) queue(ctx context.Context, l *lane, items []*Item, hooks TxHooks) (*request, error) {
	r := &request{items: items, hooks: hooks, done: make(chan struct{})}
	select {
	case <-w.stop:
		return nil, ErrStopped
	default:
	}
	select {
	case l.reqs <- r:
		return r, nil
	case <-w.stop:
		return nil, ErrStopped
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (w *Writer) loop(l *lane) {
	defer w.done.Done()
	for {
		var first *request
		select {
		case first = <-l.reqs:
		case <-w.stop:
			// Drain what was queued before Stop.
			for {
				select {
				case r := <-l.reqs:
					w.commit(l, []*request{r})
				default:
					return
				}
			}
		}
		group, n := []*request{first}, len(first.items)
	drain:
		for n < MaxGroup {
			select {
			case r := <-l.reqs:
				group = append(group, r)
				n += len(r.items)
			default:
				break drain
			}
		}
		w.commit(l, group)
	}
}

// writeTries is how many times a group is written when its transaction
// collides with another node's (store.DB.IsConflict).
const writeTries = 3

// commit writes a group in one transaction. A transaction that collided
// with another node's — both created the same new contact, or stored the
// same event (D36) — is run again: it then sees the other's rows. If it
// still fails, each request is retried alone so that one bad request
// cannot fail its neighbours.
func (w *Writer) commit(l *lane, group []*request) {
	if l.alone {
		w.gate.Lock()
	} else {
		w.gate.RLock()
	}
	err := w.write(group)
	for try := 1; try < writeTries && w.db.IsConflict(err); try++ {
		err = w.write(group)
	}
	if l.alone {
		w.gate.Unlock()
	} else {
		w.gate.RUnlock()
	}
	if err != nil && len(group) > 1 {
		w.log.Warn("group commit failed; retrying requests one by one", "requests", len(group), "err", err)
		for _, r := range group {
			w.commit(l, []*request{r})
		}
		return
	}
	// The engine is woken before the callers hear back: what a caller
	// does next never races the wake-up of what it sent.
	if err == nil && w.OnCommit != nil {
		for _, r := range group {
			if r.queued() {
				w.OnCommit(r.results)
			}
		}
	}
	if err == nil {
		n := 0
		for _, r := range group {
			n += len(r.items)
		}
		w.groups.Add(1)
		w.grouped.Add(int64(n))
	}
	for _, r := range group {
		if err != nil {
			r.results, r.err = nil, err
		} else if w.OnApplied != nil {
			w.OnApplied(r.items, r.results)
		}
		close(r.done)
	}
}

// queued reports whether a committed request may have queued work for the
// engine: a new item that is not history only, or hooks (which write what
// they like).
func (r *request) queued() bool {
	if r.hooks.Before != nil || r.hooks.After != nil {
		return true
	}
	for i, it := range r.items {
		if res := r.results[i]; !it.History && res.Err == nil && !res.Duplicate && res.Withheld == "" {
			return true
		}
	}
	return false
}

func (w *Writer) write(group []*request) error {
	now := w.clock.Now()
	// With the rule (store.DB.SetRelevant), items no flow reacts to — every
	// item but a tracked event some flow reacts to — are stored as history
	// only, with no engine work; without it every item goes to the engine.
	relevant := w.db.Relevance()
	return w.db.WriteTx(context.Background(), func(stx *store.Tx) error {
		// Ingestion's own writes see only WriteTx; the hooks get the whole
		// transaction, their owners declaring what they use of it.
		var tx WriteTx = stx
		// The group's contacts in one query, not one per item (D33), and
		// which of its events are stored already (one query; PostgreSQL
		// then writes the new ones in one statement, D36, D89).
		var ids []string
		var events []*smsflow.Event
		for _, r := range group {
			for _, it := range r.items {
				if it.UserID != "" {
					ids = append(ids, it.UserID)
				}
				events = append(events, &smsflow.Event{MessageID: it.MessageID, DedupeKey: it.dedupeKey(), Trust: it.Trust})
			}
		}
		// Each contact asked for once: a group often holds several events
		// of one contact, and the list's length is the query's cost.
		slices.Sort(ids)
		ids = slices.Compact(ids)
		b, err := loadEventBatch(tx, ids, events, w.db.Dialect().RoundTrips())
		if err != nil {
			return err
		}
		// A hook reads and writes on its own (events, contacts): what the
		// batch holds is written before it, and forgotten after.
		hook := func(fn func() error) error {
			if err := b.write(tx); err != nil {
				return err
			}
			defer b.forgetAll()
			return fn()
		}
		for _, r := range group {
			r.results = make([]Result, len(r.items))
			if r.hooks.Before != nil {
				var skip bool
				err := hook(func() (err error) {
					skip, err = r.hooks.Before(stx)
					return err
				})
				if err != nil {
					return err
				}
				if skip {
					for i := range r.results {
						r.results[i].Duplicate = true
					}
					continue
				}
			}
			for i, it := range r.items {
				if relevant != nil && !it.History && (it.Type != smsflow.EventTrack || !relevant(it.Name)) {
					it.History = true
				}
				res, err := apply(tx, b, it, now)
				if err != nil {
					if smsflow.ErrorCode(err) == smsflow.EINTERNAL {
						return err
					}
					res.Err = err
				}
				if res.Withheld != "" {
					w.log.Info("write-key call not applied; send it with the server key", "type", it.Type, "userId", it.UserID, "why", res.Withheld)
				}
				r.results[i] = res
			}
			if r.hooks.After != nil {
				if err := hook(func() error { return r.hooks.After(stx, r.results) }); err != nil {
					return err
				}
			}
		}
		return b.write(tx)
	})
}
