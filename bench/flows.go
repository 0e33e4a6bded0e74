package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/store"
)

// `bench flows` drives real HTTP into a running app and times each run from
// the trigger's request to the provider call.

// benchFlowSource is the one flow `bench flows` runs: a service flow (no
// consent needed) with one send whose body carries the trigger's phase and
// send time, so the provider side can time each run. No entry rule: a contact
// re-enters as soon as its previous run ended, which a one-step run does in
// the transaction that started it.
const benchFlowSource = `id: bench
name: Bench
category: service
trigger:
  event: Bench Event
steps:
  - id: notify
    send: "bench {{ event.properties.phase }} {{ event.properties.t0 }}"
`

// benchWorkers is the engine loops a benchmark runs: --engines, else
// serve's default for the database (config engine_workers).
func benchWorkers(dsn string, engines int) (int, error) {
	c := config.Default()
	if dsn != "" {
		c.DB = dsn
	}
	c.EngineWorkers = engines
	return c.Workers()
}

// FlowsOptions configures one `bench flows`.
type FlowsOptions struct {
	DSN      string        // "" means a fresh SQLite file
	Duration time.Duration // per mode
	Rate     int           // events/s of the latency mode
	Contacts int           // contacts the events are spread over (round robin)
	Clients  int           // concurrent /v1/batch clients of the throughput mode
	Batch    int           // events per /v1/batch call
	Backlog  int           // throughput mode: at most this many events accepted but not yet at the provider
	Mode     string        // throughput, latency or both
	// Engines is how many engine loops run (config engine_workers; 0:
	// serve's default, 2 on PostgreSQL and 1 on SQLite). They share the
	// work as more nodes would: on PostgreSQL through SKIP LOCKED; on SQLite
	// they queue for the one writer.
	Engines  int
	Progress io.Writer // progress lines
	Log      io.Writer // the app's warnings
}

// FlowsResult is one measured mode of `bench flows`.
type FlowsResult struct {
	Mode     string
	Events   int64         // accepted by the API while driving
	Messages int64         // of those, reached the provider (after the drain)
	Errors   int64         // failed requests or refused items
	Elapsed  time.Duration // driving time
	// PerSecond is runs completed end to end per second while driving:
	// messages that reached the provider during the drive / its length.
	PerSecond     float64
	P50, P99, Max time.Duration // trigger request to provider call
	HTTPP99       time.Duration // the ingestion request alone
	Drain         time.Duration // after driving stopped, until the last message reached the provider
}

// phaseStats counts the bench flow's messages of one phase at the provider.
type phaseStats struct {
	count atomic.Int64
	lat   latencies
}

// providerTap is the app's log handler: it takes the console provider's
// "SMS body" record (DEBUG, whatever the log level; one per provider call,
// stamped when the call happens) and times the message from the send time
// in its body; every other record goes to
// next. Going through the log keeps serve's wiring untouched: the app
// builds its own console provider.
type providerTap struct {
	next   slog.Handler
	phases map[string]*phaseStats // fixed before the app starts
	other  *atomic.Int64
}

func (h *providerTap) Enabled(ctx context.Context, l slog.Level) bool {
	return l == slog.LevelInfo || l == slog.LevelDebug || h.next.Enabled(ctx, l)
}

func (h *providerTap) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "SMS" { // the body comes in the DEBUG record that follows
		return nil
	}
	if r.Message == "SMS body" {
		var body string
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "body" {
				body = a.Value.String()
				return false
			}
			return true
		})
		if f := strings.Fields(body); len(f) == 3 && f[0] == "bench" && h.phases[f[1]] != nil {
			st := h.phases[f[1]]
			if t0, err := strconv.ParseInt(f[2], 10, 64); err == nil {
				st.lat.add(r.Time.Sub(time.Unix(0, t0)))
			}
			st.count.Add(1)
		} else {
			h.other.Add(1)
		}
		return nil
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *providerTap) WithAttrs(as []slog.Attr) slog.Handler {
	return &providerTap{next: h.next.WithAttrs(as), phases: h.phases, other: h.other}
}

func (h *providerTap) WithGroup(name string) slog.Handler {
	return &providerTap{next: h.next.WithGroup(name), phases: h.phases, other: h.other}
}

// Flows is `smsflow bench flows`.
func Flows(ctx context.Context, h Harness, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench flows", flag.ContinueOnError)
	var o FlowsOptions
	fs.DurationVar(&o.Duration, "duration", 30*time.Second, "how long each mode drives events")
	fs.IntVar(&o.Rate, "rate", 500, "events per second of the latency mode")
	fs.IntVar(&o.Contacts, "contacts", 10000, "contacts the events go to, round robin")
	fs.IntVar(&o.Clients, "clients", 8, "concurrent /v1/batch clients of the throughput mode")
	fs.IntVar(&o.Batch, "batch", 100, "events per /v1/batch call in the throughput mode")
	fs.IntVar(&o.Backlog, "backlog", 5000, "throughput mode: most events accepted but not yet at the provider")
	fs.StringVar(&o.Mode, "mode", "both", "throughput, latency or both")
	cpu := fs.String("cpuprofile", "", "write a CPU profile of the whole benchmark to this `FILE`")
	if err := parseEngineFlags(h, fs, args, stderr, &o.DSN, &o.Engines); err != nil {
		return err
	}
	o.Progress, o.Log = stderr, stderr
	stop, err := startCPUProfile(*cpu)
	if err != nil {
		return err
	}
	results, err := RunFlows(ctx, h, o)
	stop()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "database\tengines\tmode\tevents\tmessages\truns/s\tp50 ms\tp99 ms\tmax ms\thttp p99 ms\tdrain s\terrors\t\n")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%.0f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t\n", store.Scheme(o.DSN), o.Engines, r.Mode, r.Events, r.Messages, r.PerSecond,
			ms(r.P50), ms(r.P99), ms(r.Max), ms(r.HTTPP99), r.Drain.Seconds(), r.Errors)
	}
	return tw.Flush()
}

// RunFlows starts the app on a fresh database with the bench flow, creates
// the contacts and measures the requested modes.
func RunFlows(ctx context.Context, h Harness, o FlowsOptions) ([]FlowsResult, error) {
	if o.Duration <= 0 || o.Rate < 1 || o.Contacts < 1 || o.Clients < 1 || o.Batch < 1 || o.Batch > 1000 || o.Backlog < o.Batch {
		return nil, fmt.Errorf("--duration, --rate, --contacts and --clients must be positive, --batch 1..1000, --backlog at least --batch")
	}
	if o.Mode != "throughput" && o.Mode != "latency" && o.Mode != "both" {
		return nil, fmt.Errorf("--mode must be throughput, latency or both, not %q", o.Mode)
	}
	dsn, cleanup, err := freshDatabase(ctx, o.DSN, false)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	dir, err := flowDir("smsflow-bench-flows-", "bench.yaml", benchFlowSource)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cfg := config.Default()
	cfg.DB, cfg.Addr, cfg.LogLevel, cfg.Flows, cfg.EngineWorkers = dsn, "127.0.0.1:0", "warn", dir, o.Engines
	// Runs re-enter as fast as events come, far past a real number's day of
	// service texts, at more events per second than a production limit
	// lets through: the benchmark measures the engine, with the limits off.
	cfg.Limits = config.Limits{}
	tap := &providerTap{next: h.logger(o.Log, cfg).Handler(),
		phases: map[string]*phaseStats{"t": {}, "l": {}}, other: new(atomic.Int64)}
	a, err := h.Start(ctx, cfg, slog.New(tap), AppOptions{})
	if err != nil {
		return nil, err
	}
	defer a.Stop()
	if act := a.ActiveFlows(); len(act) != 1 || act[0] != "bench" {
		return nil, fmt.Errorf("the database already holds other active flows: bench flows needs an empty database")
	}
	conns := max(o.Clients, 1) * 2
	if o.Mode != "throughput" {
		conns = max(conns, 512)
	}
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns}
	defer tr.CloseIdleConnections()
	b := &flowsRun{o: o, a: a, tap: tap, hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
	rb := make([]byte, 4)
	rand.Read(rb)
	b.run = hex.EncodeToString(rb)
	fmt.Fprintf(o.Progress, "bench flows: %s on %s, %d contacts, %d engine loop(s), %s per mode\n", store.Scheme(dsn), a.URL(), o.Contacts, o.Engines, o.Duration)
	if err := b.createContacts(ctx); err != nil {
		return nil, err
	}
	var out []FlowsResult
	if o.Mode != "latency" {
		r, err := b.throughput(ctx)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	if o.Mode != "throughput" {
		r, err := b.latency(ctx)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	if n := tap.other.Load(); n > 0 {
		return out, fmt.Errorf("%d messages reached the provider that the benchmark did not trigger", n)
	}
	return out, nil
}

// flowsRun is one `bench flows` against a running app.
type flowsRun struct {
	o   FlowsOptions
	a   App
	tap *providerTap
	hc  *http.Client
	run string       // makes messageIds unique across runs on one database
	seq atomic.Int64 // event sequence: contact = seq mod Contacts
}

func benchContactID(i int) string { return "bench-" + strconv.Itoa(i) }

// createContacts identifies every contact with a phone through /v1/batch and
// waits until the engine has taken every identify.
func (b *flowsRun) createContacts(ctx context.Context) error {
	const per = 500
	start := time.Now()
	var done atomic.Int64
	err := inParallel(b.o.Contacts, per, 4, 0, nil, func(from int) error {
		items := make([]map[string]any, 0, per)
		for i := from; i < min(from+per, b.o.Contacts); i++ {
			items = append(items, map[string]any{"type": "identify", "userId": benchContactID(i),
				"messageId": fmt.Sprintf("bench-id-%s-%d", b.run, i), "traits": map[string]any{"phone": benchPhone(i)}})
		}
		body, _ := json.Marshal(map[string]any{"batch": items})
		var resp struct{ Errors []json.RawMessage }
		if err := postJSON(ctx, b.hc, b.a.URL()+"/v1/batch", b.a.ServerKey(), body, &resp); err != nil {
			return err
		}
		if len(resp.Errors) > 0 {
			return fmt.Errorf("identify contacts: %s", resp.Errors[0])
		}
		if n := done.Add(int64(len(items))); n/per%20 == 0 || n == int64(b.o.Contacts) {
			fmt.Fprintf(b.o.Progress, "  contacts: %d/%d\n", n, b.o.Contacts)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := b.waitInboxEmpty(ctx, 5*time.Minute); err != nil {
		return err
	}
	fmt.Fprintf(b.o.Progress, "  contacts ready in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// waitInboxEmpty waits until the engine has no stored event left to apply.
func (b *flowsRun) waitInboxEmpty(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		n, err := b.a.InboxDepth(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the engine's inbox still holds %d events after %s", n, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// event is one Bench Event for the next contact, stamped with its send time.
func (b *flowsRun) event(phase string) map[string]any {
	n := b.seq.Add(1)
	return map[string]any{"type": "track", "userId": benchContactID(int(n % int64(b.o.Contacts))), "event": "Bench Event",
		"messageId":  fmt.Sprintf("bench-%s-%d", b.run, n),
		"properties": map[string]any{"phase": phase, "t0": strconv.FormatInt(time.Now().UnixNano(), 10)}}
}

// drain waits until want messages of a phase reached the provider, or a
// minute without progress; it returns how long it waited.
func (b *flowsRun) drain(ctx context.Context, st *phaseStats, want int64) time.Duration {
	start := time.Now()
	last, lastChange := st.count.Load(), time.Now()
	for ctx.Err() == nil {
		n := st.count.Load()
		if n >= want {
			break
		}
		if n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) > time.Minute {
			fmt.Fprintf(b.o.Progress, "  drain: stuck at %d/%d messages\n", n, want)
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// throughput posts batches from several clients as fast as the engine takes
// them: a client pauses while more than Backlog accepted events have not
// reached the provider, so the figure is what the pipeline sustains, not how
// fast the inbox can grow.
func (b *flowsRun) throughput(ctx context.Context) (FlowsResult, error) {
	st := b.tap.phases["t"]
	var accepted, errs atomic.Int64
	var httpLat latencies
	dctx, cancel := context.WithTimeout(ctx, b.o.Duration)
	defer cancel()
	url := b.a.URL() + "/v1/batch"
	start := time.Now()
	var wg sync.WaitGroup
	for range b.o.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for dctx.Err() == nil {
				if accepted.Load()-st.count.Load() > int64(b.o.Backlog-b.o.Batch) {
					time.Sleep(time.Millisecond)
					continue
				}
				items := make([]map[string]any, b.o.Batch)
				for i := range items {
					items[i] = b.event("t")
				}
				body, _ := json.Marshal(map[string]any{"batch": items})
				var resp struct {
					Errors     []json.RawMessage
					MoreErrors int `json:"more_errors"`
				}
				t0 := time.Now()
				// The request runs to its end even when the drive is over, so
				// every event counted is one the app has.
				if err := postJSON(ctx, b.hc, url, b.a.ServerKey(), body, &resp); err != nil {
					errs.Add(int64(len(items)))
					continue
				}
				httpLat.add(time.Since(t0))
				refused := len(resp.Errors) + resp.MoreErrors
				errs.Add(int64(refused))
				accepted.Add(int64(len(items) - refused))
			}
		}()
	}
	b.progress(dctx, "throughput", start, &accepted, st)
	wg.Wait()
	elapsed := time.Since(start)
	during := st.count.Load()
	want := accepted.Load()
	drain := b.drain(ctx, st, want)
	return FlowsResult{Mode: "throughput", Events: want, Messages: st.count.Load(), Errors: errs.Load(), Elapsed: elapsed,
		PerSecond: float64(during) / elapsed.Seconds(), P50: st.lat.quantile(0.50), P99: st.lat.quantile(0.99), Max: st.lat.maximum(),
		HTTPP99: httpLat.quantile(0.99), Drain: drain}, nil
}

// latency sends single /v1/track calls at a fixed rate, open loop: each call
// starts on schedule in its own goroutine whatever the previous ones do, so
// a slow pipeline shows up as latency rather than as a lower rate.
func (b *flowsRun) latency(ctx context.Context) (FlowsResult, error) {
	st := b.tap.phases["l"]
	var accepted, errs atomic.Int64
	var httpLat latencies
	url := b.a.URL() + "/v1/track"
	total := int64(b.o.Duration.Seconds() * float64(b.o.Rate))
	sem := make(chan struct{}, 2048)
	start := time.Now()
	var wg sync.WaitGroup
	pctx, cancel := context.WithCancel(ctx)
	go b.progress(pctx, fmt.Sprintf("latency@%d/s", b.o.Rate), start, &accepted, st)
	for i := int64(0); i < total && ctx.Err() == nil; i++ {
		if d := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(b.o.Rate))); d > 0 {
			time.Sleep(d)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			body, _ := json.Marshal(b.event("l"))
			t0 := time.Now()
			if err := postJSON(ctx, b.hc, url, b.a.ServerKey(), body, nil); err != nil {
				errs.Add(1)
				return
			}
			httpLat.add(time.Since(t0))
			accepted.Add(1)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cancel()
	during := st.count.Load()
	want := accepted.Load()
	drain := b.drain(ctx, st, want)
	return FlowsResult{Mode: fmt.Sprintf("latency@%d/s", b.o.Rate), Events: want, Messages: st.count.Load(), Errors: errs.Load(), Elapsed: elapsed,
		PerSecond: float64(during) / elapsed.Seconds(), P50: st.lat.quantile(0.50), P99: st.lat.quantile(0.99), Max: st.lat.maximum(),
		HTTPP99: httpLat.quantile(0.99), Drain: drain}, nil
}

// progress prints a line every 5 s until ctx ends.
func (b *flowsRun) progress(ctx context.Context, mode string, start time.Time, accepted *atomic.Int64, st *phaseStats) {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			depth, _ := b.a.InboxDepth(ctx)
			fmt.Fprintf(b.o.Progress, "  %s: %d events accepted, %d at the provider, inbox %d, %s\n",
				mode, accepted.Load(), st.count.Load(), depth, time.Since(start).Round(time.Second))
		}
	}
}

// postJSON posts a body with the write key and decodes the answer into out
// (when not nil).
func postJSON(ctx context.Context, hc *http.Client, url, key string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(key, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", url, resp.Status, bytes.TrimSpace(data))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}
