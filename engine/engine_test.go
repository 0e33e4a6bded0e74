package engine_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/provider/console"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

var ctx = context.Background()

// virtualClock is a clock the test moves by hand.
type virtualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *virtualClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *virtualClock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *virtualClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// advanceTo moves the clock to t, never back.
func (c *virtualClock) advanceTo(t time.Time) {
	c.mu.Lock()
	if t.After(c.t) {
		c.t = t
	}
	c.mu.Unlock()
}

// world is one engine over a real database with the console provider.
type world struct {
	t      *testing.T
	db     *store.DB
	clock  *virtualClock
	eng    *engine.Engine
	sender *delivery.Sender
	cons   *console.Console
	writer *ingest.Writer
	traces []engine.Trace
	seq    int
}

func newWorld(t *testing.T, db *store.DB, flows ...string) *world {
	t.Helper()
	return newWorldWith(t, db, engine.Config{}, flows...)
}

// newWorldWith is newWorld with engine settings (policy, footer, …); brand,
// public URL and provider are filled in when empty.
func newWorldWith(t *testing.T, db *store.DB, cfg engine.Config, flows ...string) *world {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := &world{t: t, db: db, clock: &virtualClock{t: time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC)}} // 10:00 in California: inside quiet hours' allowed window
	cat := engine.NewCatalog(db)
	for _, src := range flows {
		id := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(src, "\n", 2)[0], "id:"))
		if _, problems, err := cat.Save(ctx, id, []byte(src), w.clock.Now()); err != nil {
			t.Fatalf("save flow %s: %v %v", id, err, problems)
		}
		if err := db.SetFlowStatus(ctx, id, engine.FlowActive, w.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := cat.Load(ctx); err != nil {
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
	w.eng = engine.New(db, cat, w.clock, log, cfg)
	w.eng.OnTrace = func(tr engine.Trace) { w.traces = append(w.traces, tr) }
	w.cons = console.New(log)
	w.sender = delivery.NewSender(db, w.cons, w.clock, log)
	w.writer = ingest.NewWriter(db, w.clock, log)
	w.writer.Start()
	t.Cleanup(w.writer.Stop)
	return w
}

// settle runs the engine and the sender until neither has work left.
func (w *world) settle() {
	w.t.Helper()
	for i := 0; i < 100; i++ {
		n, err := w.eng.RunOnce(ctx)
		if err != nil {
			w.t.Fatal(err)
		}
		m, err := w.sender.SendOnce(ctx, 100)
		if err != nil {
			w.t.Fatal(err)
		}
		if n+m == 0 {
			return
		}
	}
	w.t.Fatal("engine did not settle")
}

// advance moves the clock forward by d, stopping at every due timer on the
// way (as a real clock would pass it) and settling there.
func (w *world) advance(d time.Duration) {
	w.t.Helper()
	end := w.clock.Now().Add(d)
	for {
		next, err := w.db.NextWake(ctx)
		if err != nil {
			w.t.Fatal(err)
		}
		if next.IsZero() || next.After(end) {
			break
		}
		if next.After(w.clock.Now()) {
			w.clock.Set(next)
		}
		w.settle()
	}
	w.clock.Set(end)
	w.settle()
}

func (w *world) submit(items ...*ingest.Item) {
	w.t.Helper()
	res, err := w.writer.Submit(ctx, items)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			w.t.Fatal(r.Err)
		}
	}
	w.settle()
}

func (w *world) identify(user, ph string) {
	n, err := phone.Parse(ph, "US")
	if err != nil {
		w.t.Fatal(err)
	}
	w.seq++
	w.submit(&ingest.Item{Type: smsflow.EventIdentify, MessageID: "i" + itoa(w.seq), UserID: user, Phone: &n, Traits: map[string]any{"first_name": "Ana"},
		Timestamp: w.clock.Now(), ReceivedAt: w.clock.Now()})
}

func (w *world) subscribe(user string) {
	if _, err := ingest.RecordConsent(ctx, w.db, w.clock, user, ingest.ConsentChange{Status: "subscribed", Source: "web_form", Evidence: map[string]any{"url": "https://glow.example/join"}}, ingest.OptInOptions{}); err != nil {
		w.t.Fatal(err)
	}
	w.settle()
}

func (w *world) track(user, name string, props map[string]any) {
	w.seq++
	w.submit(&ingest.Item{Type: smsflow.EventTrack, MessageID: "t" + itoa(w.seq), UserID: user, Name: name, Properties: props,
		Timestamp: w.clock.Now(), ReceivedAt: w.clock.Now()})
}

func itoa(n int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(n)) }

func fmtInt(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

func (w *world) kinds(contact string) []string {
	return engine.TraceKinds(w.traces, contact)
}

func TestCartRecoverySendsAfterWaitAndExitsOnOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, engine.CartFlow)
		w.identify("ana", "+1 415 555 0100")
		w.subscribe("ana")
		w.track("ana", "Checkout Started", map[string]any{"value": 42.0, "checkout_url": "https://glow.example/c/1"})
		if got := w.cons.Sent(); got != 0 {
			t.Fatalf("sent %d before the 60m wait", got)
		}
		w.advance(59 * time.Minute)
		if got := w.cons.Sent(); got != 0 {
			t.Fatalf("sent %d at 59 minutes", got)
		}
		w.advance(2 * time.Minute)
		msgs := w.cons.Recent()
		if len(msgs) != 1 || !strings.HasPrefix(msgs[0].Body, "Glow: still thinking it over, Ana? https://sms.glow.example/l/") {
			t.Fatalf("after 60m: %+v", msgs)
		}
		if msgs[0].StepID != "reminder" || msgs[0].Segments != 1 || msgs[0].Encoding != "GSM-7" {
			t.Errorf("message %+v", msgs[0])
		}
		// The order arrives: the run exits, the goal is counted with its value,
		// the incentive never goes.
		w.advance(time.Hour)
		w.track("ana", "Order Completed", map[string]any{"order_id": "o-1", "revenue": 99.5})
		w.advance(48 * time.Hour)
		if got := w.cons.Sent(); got != 1 {
			t.Errorf("sent %d messages, want 1 (exit on order)", got)
		}
		runs, _ := db.RunsByContact(ctx, "ana", false)
		if len(runs) != 1 || runs[0].Status != smsflow.RunExited || runs[0].ExitReason != "goal" || runs[0].GoalValue != 99.5 {
			t.Errorf("run %+v", runs[0])
		}
		// Delivery receipt simulated by the console.
		if s, _ := db.Messages(ctx, store.MessageFilter{ContactID: "ana"}); len(s) != 1 || s[0].Status != smsflow.MessageDelivered {
			t.Errorf("message status %+v", s)
		}
	})
}

func TestRestartResumesWaitingRuns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, engine.CartFlow)
		w.identify("ana", "+1 415 555 0100")
		w.subscribe("ana")
		w.track("ana", "Checkout Started", map[string]any{"value": 42.0, "checkout_url": "https://glow.example/c/1"})
		// A second engine over the same database (a restart) picks the timer up.
		w2 := newWorld(t, db)
		w2.clock.Set(w.clock.Now())
		w2.advance(61 * time.Minute)
		if got := w2.cons.Sent(); got != 1 {
			t.Errorf("after restart: %d sent, want 1", got)
		}
		// The first engine finds nothing left to send: the step went once.
		w.clock.Set(w2.clock.Now())
		w.settle()
		if got := w.cons.Sent(); got != 0 {
			t.Errorf("old engine sent %d", got)
		}
	})
}

func (w *world) submitTraits(user string, traits map[string]any) {
	w.submit(&ingest.Item{Type: smsflow.EventIdentify, MessageID: "tr" + itoa(w.seq), UserID: user, Traits: traits,
		Timestamp: w.clock.Now(), ReceivedAt: w.clock.Now()})
}

// The engine says it is behind on timers while a batch of due timers comes
// back full, and wakes the sender (which defers to it) once it has caught up.
func TestTimersBehindUntilCaughtUp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, engine.CartFlow)
		for i, name := range []string{"ana", "ben", "cy"} {
			w.identify(name, "+1 415 555 010"+itoa(i))
			w.subscribe(name)
			w.track(name, "Checkout Started", map[string]any{"value": 42.0, "checkout_url": "https://glow.example/c/1"})
		}
		engine.Connect(w.eng, w.sender)
		wakes := 0
		w.eng.OnQueued = func() { wakes++ }
		w.clock.Add(61 * time.Minute)
		if n, err := w.eng.ProcessDue(ctx, 2); err != nil || n != 2 {
			t.Fatalf("first batch: %d timers, %v; want 2", n, err)
		}
		if !w.eng.TimersBehind() || !w.sender.Defer() {
			t.Error("a full batch of due timers: the engine should say it is behind, and the sender defer")
		}
		wakesBehind := wakes
		if n, err := w.eng.ProcessDue(ctx, 2); err != nil || n != 1 {
			t.Fatalf("second batch: %d timers, %v; want 1", n, err)
		}
		if w.eng.TimersBehind() || w.sender.Defer() {
			t.Error("the last due timer fired: the engine is not behind")
		}
		if wakes != wakesBehind+2 { // queued messages, then caught up
			t.Errorf("sender woken %d times by the catching-up batch, want 2", wakes-wakesBehind)
		}
		w.settle()
		if got := w.cons.Sent(); got != 3 {
			t.Errorf("sent %d, want 3", got)
		}
	})
}
