package engine

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// memRows are the rows the engine's pure tests run over: contacts, the
// consent ledger, runs, messages, decisions, events, links and clicks, in
// plain Go. memRows answers StepTx, each method the plain definition of
// what its store method reads or writes (store/storetest runs the same
// methods' contract on both databases), so the interpreter runs exactly as
// it does over the database, without one.
type memRows struct {
	contacts   map[string]*smsflow.Contact
	ledger     []memConsent
	runs       map[int64]*smsflow.Run
	lastRunID  int64
	messages   []*smsflow.Message // id = index + 1
	decisions  []*smsflow.Decision
	events     []*smsflow.Event
	links      []*store.Link
	clicks     []memClick
	dateSkips  map[[2]string]string // flow, contact → note
	inactivity map[[2]string]memInactivity
	consumed   map[int64]string // inbound message id → what consumed it
}

type memConsent struct {
	phone  string
	status smsflow.ConsentStatus
	at     time.Time
}

type memClick struct {
	runID  int64
	stepID string
}

type memInactivity struct {
	due time.Time
	seq int64
}

func newMemRows() *memRows {
	return &memRows{contacts: map[string]*smsflow.Contact{}, runs: map[int64]*smsflow.Run{},
		dateSkips: map[[2]string]string{}, inactivity: map[[2]string]memInactivity{}}
}

var _ StepTx = (*memRows)(nil)

// Copies: a read returns rows the caller may change, as a database's do.

func cloneRun(r *smsflow.Run) *smsflow.Run {
	c := *r
	c.State.Variants = maps.Clone(r.State.Variants)
	return &c
}

func cloneContact(c *smsflow.Contact) *smsflow.Contact {
	d := *c
	d.Traits = maps.Clone(c.Traits)
	d.Timezones = slices.Clone(c.Timezones)
	d.PublicTraits = slices.Clone(c.PublicTraits)
	return &d
}

func runOpen(r *smsflow.Run) bool {
	return r.Status == smsflow.RunActive || r.Status == smsflow.RunWaiting
}

// byEntry orders runs oldest entry first, then by id.
func byEntry(runs []*smsflow.Run) []*smsflow.Run {
	slices.SortFunc(runs, func(a, b *smsflow.Run) int {
		if n := a.EnteredAt.Compare(b.EnteredAt); n != 0 {
			return n
		}
		return int(a.ID - b.ID)
	})
	return runs
}

func (m *memRows) Context() context.Context { return context.Background() }

// --- contacts and consent ----------------------------------------------------

func (m *memRows) LoadContacts(ids []string, l store.Load) (map[string]*store.ContactState, error) {
	out := map[string]*store.ContactState{}
	for _, id := range ids {
		s := &store.ContactState{Consent: smsflow.ConsentNone}
		if c := m.contacts[id]; c != nil {
			s.Contact = cloneContact(c)
			s.Consent, _ = m.ContactConsent(c.Phone)
		}
		out[id] = s
	}
	if l.OpenRuns {
		open, _ := m.OpenRunsOf(ids)
		for id, runs := range open {
			out[id].OpenRuns = runs
		}
	}
	if l.Entries {
		entries, _ := m.EntriesOf(ids)
		for id, e := range entries {
			out[id].Entries = e
		}
	}
	if l.Marketing {
		mk, _ := m.MarketingOf(ids)
		for id, phones := range mk {
			out[id].Marketing = phones
		}
	}
	if !l.RecentSince.IsZero() {
		recent, _ := m.RecentSendsOf(ids, l.RecentSince)
		for id, rows := range recent {
			out[id].Recent = rows
		}
	}
	return out, nil
}

func (m *memRows) OpenRunsOf(ids []string) (map[string][]*smsflow.Run, error) {
	out := map[string][]*smsflow.Run{}
	for _, id := range ids {
		out[id] = nil
		for _, r := range m.runs {
			if r.ContactID == id && runOpen(r) {
				out[id] = append(out[id], cloneRun(r))
			}
		}
		byEntry(out[id])
	}
	return out, nil
}

func (m *memRows) EntriesOf(ids []string) (map[string]map[string]store.Entry, error) {
	out := map[string]map[string]store.Entry{}
	for _, id := range ids {
		out[id] = map[string]store.Entry{}
		for _, r := range m.runs {
			if r.ContactID != id {
				continue
			}
			e := out[id][r.FlowID]
			if r.EnteredAt.After(e.Last) {
				e.Last = r.EnteredAt
			}
			e.Open = e.Open || runOpen(r)
			out[id][r.FlowID] = e
		}
	}
	return out, nil
}

// counted are the statuses caps count (store's countedStatuses).
func counted(status string) bool {
	switch status {
	case smsflow.MessageQueued, smsflow.MessageSending, smsflow.MessageSent, smsflow.MessageDelivered, smsflow.MessageUnknown:
		return true
	}
	return false
}

func (m *memRows) RecentSendsOf(ids []string, since time.Time) (map[string][]store.SentRecord, error) {
	out := map[string][]store.SentRecord{}
	for _, id := range ids {
		out[id] = nil
		for _, msg := range m.messages { // created in order
			if msg.ContactID == id && msg.Direction == "out" && counted(msg.Status) && msg.CreatedAt.After(since) {
				out[id] = append(out[id], store.SentRecord{At: msg.CreatedAt, Category: msg.Category, FlowID: msg.FlowID})
			}
		}
	}
	return out, nil
}

// MarketingOf: the numbers that had a counted marketing message created
// at or after their latest subscription was recorded.
func (m *memRows) MarketingOf(ids []string) (map[string]map[string]bool, error) {
	out := map[string]map[string]bool{}
	for _, id := range ids {
		out[id] = map[string]bool{}
		for _, msg := range m.messages {
			if msg.ContactID != id || msg.Direction != "out" || !marketingCategory(msg.Category) || !counted(msg.Status) {
				continue
			}
			var subscribed time.Time
			for _, e := range m.ledger {
				if e.phone == msg.Phone && e.status == smsflow.ConsentSubscribed {
					subscribed = e.at
				}
			}
			if !msg.CreatedAt.Before(subscribed) {
				out[id][msg.Phone] = true
			}
		}
	}
	return out, nil
}

func (m *memRows) ContactByID(id string) (*smsflow.Contact, error) {
	if c := m.contacts[id]; c != nil {
		return cloneContact(c), nil
	}
	return nil, nil
}

// ContactConsent is the status of the number's latest ledger entry.
func (m *memRows) ContactConsent(phone string) (smsflow.ConsentStatus, error) {
	status := smsflow.ConsentNone
	for _, e := range m.ledger {
		if phone != "" && e.phone == phone {
			status = e.status
		}
	}
	return status, nil
}

func (m *memRows) UpdateContact(c *smsflow.Contact) error {
	m.contacts[c.ID] = cloneContact(c)
	return nil
}

// --- runs ----------------------------------------------------------------

func (m *memRows) RunsByID(ids []int64) (map[int64]*smsflow.Run, error) {
	out := map[int64]*smsflow.Run{}
	for _, id := range ids {
		if r, ok := m.runs[id]; ok {
			out[id] = cloneRun(r)
		}
	}
	return out, nil
}

func (m *memRows) RunsAwaitingGoal(contactID string, since time.Time) ([]*smsflow.Run, error) {
	var out []*smsflow.Run
	for _, r := range m.runs {
		if r.ContactID == contactID && r.GoalAt.IsZero() && !r.EnteredAt.Before(since) {
			out = append(out, cloneRun(r))
		}
	}
	return byEntry(out), nil
}

func (m *memRows) ReserveRunID() (int64, error) {
	m.lastRunID++
	return m.lastRunID, nil
}

func (m *memRows) InsertRuns(runs []*smsflow.Run) error {
	for _, r := range runs {
		m.runs[r.ID] = cloneRun(r)
	}
	return nil
}

func (m *memRows) UpdateRuns(runs []*smsflow.Run) error {
	for _, r := range runs {
		if _, ok := m.runs[r.ID]; ok {
			m.runs[r.ID] = cloneRun(r)
		}
	}
	return nil
}

func (m *memRows) DeleteRun(id int64) error {
	delete(m.runs, id)
	return nil
}

// --- messages ----------------------------------------------------------------

func (m *memRows) MessageSteps(runIDs []int64) (map[int64]map[string]bool, error) {
	out := map[int64]map[string]bool{}
	for _, id := range runIDs {
		out[id] = map[string]bool{}
		for _, msg := range m.messages {
			if msg.RunID == id {
				out[id][msg.StepID] = true
			}
		}
	}
	return out, nil
}

func (m *memRows) LastRunMessage(runID int64) (int64, error) {
	var last int64
	for _, msg := range m.messages {
		if msg.RunID == runID {
			last = msg.ID
		}
	}
	return last, nil
}

func (m *memRows) CancelQueued(runID int64, now time.Time) (int64, error) {
	var n int64
	for _, msg := range m.messages {
		if msg.RunID == runID && msg.Status == smsflow.MessageQueued {
			msg.Status, msg.UpdatedAt = smsflow.MessageCanceled, now
			n++
		}
	}
	return n, nil
}

func (m *memRows) CancelContactQueued(contactID, code string, now time.Time) ([]store.CanceledMessage, error) {
	var out []store.CanceledMessage
	for _, msg := range m.messages {
		if msg.ContactID == contactID && msg.RunID != 0 && msg.Status == smsflow.MessageQueued {
			msg.Status, msg.ErrorCode, msg.UpdatedAt = smsflow.MessageCanceled, code, now
			out = append(out, store.CanceledMessage{ID: msg.ID, RunID: msg.RunID, StepID: msg.StepID, FlowID: msg.FlowID})
		}
	}
	return out, nil
}

// InsertMessages stores messages; one for a (run, step) that has one is
// not stored (never twice).
func (m *memRows) InsertMessages(ms []*smsflow.Message) error {
	for _, msg := range ms {
		if msg.RunID != 0 && slices.ContainsFunc(m.messages, func(o *smsflow.Message) bool { return o.RunID == msg.RunID && o.StepID == msg.StepID }) {
			continue
		}
		c := *msg
		c.ID = int64(len(m.messages) + 1)
		m.messages = append(m.messages, &c)
	}
	return nil
}

func (m *memRows) StepMessageStatus(runID int64, stepID string) (string, error) {
	for _, msg := range m.messages {
		if msg.RunID == runID && msg.StepID == stepID {
			return msg.Status, nil
		}
	}
	return "", nil
}

func (m *memRows) RunReplied(contactID string, since time.Time) (bool, error) {
	return slices.ContainsFunc(m.messages, func(msg *smsflow.Message) bool {
		return msg.ContactID == contactID && msg.Direction == "in" && !msg.CreatedAt.Before(since)
	}), nil
}

func (m *memRows) ConsumeReplies(rs []store.ConsumedReply) error {
	for _, r := range rs {
		if m.consumed == nil {
			m.consumed = map[int64]string{}
		}
		if _, ok := m.consumed[r.MessageID]; !ok {
			m.consumed[r.MessageID] = r.By
		}
	}
	return nil
}

// --- decisions -------------------------------------------------------------

func (m *memRows) InsertDecisions(ds []*smsflow.Decision) error {
	for _, d := range ds {
		c := *d
		m.decisions = append(m.decisions, &c)
	}
	return nil
}

// --- events ----------------------------------------------------------------

func (m *memRows) TrustedEventWithKey(key string) (bool, error) {
	return slices.ContainsFunc(m.events, func(e *smsflow.Event) bool { return e.DedupeKey == key }), nil
}

func (m *memRows) CountEventsSince(contactID, name string, since, until time.Time) (int, error) {
	n := 0
	for _, e := range m.events {
		if e.ContactID == contactID && e.Name == name && !e.Timestamp.Before(since) && !e.Timestamp.After(until) {
			n++
		}
	}
	return n, nil
}

func (m *memRows) LastEventTime(contactID, name string, until time.Time) (time.Time, bool, error) {
	var last time.Time
	found := false
	for _, e := range m.events {
		if e.ContactID == contactID && e.Name == name && !e.Timestamp.After(until) && (!found || e.Timestamp.After(last)) {
			last, found = e.Timestamp, true
		}
	}
	return last, found, nil
}

// --- links -------------------------------------------------------------------

func (m *memRows) InsertLink(l *store.Link) (bool, error) {
	if slices.ContainsFunc(m.links, func(o *store.Link) bool { return o.Code == l.Code }) {
		return false, nil
	}
	c := *l
	m.links = append(m.links, &c)
	return true, nil
}

func (m *memRows) StepClicked(runID int64, stepID string) (bool, error) {
	return slices.Contains(m.clicks, memClick{runID, stepID}), nil
}

// --- date skips and inactivity timers --------------------------------------

func (m *memRows) SetDateSkip(flowID, contactID, note string) error {
	if note == "" {
		delete(m.dateSkips, [2]string{flowID, contactID})
	} else {
		m.dateSkips[[2]string{flowID, contactID}] = note
	}
	return nil
}

// SetInactivityTimer arms a deadline, or pushes it back (never forward).
func (m *memRows) SetInactivityTimer(flowID, contactID string, due time.Time, eventSeq int64) error {
	key := [2]string{flowID, contactID}
	if cur, ok := m.inactivity[key]; !ok || due.After(cur.due) {
		m.inactivity[key] = memInactivity{due: due, seq: eventSeq}
	}
	return nil
}

// --- what the loops claim, for the harness ------------------------------------

// dueRuns are the waiting runs whose timers are due at now, earliest first
// (store's DueRuns).
func (m *memRows) dueRuns(now time.Time) []store.DueRun {
	var runs []*smsflow.Run
	for _, r := range m.runs {
		if !r.WakeAt.IsZero() && !r.WakeAt.After(now) {
			runs = append(runs, r)
		}
	}
	slices.SortFunc(runs, func(a, b *smsflow.Run) int {
		if n := a.WakeAt.Compare(b.WakeAt); n != 0 {
			return n
		}
		return int(a.ID - b.ID)
	})
	out := make([]store.DueRun, len(runs))
	for i, r := range runs {
		out[i] = store.DueRun{RunID: r.ID, ContactID: r.ContactID}
	}
	return out
}

// takeDueInactivity removes and returns the inactivity deadlines due at
// now, earliest first, then by contact (store's DueInactivity and
// TakeInactivity).
func (m *memRows) takeDueInactivity(now time.Time) []store.InactivityTimer {
	var out []store.InactivityTimer
	for key, it := range m.inactivity {
		if !it.due.After(now) {
			out = append(out, store.InactivityTimer{FlowID: key[0], ContactID: key[1], DueAt: it.due, EventSeq: it.seq})
			delete(m.inactivity, key)
		}
	}
	slices.SortFunc(out, func(a, b store.InactivityTimer) int {
		if n := a.DueAt.Compare(b.DueAt); n != 0 {
			return n
		}
		return strings.Compare(a.ContactID, b.ContactID)
	})
	return out
}

// eventBySeq is a stored event by sequence number.
func (m *memRows) eventBySeq(seq int64) (*smsflow.Event, error) {
	for _, e := range m.events {
		if e.Seq == seq {
			return e, nil
		}
	}
	return nil, smsflow.Errorf(smsflow.ENOTFOUND, "no event %d", seq)
}

// nextWake is the earliest run timer or inactivity deadline (store's
// NextWake, without the audience scans), zero if none.
func (m *memRows) nextWake() time.Time {
	var next time.Time
	earlier := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, r := range m.runs {
		earlier(r.WakeAt)
	}
	for _, it := range m.inactivity {
		earlier(it.due)
	}
	return next
}
