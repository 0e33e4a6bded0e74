package metrics

import (
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/provider/console"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

const pingFlow = `id: ping
category: service
trigger:
  event: Ping
steps:
  - id: hello
    send: "Hello from Glow"
  - wait: 10m
  - id: bye
    send: "Bye from Glow"
`

// TestPipeline wires the metrics as serve does — the writer's OnApplied,
// the engine's OnTrace (chained to a hook already set), the sender's
// provider — and checks every count after real ingestion, engine and
// sender work.
func TestPipeline(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		clock := testkit.NewClock(time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC))
		m := New(db, clock, log)

		cat := engine.NewCatalog(db)
		if _, problems, err := cat.Save(ctx, "ping", []byte(pingFlow), clock.Now()); err != nil || len(problems) > 0 {
			t.Fatalf("save flow: %v %v", err, problems)
		}
		if err := db.SetFlowStatus(ctx, "ping", engine.FlowActive, clock.Now()); err != nil {
			t.Fatal(err)
		}
		if err := cat.Load(ctx); err != nil {
			t.Fatal(err)
		}
		eng := engine.New(db, cat, clock, log, engine.Config{Brand: map[string]any{"name": "Glow"}, PublicURL: "https://sms.glow.example", Provider: "console"})
		var traces []engine.Trace
		eng.OnTrace = func(tr engine.Trace) { traces = append(traces, tr) }
		eng.OnTrace = m.OnTrace(eng.OnTrace)
		sender := delivery.NewSender(db, Provider(console.New(log), m), clock, log)
		writer := ingest.NewWriter(db, clock, log)
		writer.OnApplied = m.OnApplied
		writer.Start()
		t.Cleanup(writer.Stop)

		ana, err := phone.Parse("+1 415 555 0100", "US")
		if err != nil {
			t.Fatal(err)
		}
		now := clock.Now()
		item := func(typ, id, user, name string, ph *phone.Number) *ingest.Item {
			return &ingest.Item{Type: typ, MessageID: id, UserID: user, Name: name, Phone: ph, Timestamp: now, ReceivedAt: now}
		}
		submit := func(items ...*ingest.Item) []ingest.Result {
			t.Helper()
			res, err := writer.Submit(ctx, items)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		res := submit(
			item(smsflow.EventIdentify, "i1", "ana", "", &ana),
			item(smsflow.EventIdentify, "i2", "bo", "", nil),   // no phone: the send is skipped
			item(smsflow.EventIdentify, "i3", "cy", "", &ana),  // ana's number: refused
			item(smsflow.EventTrack, "t1", "ana", "Ping", nil), // enters ping
			item(smsflow.EventTrack, "t2", "bo", "Ping", nil),  // enters ping
		)
		if res[2].Err == nil {
			t.Fatal("a second contact with ana's number was accepted")
		}
		submit(item(smsflow.EventTrack, "t1", "ana", "Ping", nil)) // a duplicate
		settle := func() {
			t.Helper()
			testkit.Settle(t, 100, eng.RunOnce)
		}
		settle()

		fams := scrape(t, m.Handler())
		wantIngested := map[string]float64{"type=identify": 2, "type=track": 2, "type=page": 0, "type=screen": 0, "type=alias": 0, "type=group": 0}
		if got := series(fams, EventsIngested); !reflect.DeepEqual(got, wantIngested) {
			t.Errorf("%s = %v, want %v", EventsIngested, got, wantIngested)
		}
		wantDropped := map[string]float64{"reason=refused,type=identify": 1, "reason=duplicate,type=track": 1}
		if got := series(fams, EventsDropped); !reflect.DeepEqual(got, wantDropped) {
			t.Errorf("%s = %v, want %v", EventsDropped, got, wantDropped)
		}
		decisions := series(fams, Decisions)
		if decisions["decision=sent"] != 1 || decisions["decision=skipped:invalid_number"] != 1 {
			t.Errorf("%s = %v, want sent 1 and skipped:invalid_number 1", Decisions, decisions)
		}
		var total float64
		for _, v := range decisions {
			total += v
		}
		if total != 2 {
			t.Errorf("%s sum to %v, want 2 (enter and wait traces are no decisions)", Decisions, total)
		}
		if len(traces) == 0 {
			t.Error("the hook set before the metrics' OnTrace saw no traces")
		}
		if got := value(t, fams, Runs, "state=waiting"); got != 2 {
			t.Errorf("waiting runs %v, want 2", got)
		}
		if got := value(t, fams, OutboxMessages, ""); got != 1 {
			t.Errorf("outbox %v, want 1 (ana's hello)", got)
		}

		// The sender sends ana's hello through the instrumented console; ten
		// minutes and 90 s later the runs' timers are 90 s behind (the engine
		// has not run).
		if n, err := sender.SendOnce(ctx, 100); err != nil || n != 1 {
			t.Fatalf("SendOnce = %d, %v; want 1 message", n, err)
		}
		clock.Add(10*time.Minute + 90*time.Second)
		fams = scrape(t, m.Handler())
		if got := value(t, fams, ProviderSends, "provider=console,result=delivered"); got != 1 {
			t.Errorf("%s{console,delivered} = %v, want 1", ProviderSends, got)
		}
		if h := histogram(t, fams, ProviderCallDuration, "provider=console"); h.GetSampleCount() != 1 {
			t.Errorf("%s count = %d, want 1", ProviderCallDuration, h.GetSampleCount())
		}
		if got := value(t, fams, Messages, "direction=out,provider=console,status=delivered"); got != 1 {
			t.Errorf("delivered messages %v, want 1", got)
		}
		if got := value(t, fams, OutboxMessages, ""); got != 0 {
			t.Errorf("outbox %v, want 0", got)
		}
		if got := value(t, fams, TimerLag, ""); got != 90 {
			t.Errorf("%s = %v, want 90", TimerLag, got)
		}
		settle()
		clock.Add(SnapshotTTL)
		fams = scrape(t, m.Handler())
		if got := value(t, fams, TimerLag, ""); got != 0 {
			t.Errorf("%s after the engine ran = %v, want 0", TimerLag, got)
		}
		if got := value(t, fams, Decisions, "decision=sent"); got != 2 {
			t.Errorf("sent decisions after the wait = %v, want 2 (hello and bye to ana)", got)
		}
	})
}
