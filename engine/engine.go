package engine

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/store"
)

// Config is what the engine needs from the configuration.
type Config struct {
	Brand         map[string]any // template scope `brand`
	PublicURL     string         // base of tracked links
	Provider      string         // name recorded on messages
	TriggerMaxAge time.Duration  // older events trigger nothing
	// Policy is the governance every send is checked against; nil means
	// policy.Default().
	Policy *policy.Policy
	// NewLinkCode makes tracked link codes; nil means random codes.
	// simulate passes a deterministic sequence.
	NewLinkCode func() string
	// LinkUTM is links.utm: UTM parameters (Liquid values) added to tracked destinations.
	LinkUTM map[string]string
	// AllowedLinkHosts are the hosts a link that came from a public value
	// may point at besides PublicURL's and those written in the flows
	// (config.AllowedLinkHosts: "shop.example" exactly, ".shop.example"
	// with its subdomains).
	AllowedLinkHosts []string
	// Footer is the opt-out language (brand.footer) the first marketing
	// message of a subscription must carry; it is appended, with the brand
	// name prefixed, when the body lacks them. Empty turns it off.
	Footer string
	// SmartEncoding replaces look-alike characters when the whole body then
	// fits GSM-7 (config smart_encoding).
	SmartEncoding bool
	// ScheduleUntil, when set, is the last day (its UTC date) daily
	// schedules — local audiences at HH:MM, date triggers — scan for:
	// simulate's period ends with its input. Zero: no end (serve).
	ScheduleUntil time.Time
	// SenderOf resolves a send step's from: to the sender its message is
	// queued for (smsflow.Message.Sender; "" the default) and reports
	// whether from names a configured sender (config Senders.Resolve). nil
	// queues every message for the default sender.
	SenderOf func(from string) (sender string, ok bool)
	// Workers is how many engine loops run at once (config engine_workers;
	// 0 or 1: one). They share the work as several nodes do — claims skip
	// locked rows, contacts are locked — so more than one helps only where
	// transactions run in parallel: PostgreSQL (D33).
	Workers int
	// Heartbeat is how often the node refreshes its heartbeat; 0 means
	// NodeHeartbeat. A shorter node TTL (config node_ttl) needs a shorter
	// heartbeat.
	Heartbeat time.Duration
}

// brandName is the brand's name from the template scope, "" if none.
func (c Config) brandName() string {
	name, _ := c.Brand["name"].(string)
	return name
}

// Trace is one thing the engine did, for simulate's timeline and for logs.
type Trace struct {
	Time      time.Time `json:"time"`
	ContactID string    `json:"contact"`
	FlowID    string    `json:"flow"`
	Step      string    `json:"step,omitempty"`
	Kind      string    `json:"kind"` // enter, send, wait, skip, defer, cancel, exit, goal
	Body      string    `json:"body,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Variant   string    `json:"variant,omitempty"`
	Holdout   bool      `json:"holdout,omitempty"`
	RunID     int64     `json:"-"`
	Timezone  string    `json:"-"`
	Value     float64   `json:"value,omitempty"`
	HasValue  bool      `json:"-"` // the goal defines a value
}

// Engine runs flows. ProcessInbox and ProcessDue each do one batch in one
// transaction; Start runs them in a loop.
type Engine struct {
	db    Store
	cat   *Catalog
	clock smsflow.Clock
	log   *slog.Logger
	cfg   Config

	// OnTrace, if set, receives every trace entry after its transaction
	// commits, in order.
	OnTrace func(Trace)
	// OnQueued, if set, is called after a commit that queued messages, to
	// wake the sender.
	OnQueued func()

	catalogGen uint64 // the catalog generation audience jobs were made for

	// timersBehind: the last batch of due timers was full, so more are due
	// (TimersBehind).
	timersBehind atomic.Bool

	// wake is shared by the worker loops: Notify wakes one idle loop, not
	// every one (an event committed wakes one pass; the others would find
	// nothing). A loop that leaves work behind wakes a peer (loop).
	wake      chan struct{}
	stop      chan struct{}
	done      chan struct{}
	startOnce sync.Once
	stopOnce  sync.Once
}

// New returns an engine.
func New(db Store, cat *Catalog, clock smsflow.Clock, log *slog.Logger, cfg Config) *Engine {
	if cfg.TriggerMaxAge == 0 {
		cfg.TriggerMaxAge = 6 * time.Hour
	}
	if cfg.Policy == nil {
		p := policy.Default()
		cfg.Policy = &p
	}
	if cfg.NewLinkCode == nil {
		cfg.NewLinkCode = newLinkCode
	}
	cfg.Workers = max(cfg.Workers, 1)
	return &Engine{db: db, cat: cat, clock: clock, log: log, cfg: cfg, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// Catalog returns the engine's flows.
func (e *Engine) Catalog() *Catalog { return e.cat }

// Notify wakes a loop (new events were committed): one that sleeps, or
// the next to finish its pass.
func (e *Engine) Notify() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Batch sizes of one engine transaction.
const (
	InboxBatch = 256
	DueBatch   = 256
	// CatchUpBatch is the due-timer batch while the engine is behind on
	// timers (TimersBehind): fewer, larger transactions fire more timers
	// per second (docs/benchmarks.md, Figures behind constants).
	CatchUpBatch = 1024
	// PollInterval bounds how late a timer fires when nothing wakes the loop
	// earlier (timers due sooner are waited for exactly).
	PollInterval = 250 * time.Millisecond
	// HeldRetry is how soon a loop looks again at inbox events it held
	// because another loop or node holds an older event of their contact
	// (that transaction's commit wakes no loop).
	HeldRetry = 5 * time.Millisecond
)

// Start runs the engine loops until Stop.
func (e *Engine) Start() {
	e.startOnce.Do(func() {
		var wg sync.WaitGroup
		for i := range e.cfg.Workers {
			wg.Go(func() { e.loop(i) })
		}
		go func() {
			wg.Wait()
			close(e.done)
		}()
	})
}

// Stop ends the loop after the batch in progress. Safe to call twice.
func (e *Engine) Stop() {
	e.stopOnce.Do(func() {
		close(e.stop)
		e.startOnce.Do(func() { close(e.done) })
		<-e.done
	})
}

// heartbeat is how often worker 0 refreshes the node's heartbeat.
func (e *Engine) heartbeat() time.Duration {
	if e.cfg.Heartbeat > 0 {
		return e.cfg.Heartbeat
	}
	return NodeHeartbeat
}

// CatalogRefresh is how often the loop re-reads flow heads, so a flow
// edited, paused or archived through another node's API, or held because
// no live node loads its file any more, takes effect here.
const CatalogRefresh = 5 * time.Second

// loop is one worker; worker 0 also keeps the catalog and audience jobs
// current, and the node's heartbeat (Catalog.Heartbeat) going.
func (e *Engine) loop(worker int) {
	ctx := context.Background()
	lastLoad, lastBeat := e.clock.Now(), e.clock.Now()
	for {
		if now := e.clock.Now(); worker == 0 && now.Sub(lastBeat) >= e.heartbeat() {
			if err := e.cat.Heartbeat(ctx); err != nil {
				e.log.Error("node heartbeat", "err", err)
			}
			lastBeat = now
		}
		if now := e.clock.Now(); worker == 0 && now.Sub(lastLoad) >= CatalogRefresh {
			if err := e.cat.Load(ctx); err != nil {
				e.log.Error("reload flows", "err", err)
			}
			lastLoad = now
		}
		p, wakes, err := e.runOnce(ctx, worker == 0)
		if err != nil {
			e.log.Error("engine batch failed", "err", err)
		}
		if p.more && err == nil {
			// Work is left (see pass): go on, and let an idle peer take a
			// share. A pass that took all there was sleeps: whatever is
			// committed since wakes it (Notify), and its timers are waited
			// for.
			if e.cfg.Workers > 1 {
				e.Notify()
			}
			select {
			case <-e.stop:
				return
			default:
				continue
			}
		}
		wait := e.sleep(ctx, wakes)
		if p.held {
			wait = min(wait, HeldRetry)
		}
		t := time.NewTimer(wait)
		select {
		case <-e.stop:
			t.Stop()
			return
		case <-e.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// sleep is how long an idle loop waits: until the next timer is due, at
// most PollInterval. wakes are the due times the pass read, nil if it must
// read them again.
func (e *Engine) sleep(ctx context.Context, wakes *store.Wakes) time.Duration {
	if wakes == nil {
		w, err := e.db.Wakes(ctx)
		if err != nil {
			return PollInterval
		}
		wakes = &w
	}
	next := wakes.Next()
	if next.IsZero() {
		return PollInterval
	}
	return min(PollInterval, max(next.Sub(e.clock.Now()), time.Millisecond))
}

// RunOnce processes one batch of waiting events and one of due timers and
// returns how many items it handled.
func (e *Engine) RunOnce(ctx context.Context) (int, error) {
	p, _, err := e.runOnce(ctx, true)
	return p.n, err
}

// pass is what one runOnce did: n items handled; more when some kind may
// have more ready at once (a full batch, an audience batch; see
// processInbox) — a kind whose timers are merely due later is in the
// wakes; held when inbox events wait for another loop's or node's
// transaction, which wakes nobody when it commits: the loop looks again
// after HeldRetry.
type pass struct {
	n    int
	more bool
	held bool
}

// runOnce is RunOnce; only one worker (jobs) makes the audience jobs. It
// also returns the timers' due times it read when no batch of timers ran
// after the read (nothing since can have added one), else nil: the loop
// sleeps on them without reading them again (a timer left due is read as
// due then, and waited for a millisecond).
func (e *Engine) runOnce(ctx context.Context, jobs bool) (pass, *store.Wakes, error) {
	var errSeg error
	if g := e.cat.Generation(); jobs && g != e.catalogGen {
		if errSeg = e.ensureAudienceJobs(ctx); errSeg == nil {
			e.catalogGen = g
		}
	}
	p, err1 := e.processInbox(ctx, InboxBatch)
	more := p.more
	// Each kind of timer is a transaction of its own, run only when
	// something of its kind is due: one read says which (D105). While
	// events come in a few at a time, the four empty transactions were
	// most of the engine's statements. If the read fails, every kind runs.
	now := e.clock.Now()
	w, errW := e.db.Wakes(ctx)
	ran := false
	due := func(at time.Time) bool {
		d := errW != nil || !at.IsZero() && !at.After(now)
		ran = ran || d
		return d
	}
	var n2, n3, n4, n5 int
	var err2, err3, err4, err5 error
	if due(w.Runs) {
		size := DueBatch
		if e.TimersBehind() {
			size = CatchUpBatch
		}
		n2, err2 = e.ProcessDue(ctx, size)
		more = more || n2 >= size
	} else {
		e.dueBatchEnded(false) // nothing due: caught up
	}
	if due(w.Entries) {
		n5, err5 = e.ProcessEntries(ctx, DueBatch)
		more = more || n5 >= DueBatch
	}
	if due(w.Inactivity) {
		n3, err3 = e.ProcessInactivity(ctx, DueBatch)
		more = more || n3 >= DueBatch
	}
	if due(w.SegmentJobs) {
		n4, err4 = e.ProcessAudiences(ctx, AudienceBatch)
		more = more || n4 > 0 // a job's next batch is due at once
	}
	var wakes *store.Wakes
	if !ran {
		wakes = &w
	}
	return pass{n: p.n + n2 + n3 + n4 + n5, more: more, held: p.held}, wakes, errors.Join(errSeg, err1, err2, err5, err3, err4)
}

// byPriority orders runs for deciding their sends: flow priority (highest
// first), then entry time, then flow id: a fixed order, so caps pick the
// same winners on every node and every run.
func (e *Engine) byPriority(runs []*smsflow.Run) {
	prio := func(r *smsflow.Run) int {
		if c, ok := e.cat.Peek(r.FlowID, r.FlowVersion); ok {
			return c.Priority
		}
		return 0
	}
	sort.SliceStable(runs, func(i, j int) bool {
		a, b := runs[i], runs[j]
		if pa, pb := prio(a), prio(b); pa != pb {
			return pa > pb
		}
		if !a.EnteredAt.Equal(b.EnteredAt) {
			return a.EnteredAt.Before(b.EnteredAt)
		}
		return a.FlowID < b.FlowID
	})
}

// load is what a batch reads with its contacts, in one query per kind: the
// contacts, locked, with their consent, recent sends (caps) and, with a
// footer, their marketing; for events and entries, their open runs and
// last entries too.
func (e *Engine) load(entries bool) store.Load {
	return store.Load{OpenRuns: entries, Entries: entries,
		RecentSince: e.clock.Now().Add(-e.cfg.Policy.Lookback()), Marketing: e.cfg.Footer != ""}
}

// commitWork runs fn on a batch in a write transaction, writes the batch's
// effects before the commit and, after it, delivers traces and wakes the
// sender.
func (e *Engine) commitWork(ctx context.Context, fn func(b *batch, tx WriteTx) error) error {
	var b *batch
	err := writeTx(ctx, e.db, func(tx WriteTx) error {
		b = newBatch(tx)
		if err := fn(b, tx); err != nil {
			return err
		}
		return b.write()
	})
	if err != nil {
		return err
	}
	if e.OnTrace != nil {
		for _, t := range b.traces {
			e.OnTrace(t)
		}
	}
	if b.queued > 0 && e.OnQueued != nil {
		e.OnQueued()
	}
	return nil
}

// ProcessInbox applies up to limit stored events, in arrival order per
// contact, in one transaction. If that transaction fails, each contact is
// retried alone, so one contact's failure cannot stall the others.
func (e *Engine) ProcessInbox(ctx context.Context, limit int) (int, error) {
	p, err := e.processInbox(ctx, limit)
	return p.n, err
}

// processInbox is ProcessInbox, saying whether the loop should go on at
// once (more: the batch was full, or it held events of a contact whose
// older event another loop or node holds, and it handled others: as it
// always did after handling something) or retry soon (held: it held events
// and handled none; the holder's commit wakes nobody).
func (e *Engine) processInbox(ctx context.Context, limit int) (pass, error) {
	var handled int
	var full, held bool
	err := e.commitWork(ctx, func(b *batch, tx WriteTx) error {
		handled, full, held = 0, false, false
		items, err := tx.ClaimInbox(limit)
		if err != nil {
			return err
		}
		full = len(items) >= limit
		byContact := map[string][]store.InboxItem{}
		for _, it := range items {
			byContact[it.ContactID] = append(byContact[it.ContactID], it)
		}
		ids := make([]string, 0, len(byContact))
		for id := range byContact {
			ids = append(ids, id)
		}
		sort.Strings(ids) // one lock order for every node
		seqs := make([]int64, len(items))
		for i, it := range items {
			seqs[i] = it.EventSeq
		}
		events, err := tx.EventsBySeq(seqs)
		if err != nil {
			return err
		}
		oldest, err := tx.OldestInbox(ids)
		if err != nil {
			return err
		}
		var done []int64
		var work []string
		for _, id := range ids {
			its := byContact[id]
			if !needsContact(tx, its, events) {
				// Tracked events no flow reacts to (delivery receipts, most
				// often) are history: no lock, no contact, just done.
				done = append(done, inboxSeqs(its)...)
				handled += len(its)
				continue
			}
			if first, ok := oldest[id]; ok && first < its[0].Seq {
				held = true
				continue // another node holds an older event of this contact
			}
			work = append(work, id)
		}
		if err := b.loadContacts(work, e.load(true)); err != nil {
			return err
		}
		for _, id := range work {
			its := byContact[id]
			n, err := e.processContactInbox(b, tx, id, its, events, false)
			if err != nil {
				return err
			}
			if n > 0 {
				done = append(done, inboxSeqs(byContact[id])...)
			}
			handled += n
		}
		return tx.DeleteInboxItems(done)
	})
	if err == nil {
		// A batch all held is no progress: it retries soon, not at once.
		return pass{n: handled, more: (full || held) && handled > 0, held: held && handled == 0}, nil
	}
	e.log.Warn("inbox batch failed; retrying contact by contact", "err", err)
	n, err := e.inboxOneByOne(ctx, limit)
	return pass{n: n, more: n > 0}, err
}

// processContactInbox applies one contact's claimed events, in order, and
// returns how many it handled: all of them, or 0 when another node holds an
// older event of the contact. events holds the batch's events by sequence
// number (nil: read each one); the caller deletes handled inbox items.
// checkOlder asks for the older-event check here (the batch path made it
// for all its contacts in one query).
func (e *Engine) processContactInbox(b *batch, tx WriteTx, contactID string, items []store.InboxItem, events map[int64]*smsflow.Event, checkOlder bool) (int, error) {
	cc, err := e.newContactCtx(b, contactID) // locks the contact
	if err != nil {
		return 0, err
	}
	// Another node holds an older event of this contact: leave it to that node.
	if checkOlder {
		if older, err := tx.OlderInbox(contactID, items[0].Seq); err != nil || older {
			return 0, err
		}
	}
	for _, it := range items {
		ev := events[it.EventSeq]
		if ev == nil {
			if ev, err = tx.EventBySeq(it.EventSeq); err != nil {
				return 0, err
			}
		}
		if cc.contact != nil {
			if err := cc.handleEvent(ev); err != nil {
				return 0, err
			}
		}
	}
	return len(items), nil
}

// needsContact reports whether any of a contact's claimed events can change
// something: an identify, alias, group or consent event, or a tracked event
// some flow reacts to (Tx.Queues: the one rule, store.DB.SetRelevant, that
// the ingest writer and the receipts also follow). An event not in the
// batch's map (nil map entry) is assumed to matter.
func needsContact(tx WriteTx, items []store.InboxItem, events map[int64]*smsflow.Event) bool {
	for _, it := range items {
		ev := events[it.EventSeq]
		if ev == nil || ev.Type != smsflow.EventTrack || tx.Queues(ev.Name) {
			return true
		}
	}
	return false
}

func inboxSeqs(items []store.InboxItem) []int64 {
	out := make([]int64, len(items))
	for i, it := range items {
		out[i] = it.Seq
	}
	return out
}

// inboxOneByOne is the slow path after a failed batch: one transaction per
// contact; a contact that still fails has its events dropped from the inbox
// (they stay in the event history) and the failure logged loudly.
func (e *Engine) inboxOneByOne(ctx context.Context, limit int) (int, error) {
	var items []store.InboxItem
	err := writeTx(ctx, e.db, func(tx WriteTx) error {
		var err error
		items, err = tx.ClaimInbox(limit)
		return err
	})
	if err != nil {
		return 0, err
	}
	byContact := map[string][]store.InboxItem{}
	var order []string
	for _, it := range items {
		if _, ok := byContact[it.ContactID]; !ok {
			order = append(order, it.ContactID)
		}
		byContact[it.ContactID] = append(byContact[it.ContactID], it)
	}
	handled := 0
	for _, id := range order {
		err := e.commitWork(ctx, func(b *batch, tx WriteTx) error {
			n, err := e.processContactInbox(b, tx, id, byContact[id], nil, true)
			if err != nil || n == 0 {
				return err
			}
			handled += n
			return tx.DeleteInboxItems(inboxSeqs(byContact[id]))
		})
		if err != nil {
			e.log.Error("contact's events could not be applied; dropping them from the engine's inbox", "contact", id, "events", len(byContact[id]), "err", err)
			derr := writeTx(ctx, e.db, func(tx WriteTx) error {
				return tx.DeleteInboxItems(inboxSeqs(byContact[id]))
			})
			if derr != nil {
				return handled, derr
			}
		}
	}
	return handled, nil
}

// ProcessDue resumes up to limit runs whose timers are due.
func (e *Engine) ProcessDue(ctx context.Context, limit int) (int, error) {
	now := e.clock.Now()
	var handled int
	full := false
	err := e.commitWork(ctx, func(b *batch, tx WriteTx) error {
		handled = 0
		due, err := tx.DueRuns(now, limit)
		if err != nil {
			return err
		}
		full = len(due) >= limit
		handled, err = e.resumeDue(b, due, now)
		return err
	})
	if err == nil {
		e.dueBatchEnded(full)
	}
	return handled, err
}

// dueBatchEnded records whether the last batch of due timers came back full
// (TimersBehind); when the engine catches up, the sender, which deferred to
// the timers, goes on.
func (e *Engine) dueBatchEnded(full bool) {
	if e.timersBehind.Swap(full) && !full && e.OnQueued != nil {
		e.OnQueued()
	}
}

// resumeDue resumes the runs whose timers are due in one batch and returns
// how many it resumed.
func (e *Engine) resumeDue(b *batch, due []store.DueRun, now time.Time) (int, error) {
	handled := 0
	// Per contact (one lock order for every node), then in priority
	// order: sends due in the same instant are decided highest first.
	byContact := map[string][]int64{}
	var ids []string
	for _, d := range due {
		if _, ok := byContact[d.ContactID]; !ok {
			ids = append(ids, d.ContactID)
		}
		byContact[d.ContactID] = append(byContact[d.ContactID], d.RunID)
	}
	sort.Strings(ids)
	runIDs := make([]int64, len(due))
	for i, d := range due {
		runIDs[i] = d.RunID
	}
	if err := b.loadContacts(ids, e.load(false)); err != nil {
		return handled, err
	}
	if err := b.loadRuns(runIDs); err != nil {
		return handled, err
	}
	for _, id := range ids {
		cc, err := e.newContactCtx(b, id) // locked by loadContacts
		if err != nil {
			return handled, err
		}
		var runs []*smsflow.Run
		for _, runID := range byContact[id] {
			run := b.run(runID)
			// Re-check under the contact's lock: another node may have moved it.
			if run == nil || run.Status != smsflow.RunWaiting || run.WakeAt.IsZero() || run.WakeAt.After(now) {
				continue
			}
			runs = append(runs, run)
		}
		e.byPriority(runs)
		for _, run := range runs {
			if err := cc.resumeTimer(run); err != nil {
				return handled, err
			}
			handled++
		}
	}
	return handled, nil
}

// TimersBehind says whether more timers were due than the engine's last
// batch took: it is behind on them. The send loop defers to it (Connect).
func (e *Engine) TimersBehind() bool { return e.timersBehind.Load() }

// Connect wires an engine and the sender of its node: the engine wakes the
// sender when it queued messages, the sender wakes the engine when an
// outcome made events, the sender's loop defers to a timer backlog
// (delivery.Sender.Defer), and the sender leaves the messages of the flows the
// catalog holds or pauses in the outbox (delivery.Sender.Waiting).
func Connect(e *Engine, s *delivery.Sender) {
	e.OnQueued = s.Notify
	s.OnEvents = e.Notify
	s.Defer = e.TimersBehind
	s.Waiting = e.cat.Waiting
}
