package engine

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/store"
)

// batch is one engine transaction as a visible unit (D84): what it loaded
// in, and the effects its interpreter recorded, written by a few ordered
// writers before commit (write). The interpreter reads a contact's state
// from here and keeps it current as it records effects: a new run is open
// and is its flow's last entry, a queued message counts toward caps and
// marks its step as sent, a canceled run's queued messages are canceled,
// those queued earlier in the batch included. Nothing is buffered behind
// the store's back: the transaction only reads and writes when asked.
type batch struct {
	tx StepTx

	contacts map[string]*contactState
	// runs are the runs loaded by id (timers due), then the latest version
	// of every run the batch started or changed.
	runs map[int64]*smsflow.Run
	// msgSteps are, per run the batch may advance, the steps that have a
	// message: "never twice" is decided from them.
	msgSteps map[int64]map[string]bool
	deleted  map[int64]bool

	// Effects, written in this order by write.
	newRuns   []*smsflow.Run
	isNew     map[int64]bool
	updated   []int64 // runs loaded from the database, in the order of their first change
	isUpdated map[int64]bool
	messages  []*smsflow.Message
	decisions []*smsflow.Decision
	consumed  []store.ConsumedReply // inbound texts a run consumed

	// After the commit: traces for OnTrace, and whether the sender has work.
	traces []Trace
	queued int
}

// contactState is a contact's loaded state and what the batch did to it.
type contactState struct {
	store.ContactState
	openLoaded, entriesLoaded, recentLoaded, marketingLoaded bool
	recentSince                                              time.Time
	// runs are the contact's runs the batch started or changed.
	runs []int64
}

func newBatch(tx StepTx) *batch {
	return &batch{tx: tx, contacts: map[string]*contactState{}, runs: map[int64]*smsflow.Run{},
		msgSteps: map[int64]map[string]bool{}, deleted: map[int64]bool{}, isNew: map[int64]bool{}, isUpdated: map[int64]bool{}}
}

// --- loads ----------------------------------------------------------------

// loadContacts locks and reads the contacts with what l names, one query
// per kind for all of them, and which steps of their open runs have a
// message.
func (b *batch) loadContacts(ids []string, l store.Load) error {
	states, err := b.tx.LoadContacts(ids, l)
	if err != nil {
		return err
	}
	var open []int64
	for id, s := range states {
		b.contacts[id] = &contactState{ContactState: *s, openLoaded: l.OpenRuns, entriesLoaded: l.Entries,
			recentLoaded: !l.RecentSince.IsZero(), recentSince: l.RecentSince, marketingLoaded: l.Marketing}
		for _, r := range s.OpenRuns {
			open = append(open, r.ID)
		}
	}
	return b.loadMessageSteps(open)
}

// loadRuns locks and reads runs by id (timers due), with which of their
// steps have a message.
func (b *batch) loadRuns(ids []int64) error {
	runs, err := b.tx.RunsByID(ids)
	if err != nil {
		return err
	}
	for id, r := range runs {
		if _, ok := b.runs[id]; !ok {
			b.runs[id] = r
		}
	}
	return b.loadMessageSteps(ids)
}

func (b *batch) loadMessageSteps(ids []int64) error {
	var want []int64
	for _, id := range ids {
		if _, ok := b.msgSteps[id]; !ok {
			want = append(want, id)
		}
	}
	if len(want) == 0 {
		return nil
	}
	steps, err := b.tx.MessageSteps(want)
	for id, s := range steps {
		b.msgSteps[id] = s
	}
	return err
}

// contact returns a contact's state, locking and reading the contact when
// the batch has not yet.
func (b *batch) contact(id string) (*contactState, error) {
	if s, ok := b.contacts[id]; ok {
		return s, nil
	}
	if err := b.loadContacts([]string{id}, store.Load{}); err != nil {
		return nil, err
	}
	return b.contacts[id], nil
}

// run returns a run loaded by id or written by the batch, or nil.
func (b *batch) run(id int64) *smsflow.Run {
	if b.deleted[id] {
		return nil
	}
	return b.runs[id]
}

// openRuns returns the contact's runs that have not ended, oldest entry
// first: the loaded ones as the batch left them, and the ones it started.
func (b *batch) openRuns(contactID string) ([]*smsflow.Run, error) {
	s, err := b.contact(contactID)
	if err != nil {
		return nil, err
	}
	if !s.openLoaded {
		open, err := b.tx.OpenRunsOf([]string{contactID})
		if err != nil {
			return nil, err
		}
		s.OpenRuns, s.openLoaded = open[contactID], true
		var ids []int64
		for _, r := range s.OpenRuns {
			ids = append(ids, r.ID)
		}
		if err := b.loadMessageSteps(ids); err != nil {
			return nil, err
		}
	}
	return b.asLeft(s, s.OpenRuns, func(r *smsflow.Run) bool {
		return r.Status == smsflow.RunActive || r.Status == smsflow.RunWaiting
	}), nil
}

// asLeft merges stored runs of a contact with the runs the batch started
// for it, each as the batch left it (deleted ones dropped), keeps those
// keep accepts, and orders them oldest entry first.
func (b *batch) asLeft(s *contactState, stored []*smsflow.Run, keep func(*smsflow.Run) bool) []*smsflow.Run {
	var out []*smsflow.Run
	seen := map[int64]bool{}
	add := func(r *smsflow.Run) {
		if seen[r.ID] || b.deleted[r.ID] {
			return
		}
		seen[r.ID] = true
		if latest, ok := b.runs[r.ID]; ok {
			r = latest
		}
		if keep(r) {
			out = append(out, r)
		}
	}
	for _, r := range stored {
		add(r)
	}
	for _, id := range s.runs {
		add(b.runs[id])
	}
	sortRuns(out)
	return out
}

// sortRuns orders runs oldest entry first, as the database reads them.
func sortRuns(runs []*smsflow.Run) {
	slices.SortStableFunc(runs, func(a, c *smsflow.Run) int {
		if n := a.EnteredAt.Compare(c.EnteredAt); n != 0 {
			return n
		}
		return cmp.Compare(a.ID, c.ID)
	})
}

// lastEntry is when the contact last entered the flow (any version,
// holdout included) and whether a run of it is still open.
func (b *batch) lastEntry(flowID, contactID string) (time.Time, bool, error) {
	s, err := b.contact(contactID)
	if err != nil {
		return time.Time{}, false, err
	}
	if !s.entriesLoaded {
		entries, err := b.tx.EntriesOf([]string{contactID})
		if err != nil {
			return time.Time{}, false, err
		}
		s.Entries, s.entriesLoaded = entries[contactID], true
	}
	last := s.Entries[flowID].Last
	for _, id := range s.runs {
		if r := b.runs[id]; r.FlowID == flowID && b.isNew[id] && r.EnteredAt.After(last) {
			last = r.EnteredAt
		}
	}
	open, err := b.openRuns(contactID)
	if err != nil {
		return time.Time{}, false, err
	}
	return last, slices.ContainsFunc(open, func(r *smsflow.Run) bool { return r.FlowID == flowID }), nil
}

// recentSends are the contact's counted sends created after since: the
// loaded ones and those the batch queued.
func (b *batch) recentSends(contactID string, since time.Time) ([]policy.Recent, error) {
	s, err := b.contact(contactID)
	if err != nil {
		return nil, err
	}
	if !s.recentLoaded || since.Before(s.recentSince) {
		recent, err := b.tx.RecentSendsOf([]string{contactID}, since)
		if err != nil {
			return nil, err
		}
		s.Recent, s.recentSince, s.recentLoaded = recent[contactID], since, true
	}
	var out []policy.Recent
	for _, r := range s.Recent {
		if r.At.After(since) {
			out = append(out, policy.Recent{At: r.At, Category: r.Category, FlowID: r.FlowID})
		}
	}
	for _, m := range b.messages {
		if m.ContactID == contactID && m.Status == smsflow.MessageQueued && m.CreatedAt.After(since) {
			out = append(out, policy.Recent{At: m.CreatedAt, Category: m.Category, FlowID: m.FlowID})
		}
	}
	return out, nil
}

// hadMarketing reports whether the number had (or has queued, in the
// database or in this batch) a marketing message since it last subscribed.
func (b *batch) hadMarketing(contactID, phone string) (bool, error) {
	s, err := b.contact(contactID)
	if err != nil {
		return false, err
	}
	if !s.marketingLoaded {
		m, err := b.tx.MarketingOf([]string{contactID})
		if err != nil {
			return false, err
		}
		s.Marketing, s.marketingLoaded = m[contactID], true
	}
	if s.Marketing[phone] {
		return true, nil
	}
	return slices.ContainsFunc(b.messages, func(m *smsflow.Message) bool {
		return m.ContactID == contactID && m.Phone == phone && m.Status == smsflow.MessageQueued && m.Direction == "out" && marketingCategory(m.Category)
	}), nil
}

// marketingCategory is a category the compliance footer counts (the
// store's marketing read counts the same ones).
func marketingCategory(c string) bool {
	return c == "lifecycle" || c == "behavior" || c == "promo"
}

// runsAwaitingGoal returns the contact's runs (open or ended) entered at or
// after since that have not converted yet, as the batch left them.
func (b *batch) runsAwaitingGoal(contactID string, since time.Time) ([]*smsflow.Run, error) {
	stored, err := b.tx.RunsAwaitingGoal(contactID, since)
	if err != nil {
		return nil, err
	}
	s, err := b.contact(contactID)
	if err != nil {
		return nil, err
	}
	return b.asLeft(s, stored, func(r *smsflow.Run) bool {
		return r.GoalAt.IsZero() && !r.EnteredAt.Before(since)
	}), nil
}

// lastRunMessage orders runs by their latest outbound message: a message
// queued in this batch is newer than every stored one, and later ones
// newer than earlier.
func (b *batch) lastRunMessage(runID int64) (int64, error) {
	for i := len(b.messages) - 1; i >= 0; i-- {
		if b.messages[i].RunID == runID {
			return math.MaxInt64/2 + int64(i), nil
		}
	}
	if b.isNew[runID] {
		return 0, nil
	}
	return b.tx.LastRunMessage(runID)
}

// --- effects --------------------------------------------------------------

func (b *batch) touch(r *smsflow.Run) error {
	b.runs[r.ID] = r
	s, err := b.contact(r.ContactID)
	if err != nil {
		return err
	}
	if !slices.Contains(s.runs, r.ID) {
		s.runs = append(s.runs, r.ID)
	}
	return nil
}

// insertRun starts a run: its id is reserved now, so what refers to it can
// name it; the row is written with the run's final state.
func (b *batch) insertRun(r *smsflow.Run) error {
	id, err := b.tx.ReserveRunID()
	if err != nil {
		return err
	}
	r.ID = id
	b.newRuns = append(b.newRuns, r)
	b.isNew[id] = true
	b.msgSteps[id] = map[string]bool{} // a new run has no message yet
	return b.touch(r)
}

// updateRun records a run's new state (the last one recorded is written).
func (b *batch) updateRun(r *smsflow.Run) error {
	if !b.isNew[r.ID] && !b.isUpdated[r.ID] {
		b.isUpdated[r.ID] = true
		b.updated = append(b.updated, r.ID)
	}
	return b.touch(r)
}

// deleteRun removes a run that never entered (a pending entry). A stored
// one is deleted at once; the contact's entries are read again when next
// needed, as the run may have been its flow's last entry.
func (b *batch) deleteRun(r *smsflow.Run) error {
	b.deleted[r.ID] = true
	if b.isNew[r.ID] {
		b.newRuns = slices.DeleteFunc(b.newRuns, func(n *smsflow.Run) bool { return n.ID == r.ID })
		delete(b.isNew, r.ID)
		return nil
	}
	if s, ok := b.contacts[r.ContactID]; ok {
		s.entriesLoaded = false
	}
	return b.tx.DeleteRun(r.ID)
}

// decide records a decision.
func (b *batch) decide(d *smsflow.Decision) error {
	b.decisions = append(b.decisions, d)
	return nil
}

// queueMessage queues a run's message unless its step has one already
// (never twice), and says whether it did.
func (b *batch) queueMessage(m *smsflow.Message) (bool, error) {
	if err := b.loadMessageSteps([]int64{m.RunID}); err != nil {
		return false, err
	}
	steps := b.msgSteps[m.RunID]
	if steps[m.StepID] {
		return false, nil
	}
	steps[m.StepID] = true
	b.messages = append(b.messages, m)
	return true, nil
}

// cancelQueued cancels a run's queued messages, stored and queued in this
// batch, and returns how many.
func (b *batch) cancelQueued(run *smsflow.Run, now time.Time) (int64, error) {
	var n int64
	for _, m := range b.messages {
		if m.RunID == run.ID && m.Status == smsflow.MessageQueued {
			m.Status, m.UpdatedAt = smsflow.MessageCanceled, now
			n++
		}
	}
	if b.isNew[run.ID] {
		return n, nil // nothing of it is stored
	}
	stored, err := b.tx.CancelQueued(run.ID, now)
	if err != nil {
		return 0, err
	}
	if stored > 0 {
		b.staleSends(run.ContactID)
	}
	return n + stored, nil
}

// cancelContactQueued cancels every queued message a flow made for the
// contact, stored and queued in this batch (stored ones first).
func (b *batch) cancelContactQueued(contactID, code string, now time.Time) ([]store.CanceledMessage, error) {
	out, err := b.tx.CancelContactQueued(contactID, code, now)
	if err != nil {
		return nil, err
	}
	if len(out) > 0 {
		b.staleSends(contactID)
	}
	for _, m := range b.messages {
		if m.ContactID == contactID && m.RunID != 0 && m.Status == smsflow.MessageQueued {
			m.Status, m.ErrorCode, m.UpdatedAt = smsflow.MessageCanceled, code, now
			out = append(out, store.CanceledMessage{RunID: m.RunID, StepID: m.StepID, FlowID: m.FlowID})
		}
	}
	return out, nil
}

// staleSends makes the contact's stored sends be read again when next
// needed: some of them were canceled and count no more.
func (b *batch) staleSends(contactID string) {
	if s, ok := b.contacts[contactID]; ok {
		s.recentLoaded, s.marketingLoaded = false, false
	}
}

// write applies the batch's effects in a fixed order, each kind in as few
// statements as the database allows: new runs (what the rest refers to),
// run changes, messages, decisions.
func (b *batch) write() error {
	if err := b.tx.InsertRuns(b.newRuns); err != nil {
		return err
	}
	updates := make([]*smsflow.Run, 0, len(b.updated))
	for _, id := range b.updated {
		if !b.deleted[id] {
			updates = append(updates, b.runs[id])
		}
	}
	if err := b.tx.UpdateRuns(updates); err != nil {
		return err
	}
	if err := b.tx.InsertMessages(b.messages); err != nil {
		return err
	}
	if err := b.tx.ConsumeReplies(b.consumed); err != nil {
		return err
	}
	return b.tx.InsertDecisions(b.decisions)
}

// consumeReply records that a run of flowID at stepID ("" for the trigger)
// consumed an inbound text: the event is a contact's text (its message id
// is mo-ID, as ingest.Inbound names it); any other event is left alone.
func (b *batch) consumeReply(ev *smsflow.Event, flowID, stepID string) {
	if ev == nil || ev.Type != smsflow.EventInbound || ev.Name != smsflow.EventMessageReplied {
		return
	}
	rest, ok := strings.CutPrefix(ev.MessageID, "mo-")
	if !ok {
		return
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || id <= 0 {
		return
	}
	by := "flow:" + flowID
	if stepID != "" {
		by += "/" + stepID
	}
	b.consumed = append(b.consumed, store.ConsumedReply{MessageID: id, By: by})
}
