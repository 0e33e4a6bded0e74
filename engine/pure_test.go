package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/store"
)

// pureWorld runs the engine's interpreter without a database, as policy's
// tests run policy.Decide: flows compiled from YAML into a catalog, a
// contact's state in memRows, and events and due timers fed through the
// same batch and interpreter code the engine's loops run (handleEvent,
// resumeDue, batch.write). Tests assert the effects — decisions with their
// reasons, queued messages with their bodies, runs with their wake times —
// and the traces. Nothing sends: a queued message stays queued (and counts
// toward caps, as in the database). What needs a database (claims across
// nodes, crashes, the sender, the flow directory) stays in the
// database-backed tests.
type pureWorld struct {
	t      *testing.T
	rows   *memRows
	flows  *memFlows
	eng    *Engine
	clock  *pureClock
	traces []Trace
	seq    int64
}

type pureClock struct{ t time.Time }

func (c *pureClock) Now() time.Time { return c.t }

// memFlows answers the catalog's reads of flow heads and versions from
// memory. The embedded Store is nil: the pure tests use nothing else of
// it, and a call to anything else panics, saying so.
type memFlows struct {
	Store
	heads   map[string]store.FlowHead
	sources map[store.FlowVersion]string
}

func (f *memFlows) FlowHeads(context.Context) ([]store.FlowHead, error) {
	out := make([]store.FlowHead, 0, len(f.heads))
	for _, h := range f.heads {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (f *memFlows) FlowVersions(context.Context) ([]store.FlowVersion, error) {
	out := make([]store.FlowVersion, 0, len(f.sources))
	for v := range f.sources {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ID != out[j].ID {
			return out[i].ID < out[j].ID
		}
		return out[i].Version < out[j].Version
	})
	return out, nil
}

func (f *memFlows) FlowSource(_ context.Context, id string, version int) (string, string, error) {
	src, ok := f.sources[store.FlowVersion{ID: id, Version: version}]
	if !ok {
		return "", "", smsflow.Errorf(smsflow.ENOTFOUND, "no flow %s version %d", id, version)
	}
	return src, id + ".yaml", nil
}

// pureStart is Monday 2026-03-02 10:00 PST, when the database-backed
// worlds start too.
var pureStart = time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC)

// newPureWorld returns a world with a policy and active flows (each
// validated as the API validates a flow), its clock at pureStart.
func newPureWorld(t *testing.T, p policy.Policy, flows ...string) *pureWorld {
	t.Helper()
	if err := p.Validate(); err != nil {
		t.Fatalf("test policy: %v", err)
	}
	return newPureWorldWith(t, Config{Policy: &p}, flows...)
}

// newPureWorldWith is newPureWorld with engine settings; brand, public URL
// and provider are filled in when empty, as the database-backed worlds do.
func newPureWorldWith(t *testing.T, cfg Config, flows ...string) *pureWorld {
	t.Helper()
	w := &pureWorld{t: t, rows: newMemRows(), clock: &pureClock{t: pureStart},
		flows: &memFlows{heads: map[string]store.FlowHead{}, sources: map[store.FlowVersion]string{}}}
	cat := NewCatalog(w.flows)
	for _, src := range flows {
		w.addFlow(cat, src)
	}
	if err := cat.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if cfg.Brand == nil {
		cfg.Brand = map[string]any{"name": "Glow"}
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "https://sms.glow.example"
	}
	if cfg.Provider == "" {
		cfg.Provider = "console"
	}
	w.eng = New(w.flows, cat, w.clock, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	return w
}

// addFlow stores a flow's next version, active.
func (w *pureWorld) addFlow(cat *Catalog, src string) {
	w.t.Helper()
	id := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(src, "\n", 2)[0], "id:"))
	f, problems := flow.Parse(id+".yaml", []byte(src), cat.options())
	if f == nil || flow.HasErrors(problems) {
		w.t.Fatalf("flow %s: %v", id, problems)
	}
	h := w.flows.heads[id]
	h.ID, h.Version, h.Origin, h.Status, h.Hash, h.Source, h.File, h.UpdatedAt = id, h.Version+1, OriginAPI, FlowActive, f.Hash, src, id+".yaml", w.clock.Now()
	w.flows.heads[id] = h
	w.flows.sources[store.FlowVersion{ID: id, Version: h.Version}] = src
}

// setFlowStatus changes a flow's stored status and reloads the catalog.
func (w *pureWorld) setFlowStatus(id, status string) {
	w.t.Helper()
	h := w.flows.heads[id]
	h.Status = status
	w.flows.heads[id] = h
	if err := w.eng.cat.Load(context.Background()); err != nil {
		w.t.Fatal(err)
	}
}

// contact adds a contact with a US phone number and subscribes it.
func (w *pureWorld) contact(id, ph string) *smsflow.Contact {
	w.t.Helper()
	c := w.identify(id, ph)
	w.subscribe(id)
	return c
}

// identify adds a contact with a US phone number given by a trusted
// source (verified), its zones those of the number, first name Ana, as an
// identify from the server key makes it.
func (w *pureWorld) identify(id, ph string) *smsflow.Contact {
	w.t.Helper()
	n, err := phone.Parse(ph, "US")
	if err != nil {
		w.t.Fatal(err)
	}
	now := w.clock.Now()
	c := &smsflow.Contact{ID: id, Phone: n.E164, PhoneType: n.Type, Timezones: slices.Clone(n.Timezones), Traits: map[string]any{"first_name": "Ana"},
		PhoneVerified: true, CreatedAt: now, UpdatedAt: now}
	if len(c.Timezones) > 0 {
		c.Timezone, c.TimezoneSource = c.Timezones[0], "number"
	}
	w.rows.contacts[id] = c
	return c
}

// subscribe records the contact's number as subscribed.
func (w *pureWorld) subscribe(id string) { w.consent(id, smsflow.ConsentSubscribed, "web_form") }

// consent appends an entry to the number's consent ledger and, when the
// number's status changed, applies the consent event that makes (as
// store.ConsentEvent does).
func (w *pureWorld) consent(id string, status smsflow.ConsentStatus, source string) {
	w.t.Helper()
	c := w.rows.contacts[id]
	before, _ := w.rows.ContactConsent(c.Phone)
	now := w.clock.Now()
	w.rows.ledger = append(w.rows.ledger, memConsent{phone: c.Phone, status: status, at: now})
	if status == before {
		return
	}
	name := smsflow.EventSubscribed
	if status == smsflow.ConsentUnsubscribed {
		name = smsflow.EventUnsubscribed
	}
	w.event(&smsflow.Event{Type: smsflow.EventConsent, Name: name, ContactID: id,
		Properties: map[string]any{"source": source, "previous": string(before)}, Timestamp: now, ReceivedAt: now})
}

// batch runs fn on one batch over the rows and writes its effects, as
// commitWork does in a transaction.
func (w *pureWorld) batch(fn func(b *batch) error) {
	w.t.Helper()
	b := newBatch(w.rows)
	if err := fn(b); err != nil {
		w.t.Fatal(err)
	}
	if err := b.write(); err != nil {
		w.t.Fatal(err)
	}
	w.traces = append(w.traces, b.traces...)
}

// event stores an event in the contact's history and applies it, as the
// engine's inbox batch does; then timers due now fire.
func (w *pureWorld) event(ev *smsflow.Event) {
	w.t.Helper()
	w.seq++
	ev.Seq = w.seq
	if ev.MessageID == "" {
		ev.MessageID = fmt.Sprintf("e%d", ev.Seq)
	}
	w.rows.events = append(w.rows.events, ev)
	w.batch(func(b *batch) error {
		if err := b.loadContacts([]string{ev.ContactID}, w.eng.load(true)); err != nil {
			return err
		}
		cc, err := w.eng.newContactCtx(b, ev.ContactID)
		if err != nil || cc.contact == nil {
			return err
		}
		return cc.handleEvent(ev)
	})
	w.settle()
}

// track applies a tracked event of the contact, now.
func (w *pureWorld) track(contact, name string, props map[string]any) {
	w.t.Helper()
	now := w.clock.Now()
	w.event(&smsflow.Event{Type: smsflow.EventTrack, Name: name, ContactID: contact, Properties: props, Timestamp: now, ReceivedAt: now})
}

// settle fires the timers and inactivity deadlines due now, as the
// engine's batches do, until none is.
func (w *pureWorld) settle() {
	w.t.Helper()
	for range 100 {
		due := w.rows.dueRuns(w.clock.Now())
		if len(due) > 0 {
			w.batch(func(b *batch) error {
				_, err := w.eng.resumeDue(b, due, w.clock.Now())
				return err
			})
		}
		inactive := w.rows.takeDueInactivity(w.clock.Now())
		for _, it := range inactive {
			w.batch(func(b *batch) error {
				return w.eng.enterInactive(context.Background(), b, it, w.rows.eventBySeq)
			})
		}
		if len(due) == 0 && len(inactive) == 0 {
			return
		}
	}
	w.t.Fatal("timers did not settle")
}

// advance moves the clock forward by d, stopping at every due timer on the
// way and firing it there.
func (w *pureWorld) advance(d time.Duration) {
	w.t.Helper()
	end := w.clock.Now().Add(d)
	for {
		next := w.rows.nextWake()
		if next.IsZero() || next.After(end) {
			break
		}
		if next.After(w.clock.Now()) {
			w.clock.t = next
		}
		w.settle()
	}
	w.clock.t = end
	w.settle()
}

// atPacific moves the clock to a Pacific wall-clock time (ahead of it).
func (w *pureWorld) atPacific(s string) {
	w.t.Helper()
	target := pacificTime(w.t, s)
	if target.Before(w.clock.Now()) {
		w.t.Fatalf("atPacific(%s): the clock is already at %v", s, w.clock.Now())
	}
	w.advance(target.Sub(w.clock.Now()))
}

func pacificTime(t *testing.T, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// decisionsOf are the contact's decisions of one flow ("": all), in the
// order they were made.
func (w *pureWorld) decisionsOf(contact, flowID string) []smsflow.Decision {
	var out []smsflow.Decision
	for _, d := range w.rows.decisions {
		if d.ContactID == contact && (flowID == "" || d.FlowID == flowID) {
			out = append(out, *d)
		}
	}
	return out
}

func (w *pureWorld) reasonsOf(contact, flowID string) []string {
	var out []string
	for _, d := range w.decisionsOf(contact, flowID) {
		out = append(out, d.Reason)
	}
	return out
}

func (w *pureWorld) expectReasons(contact, flowID string, want ...string) {
	w.t.Helper()
	if got := w.reasonsOf(contact, flowID); !slices.Equal(got, want) {
		w.t.Errorf("decisions of %s/%s:\n got %q\nwant %q", contact, flowID, got, want)
	}
}

// outMessages are the contact's outbound messages of one flow ("": all
// flows), oldest first.
func (w *pureWorld) outMessages(contact, flowID string) []*smsflow.Message {
	var out []*smsflow.Message
	for _, m := range w.rows.messages {
		if m.ContactID == contact && m.Direction == "out" && (flowID == "" || m.FlowID == flowID) {
			out = append(out, m)
		}
	}
	return out
}

// queued are the contact's flow messages waiting for the sender: what it
// would send.
func (w *pureWorld) queued(contact string) []*smsflow.Message {
	var out []*smsflow.Message
	for _, m := range w.outMessages(contact, "") {
		if m.RunID != 0 && m.Status == smsflow.MessageQueued {
			out = append(out, m)
		}
	}
	return out
}

// onlyRun is the contact's only run of a flow.
func (w *pureWorld) onlyRun(contact, flowID string) *smsflow.Run {
	w.t.Helper()
	var out []*smsflow.Run
	for _, r := range w.rows.runs {
		if r.ContactID == contact && r.FlowID == flowID {
			out = append(out, r)
		}
	}
	if len(out) != 1 {
		w.t.Fatalf("%d runs of %s for %s, want 1", len(out), flowID, contact)
	}
	return out[0]
}

// TestPureWorldRunsTheInterpreter is the harness's own check: an event
// enters a flow whose send queues a rendered message with a sent decision
// and completes the run, and a wait's timer resumes it later.
func TestPureWorldRunsTheInterpreter(t *testing.T) {
	w := newPureWorld(t, policy.Default(), `id: hello
category: service
trigger:
  event: Signed Up
steps:
  - id: wait
    wait: 1h
  - id: hi
    send: "Glow says hi {{ contact.traits.first_name }}"
`)
	w.contact("ana", "+14155550100")
	w.track("ana", "Signed Up", nil)
	r := w.onlyRun("ana", "hello")
	if r.Status != smsflow.RunWaiting || !r.WakeAt.Equal(pureStart.Add(time.Hour)) {
		t.Fatalf("run %s wake %v, want waiting an hour", r.Status, r.WakeAt)
	}
	w.advance(time.Hour)
	if q := w.queued("ana"); len(q) != 1 || q[0].Body != "Glow says hi Ana" || !q[0].CreatedAt.Equal(pureStart.Add(time.Hour)) {
		t.Fatalf("queued %+v", q)
	}
	w.expectReasons("ana", "hello", smsflow.DecisionSent)
	if r := w.onlyRun("ana", "hello"); r.Status != smsflow.RunCompleted {
		t.Errorf("run %s, want completed", r.Status)
	}
	var kinds []string
	for _, tr := range w.traces {
		kinds = append(kinds, tr.Kind)
	}
	if !slices.Contains(kinds, "enter") || !slices.Contains(kinds, "send") {
		t.Errorf("traces %q, want an enter and a send", kinds)
	}
}
