package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/provider/console"
	"github.com/smsflow/smsflow/store"
)

// The engine benchmarks measure spec §7's engine targets on this machine:
// `bench flows` drives real HTTP into a running app and times each run from
// the trigger's request to the provider call; `bench timers` puts many runs
// to sleep straight in the database and times how late the engine wakes them.

// --- shared pieces -----------------------------------------------------------

// benchDSN returns the database a benchmark runs on and how to clean it up: a
// fresh SQLite file in a temporary directory when dsn is empty; for
// PostgreSQL, a fresh schema inside the given database, so a benchmark never
// sees another run's rows and leaves nothing behind — unless the URL sets
// search_path (then it is used as given). keep leaves the fresh file or
// schema in place (and says where). A given SQLite path is used as is.
func benchDSN(ctx context.Context, dsn string, keep bool) (string, func(), error) {
	if dsn == "" {
		dir, err := os.MkdirTemp("", "smsflow-bench-")
		if err != nil {
			return "", nil, err
		}
		path := filepath.Join(dir, "bench.db")
		if keep {
			return "sqlite:" + path, func() { fmt.Fprintf(os.Stderr, "bench: kept database %s\n", path) }, nil
		}
		return "sqlite:" + path, func() { os.RemoveAll(dir) }, nil
	}
	if store.Scheme(dsn) != "postgres" {
		return dsn, func() {}, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", nil, fmt.Errorf("database URL: %w", err)
	}
	q := u.Query()
	if q.Get("search_path") != "" {
		return dsn, func() {}, nil
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "bench_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", nil, fmt.Errorf("open %s: %w", redactDSN(dsn), err)
	}
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create schema %s in %s: %w", schema, redactDSN(dsn), err)
	}
	drop := func() {
		if keep {
			fmt.Fprintf(os.Stderr, "bench: kept schema %s\n", schema)
		} else if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			fmt.Fprintf(os.Stderr, "bench: drop schema %s: %v\n", schema, err)
		}
		admin.Close()
	}
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// startCPUProfile writes a CPU profile to path until the returned stop is
// called (safe to call twice); an empty path profiles nothing.
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return sync.OnceFunc(func() { pprof.StopCPUProfile(); f.Close() }), nil
}

// latencies is a histogram of durations, fine enough for percentiles
// (100 µs buckets up to 1 s, 10 ms up to 100 s, 1 s up to an hour) and
// small enough (≈ 100 KB) not to weigh on the memory a benchmark measures.
type latencies struct {
	mu     sync.Mutex
	counts [latBuckets]uint32
	n      int64
	max    time.Duration
}

const latBuckets = 10_000 + 9_900 + 3_500 + 1

func latBucket(d time.Duration) int {
	switch {
	case d < 0:
		return 0
	case d < time.Second:
		return int(d / (100 * time.Microsecond))
	case d < 100*time.Second:
		return 10_000 + int((d-time.Second)/(10*time.Millisecond))
	case d < time.Hour:
		return 19_900 + int((d-100*time.Second)/time.Second)
	}
	return latBuckets - 1
}

// latUpper is the upper bound of a bucket (what a percentile reports).
func latUpper(i int) time.Duration {
	switch {
	case i < 10_000:
		return time.Duration(i+1) * 100 * time.Microsecond
	case i < 19_900:
		return time.Second + time.Duration(i-10_000+1)*10*time.Millisecond
	case i < 23_400:
		return 100*time.Second + time.Duration(i-19_900+1)*time.Second
	}
	return time.Hour
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.counts[latBucket(d)]++
	l.n++
	l.max = max(l.max, d)
	l.mu.Unlock()
}

// quantile returns the q-quantile (upper bucket bound, capped at the max).
func (l *latencies) quantile(q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == 0 {
		return 0
	}
	rank := int64(q * float64(l.n))
	rank = min(max(rank, 1), l.n)
	var seen int64
	for i, c := range l.counts {
		seen += int64(c)
		if seen >= rank {
			return min(latUpper(i), l.max)
		}
	}
	return l.max
}

func (l *latencies) maximum() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.max
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// procStatus returns a field of /proc/self/status in bytes (VmRSS, VmHWM), or
// 0 where there is none (not Linux).
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(v)
			if len(f) == 0 {
				return 0
			}
			kb, _ := strconv.ParseInt(f[0], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// resetPeakRSS makes VmHWM start again from the current RSS (Linux ≥ 4.0),
// so the peak measures the engine, not the benchmark's own set-up.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// benchPhone is the i-th benchmark number: valid US numbers +1 415 2xx xxxx
// (libphonenumber classes them fixed_line_or_mobile, which may be texted).
func benchPhone(i int) string { return fmt.Sprintf("+1415%07d", 2_000_000+i) }

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

// --- bench flows ---------------------------------------------------------------

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

// flowsOptions configures one `bench flows`.
type flowsOptions struct {
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

// flowsResult is one measured mode of `bench flows`.
type flowsResult struct {
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
// next. Going through the log keeps serve.go's wiring untouched: startApp
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

func benchFlows(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench flows", flag.ContinueOnError)
	var o flowsOptions
	fs.StringVar(&o.DSN, "db", "", "database `DSN` (default: a fresh SQLite file; postgres:// runs in a fresh schema, dropped afterwards)")
	fs.DurationVar(&o.Duration, "duration", 30*time.Second, "how long each mode drives events")
	fs.IntVar(&o.Rate, "rate", 500, "events per second of the latency mode")
	fs.IntVar(&o.Contacts, "contacts", 10000, "contacts the events go to, round robin")
	fs.IntVar(&o.Clients, "clients", 8, "concurrent /v1/batch clients of the throughput mode")
	fs.IntVar(&o.Batch, "batch", 100, "events per /v1/batch call in the throughput mode")
	fs.IntVar(&o.Backlog, "backlog", 5000, "throughput mode: most events accepted but not yet at the provider")
	fs.StringVar(&o.Mode, "mode", "both", "throughput, latency or both")
	fs.IntVar(&o.Engines, "engines", 0, "engine loops, as config engine_workers (default: serve's, 2 on PostgreSQL and 1 on SQLite)")
	cpu := fs.String("cpuprofile", "", "write a CPU profile of the whole benchmark to this `FILE`")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	o.Progress, o.Log = stderr, stderr
	var err error
	if o.Engines, err = benchWorkers(o.DSN, o.Engines); err != nil {
		return err
	}
	stop, err := startCPUProfile(*cpu)
	if err != nil {
		return err
	}
	results, err := runFlowsBench(ctx, o)
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

// runFlowsBench starts the app on a fresh database with the bench flow,
// creates the contacts and measures the requested modes.
func runFlowsBench(ctx context.Context, o flowsOptions) ([]flowsResult, error) {
	if o.Duration <= 0 || o.Rate < 1 || o.Contacts < 1 || o.Clients < 1 || o.Batch < 1 || o.Batch > 1000 || o.Backlog < o.Batch {
		return nil, fmt.Errorf("--duration, --rate, --contacts and --clients must be positive, --batch 1..1000, --backlog at least --batch")
	}
	if o.Mode != "throughput" && o.Mode != "latency" && o.Mode != "both" {
		return nil, fmt.Errorf("--mode must be throughput, latency or both, not %q", o.Mode)
	}
	dsn, cleanup, err := benchDSN(ctx, o.DSN, false)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	dir, err := os.MkdirTemp("", "smsflow-bench-flows-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "bench.yaml"), []byte(benchFlowSource), 0o644); err != nil {
		return nil, err
	}
	cfg := config.Default()
	cfg.DB, cfg.Addr, cfg.LogLevel, cfg.Flows, cfg.EngineWorkers = dsn, "127.0.0.1:0", "warn", dir, o.Engines
	// Runs re-enter as fast as events come, far past a real number's day of
	// service texts, at more events per second than a production limit
	// lets through: the benchmark measures the engine, with the limits off.
	cfg.Limits = config.Limits{}
	tap := &providerTap{next: newLogger(o.Log, cfg).Handler(),
		phases: map[string]*phaseStats{"t": {}, "l": {}}, other: new(atomic.Int64)}
	a, err := startApp(ctx, cfg, slog.New(tap))
	if err != nil {
		return nil, err
	}
	defer a.Stop()
	if act := a.cat.Active(); len(act) != 1 || act[0].ID != "bench" {
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
	var out []flowsResult
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
	o   flowsOptions
	a   *app
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
	jobs := make(chan int)
	errc := make(chan error, 4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for from := range jobs {
				items := make([]map[string]any, 0, per)
				for i := from; i < min(from+per, b.o.Contacts); i++ {
					items = append(items, map[string]any{"type": "identify", "userId": benchContactID(i),
						"messageId": fmt.Sprintf("bench-id-%s-%d", b.run, i), "traits": map[string]any{"phone": benchPhone(i)}})
				}
				body, _ := json.Marshal(map[string]any{"batch": items})
				var resp struct{ Errors []json.RawMessage }
				if err := postJSON(ctx, b.hc, b.a.URL()+"/v1/batch", b.a.keys.Server, body, &resp); err != nil {
					errc <- err
					return
				}
				if len(resp.Errors) > 0 {
					errc <- fmt.Errorf("identify contacts: %s", resp.Errors[0])
					return
				}
				if n := done.Add(int64(len(items))); n/per%20 == 0 || n == int64(b.o.Contacts) {
					fmt.Fprintf(b.o.Progress, "  contacts: %d/%d\n", n, b.o.Contacts)
				}
			}
		}()
	}
	var err error
feed:
	for from := 0; from < b.o.Contacts; from += per {
		select {
		case jobs <- from:
		case err = <-errc:
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		return err
	}
	select {
	case err := <-errc:
		return err
	default:
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
		n, err := b.a.db.InboxDepth(ctx)
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
func (b *flowsRun) throughput(ctx context.Context) (flowsResult, error) {
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
				if err := postJSON(ctx, b.hc, url, b.a.keys.Server, body, &resp); err != nil {
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
	return flowsResult{Mode: "throughput", Events: want, Messages: st.count.Load(), Errors: errs.Load(), Elapsed: elapsed,
		PerSecond: float64(during) / elapsed.Seconds(), P50: st.lat.quantile(0.50), P99: st.lat.quantile(0.99), Max: st.lat.maximum(),
		HTTPP99: httpLat.quantile(0.99), Drain: drain}, nil
}

// latency sends single /v1/track calls at a fixed rate, open loop: each call
// starts on schedule in its own goroutine whatever the previous ones do, so
// a slow pipeline shows up as latency rather than as a lower rate.
func (b *flowsRun) latency(ctx context.Context) (flowsResult, error) {
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
			if err := postJSON(ctx, b.hc, url, b.a.keys.Server, body, nil); err != nil {
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
	return flowsResult{Mode: fmt.Sprintf("latency@%d/s", b.o.Rate), Events: want, Messages: st.count.Load(), Errors: errs.Load(), Elapsed: elapsed,
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
			depth, _ := b.a.db.InboxDepth(ctx)
			fmt.Fprintf(b.o.Progress, "  %s: %d events accepted, %d at the provider, inbox %d, %s\n",
				mode, accepted.Load(), st.count.Load(), depth, time.Since(start).Round(time.Second))
		}
	}
}

// --- bench timers ---------------------------------------------------------------

// benchTimerSource is the flow of `bench timers`: a wait then a send. Its
// runs are written straight into the database, already waiting.
const benchTimerSource = `id: bench-timer
name: Bench timer
category: service
trigger:
  event: Bench Timer
steps:
  - id: pause
    wait: 60s
  - id: notify
    send: "bench timer"
`

// timersOptions configures one `bench timers`.
type timersOptions struct {
	DSN     string        // "" means a fresh SQLite file
	Runs    int           // waiting runs to insert
	Window  time.Duration // their timers are spread uniformly over this window
	Lead    time.Duration // the engine starts this long before the first timer is due
	Timeout time.Duration // give up waiting for the last timer after this long past the window
	// Inserters is how many goroutines insert (0: 1 on SQLite, 3 on PostgreSQL).
	Inserters int
	// Engines is how many engine loops run (as flowsOptions.Engines).
	Engines int
	// NoSend drops the send step: the runs just end when their timer
	// fires, which isolates the timer machinery from the outbox.
	NoSend   bool
	Progress io.Writer
	Log      io.Writer
}

// timersResult is what `bench timers` measured.
type timersResult struct {
	Engines        int // engine loops
	Runs           int
	Inserted       int64
	InsertPerSec   float64
	Fired          int64 // distinct runs resumed by their timer
	Duplicates     int64 // timers fired twice (must be 0)
	Sent           int64 // distinct runs whose message reached the provider
	FiredPerSecond float64
	// Lateness of the engine's commit that resumed the run, and of the
	// provider call of its message, after the run's wake_at.
	FireP50, FireP99, FireMax time.Duration
	SendP50, SendP99, SendMax time.Duration
	RSSWaiting, RSSPeak       int64 // bytes; peak since the engine started
	RSSAfterInsert            int64
}

// offsetClock is the wall clock shifted by a fixed offset. The runs are
// written with wake times relative to when insertion began; the engine's
// clock is shifted so that, when it starts, the first timer is Lead away,
// however long the insertion took.
type offsetClock struct{ offset time.Duration }

func (c offsetClock) Now() time.Time { return time.Now().UTC().Add(c.offset) }

// bitset marks run indexes.
type bitset []atomic.Uint64

// set marks i and reports whether it was already marked.
func (b bitset) set(i int) bool {
	w, m := &b[i/64], uint64(1)<<(i%64)
	for {
		old := w.Load()
		if old&m != 0 {
			return true
		}
		if w.CompareAndSwap(old, old|m) {
			return false
		}
	}
}

// timerProvider is the console provider, timed: it records how late each
// bench run's message reaches it.
type timerProvider struct {
	inner *console.Console
	t     *timersRun
}

func (p *timerProvider) Name() string { return p.inner.Name() }

func (p *timerProvider) Send(ctx context.Context, m *smsflow.Message) (provider.Result, error) {
	res, err := p.inner.Send(ctx, m)
	if i, ok := p.t.index(m.ContactID); ok && !p.t.sentSet.set(i) {
		p.t.sendLat.add(p.t.clock.Now().Sub(p.t.wake(i)))
		p.t.sent.Add(1)
	}
	return res, err
}

// timersRun is one `bench timers`.
type timersRun struct {
	o        timersOptions
	base     time.Time // wake time of run 0
	clock    offsetClock
	fired    atomic.Int64
	dups     atomic.Int64
	sent     atomic.Int64
	firedSet bitset
	sentSet  bitset
	fireLat  latencies
	sendLat  latencies
	lastFire atomic.Int64 // unix nanos of the engine clock
}

// benchEngine runs `smsflow bench flows` and `smsflow bench timers`.
func timerContactID(i int) string { return "t" + strconv.Itoa(i) }

func (t *timersRun) index(contactID string) (int, bool) {
	s, ok := strings.CutPrefix(contactID, "t")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(s)
	return i, err == nil && i >= 0 && i < t.o.Runs
}

// wake is run i's timer: base + i·Window/Runs.
func (t *timersRun) wake(i int) time.Time {
	return t.base.Add(time.Duration(float64(t.o.Window) * float64(i) / float64(t.o.Runs)))
}

func benchTimers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench timers", flag.ContinueOnError)
	var o timersOptions
	fs.StringVar(&o.DSN, "db", "", "database `DSN` (default: a fresh SQLite file; postgres:// runs in a fresh schema, dropped afterwards)")
	fs.IntVar(&o.Runs, "runs", 1_000_000, "waiting runs to insert")
	fs.DurationVar(&o.Window, "window", 60*time.Second, "their timers are spread uniformly over this window")
	fs.DurationVar(&o.Lead, "lead", 5*time.Second, "the engine starts this long before the first timer is due")
	fs.DurationVar(&o.Timeout, "timeout", 15*time.Minute, "stop waiting for the last timers this long after the window ends")
	fs.IntVar(&o.Inserters, "inserters", 0, "goroutines inserting runs (default 1 on SQLite, 3 on PostgreSQL)")
	fs.IntVar(&o.Engines, "engines", 0, "engine loops, as config engine_workers (default: serve's, 2 on PostgreSQL and 1 on SQLite)")
	fs.BoolVar(&o.NoSend, "no-send", false, "the flow only waits (no message): measures the timers alone")
	cpu := fs.String("cpuprofile", "", "write a CPU profile of the firing phase to this `FILE`")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	o.Progress, o.Log = stderr, stderr
	var err error
	if o.Engines, err = benchWorkers(o.DSN, o.Engines); err != nil {
		return err
	}
	r, err := runTimersBench(ctx, o, *cpu)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "database\tengines\truns\twindow\tinserted/s\tfired\tsent\tfired/s\tfire p50 ms\tfire p99 ms\tfire max ms\tsend p99 ms\tRSS waiting MB\tRSS peak MB\t\n")
	fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%.0f\t%d\t%d\t%.0f\t%.1f\t%.1f\t%.1f\t%.1f\t%.0f\t%.0f\t\n", store.Scheme(o.DSN), r.Engines, r.Runs, o.Window, r.InsertPerSec,
		r.Fired, r.Sent, r.FiredPerSecond, ms(r.FireP50), ms(r.FireP99), ms(r.FireMax), ms(r.SendP99), mb(r.RSSWaiting), mb(r.RSSPeak))
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Duplicates > 0 {
		return fmt.Errorf("%d timers fired twice", r.Duplicates)
	}
	return nil
}

// runTimersBench inserts the waiting runs, starts the engine and a timed
// console sender, and waits until every run has fired and sent (or the
// timeout). cpuProfile, if set, profiles the firing phase only.
func runTimersBench(ctx context.Context, o timersOptions, cpuProfile string) (timersResult, error) {
	var res timersResult
	if o.Runs < 1 || o.Window <= 0 || o.Lead <= 0 || o.Timeout <= 0 {
		return res, fmt.Errorf("--runs, --window, --lead and --timeout must be positive")
	}
	res.Runs, res.Engines = o.Runs, max(o.Engines, 1)
	dsn, cleanup, err := benchDSN(ctx, o.DSN, false)
	if err != nil {
		return res, err
	}
	defer cleanup()
	cfg := config.Default()
	cfg.LogLevel = "warn"
	log := newLogger(o.Log, cfg)
	db, err := openDB(ctx, dsn, log)
	if err != nil {
		return res, err
	}
	defer db.Close()
	dir, err := os.MkdirTemp("", "smsflow-bench-timers-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	src := benchTimerSource
	if o.NoSend {
		src, _, _ = strings.Cut(src, "  - id: notify")
	}
	if err := os.WriteFile(filepath.Join(dir, "bench-timer.yaml"), []byte(src), 0o644); err != nil {
		return res, err
	}
	cat := engine.NewCatalog(db)
	if err := cat.Load(ctx); err != nil {
		return res, err
	}
	if _, err := cat.LoadDir(ctx, dir, time.Now().UTC()); err != nil {
		return res, err
	}
	db.SetRelevant(cat.Relevant) // as serve wires it
	head, _ := cat.Head("bench-timer")
	comp, err := cat.Version(ctx, head.ID, head.Version)
	if err != nil {
		return res, err
	}
	if n, err := db.CountRuns(ctx, ""); err != nil || n > 0 {
		return res, errors.Join(err, fmt.Errorf("the database already holds %d runs: bench timers needs an empty database", n))
	}
	t := &timersRun{o: o, base: time.Now().UTC().Truncate(time.Millisecond),
		firedSet: make(bitset, o.Runs/64+1), sentSet: make(bitset, o.Runs/64+1)}

	fmt.Fprintf(o.Progress, "bench timers: %s, %d waiting runs over %s, %d engine loop(s)\n", store.Scheme(dsn), o.Runs, o.Window, max(o.Engines, 1))
	start := time.Now()
	if err := t.insert(ctx, db, comp, store.Scheme(dsn)); err != nil {
		return res, err
	}
	res.Inserted = int64(o.Runs)
	res.InsertPerSec = float64(o.Runs) / time.Since(start).Seconds()
	if n, err := db.CountRuns(ctx, smsflow.RunWaiting); err != nil || n != int64(o.Runs) {
		return res, errors.Join(err, fmt.Errorf("%d runs waiting after inserting %d", n, o.Runs))
	}
	// The insertion's garbage is the benchmark's, not the engine's.
	runtime.GC()
	debug.FreeOSMemory()
	res.RSSAfterInsert = procStatus("VmRSS")
	resetPeakRSS()

	t.clock = offsetClock{offset: t.base.Add(-o.Lead).Sub(time.Now().UTC())}
	onTrace := func(tr engine.Trace) {
		if tr.Kind != "wait" || tr.Reason != "resumed:timer" {
			return
		}
		i, ok := t.index(tr.ContactID)
		if !ok {
			return
		}
		if t.firedSet.set(i) {
			t.dups.Add(1)
			return
		}
		now := t.clock.Now()
		t.fireLat.add(now.Sub(t.wake(i)))
		t.lastFire.Store(now.UnixNano())
		t.fired.Add(1)
	}
	quiet := slog.New(slog.DiscardHandler)
	sender := delivery.NewSender(db, &timerProvider{inner: console.New(quiet), t: t}, t.clock, log)
	eng := engine.New(db, cat, t.clock, log, engine.Config{Brand: map[string]any{"name": cfg.Brand.Name}, PublicURL: "http://127.0.0.1", Provider: "console",
		Workers: res.Engines})
	eng.OnTrace = onTrace
	engine.Connect(eng, sender)
	stopProfile, err := startCPUProfile(cpuProfile)
	if err != nil {
		return res, err
	}
	if err := sender.Start(ctx); err != nil {
		stopProfile()
		return res, err
	}
	eng.Start()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			eng.Stop()
			sender.Stop()
			stopProfile()
		}
	}
	defer stop()

	// RSS with every run waiting: the engine is up, the first timer is not due.
	time.Sleep(o.Lead / 2)
	res.RSSWaiting = procStatus("VmRSS")
	if f := t.fired.Load(); f > 0 {
		fmt.Fprintf(o.Progress, "  warning: %d timers fired before the waiting RSS was read\n", f)
	}
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	fmt.Fprintf(o.Progress, "  engine started; RSS %.0f MB after insert, %.0f MB waiting (Go heap in use %.0f MB, Go runtime total %.0f MB); first timer due in %s\n",
		mb(res.RSSAfterInsert), mb(res.RSSWaiting), mb(int64(mem.HeapInuse)), mb(int64(mem.Sys-mem.HeapReleased)), o.Lead/2)

	deadline := time.Now().Add(o.Lead/2 + o.Window + o.Timeout)
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	wantSent := int64(o.Runs)
	if o.NoSend {
		wantSent = 0
	}
	for t.fired.Load() < int64(o.Runs) || t.sent.Load() < wantSent {
		if time.Now().After(deadline) {
			fmt.Fprintf(o.Progress, "  timeout: %d fired, %d sent of %d\n", t.fired.Load(), t.sent.Load(), o.Runs)
			break
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-tick.C:
			now := t.clock.Now()
			due := int64(float64(o.Runs) * float64(now.Sub(t.base)) / float64(o.Window))
			due = min(max(due+1, 0), int64(o.Runs))
			fmt.Fprintf(o.Progress, "  %s: due %d, fired %d, sent %d, fire p99 so far %.0f ms, RSS %.0f MB\n",
				now.Sub(t.base).Round(time.Second), due, t.fired.Load(), t.sent.Load(), ms(t.fireLat.quantile(0.99)), mb(procStatus("VmRSS")))
		case <-time.After(10 * time.Millisecond):
		}
	}
	stop()
	res.RSSPeak = procStatus("VmHWM")
	res.Fired, res.Duplicates, res.Sent = t.fired.Load(), t.dups.Load(), t.sent.Load()
	if last := t.lastFire.Load(); last > 0 {
		span := time.Unix(0, last).Sub(t.base)
		res.FiredPerSecond = float64(res.Fired) / max(span.Seconds(), 1e-3)
	}
	res.FireP50, res.FireP99, res.FireMax = t.fireLat.quantile(0.50), t.fireLat.quantile(0.99), t.fireLat.maximum()
	res.SendP50, res.SendP99, res.SendMax = t.sendLat.quantile(0.50), t.sendLat.quantile(0.99), t.sendLat.maximum()
	return res, nil
}

// insert writes the contacts and their waiting runs in batches through the
// store's own insert primitives (one transaction per batch).
func (t *timersRun) insert(ctx context.Context, db *store.DB, comp *engine.Compiled, scheme string) error {
	const per = 1000
	workers := t.o.Inserters
	if workers <= 0 {
		workers = 1
		if scheme == "postgres" {
			workers = 3
		}
	}
	waitStep := comp.Start()
	var done atomic.Int64
	jobs := make(chan int)
	errc := make(chan error, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for from := range jobs {
				err := db.WriteTx(ctx, func(tx *store.Tx) error {
					for i := from; i < min(from+per, t.o.Runs); i++ {
						wake := t.wake(i)
						entered := wake.Add(-time.Minute)
						c := &smsflow.Contact{ID: timerContactID(i), Phone: benchPhone(i), PhoneType: "fixed_line_or_mobile",
							Timezone: "America/Los_Angeles", TimezoneSource: "phone", Timezones: []string{"America/Los_Angeles"},
							CreatedAt: entered, UpdatedAt: entered}
						if err := tx.InsertContact(c); err != nil {
							return err
						}
						r := &smsflow.Run{FlowID: comp.ID, FlowVersion: comp.Version, ContactID: c.ID, Status: smsflow.RunWaiting,
							Step: waitStep, WakeAt: wake, State: smsflow.RunState{WaitStarted: entered, Steps: 1},
							EnteredAt: entered, UpdatedAt: entered}
						if err := tx.InsertRun(r); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					errc <- fmt.Errorf("insert runs %d…: %w", from, err)
					return
				}
				done.Add(int64(min(per, t.o.Runs-from)))
			}
		}()
	}
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	var err error
feed:
	for from := 0; from < t.o.Runs; from += per {
		select {
		case jobs <- from:
		case err = <-errc:
			break feed
		case <-tick.C:
			n := done.Load()
			fmt.Fprintf(t.o.Progress, "  inserted %d/%d runs (%.0f/s)\n", n, t.o.Runs, float64(n)/time.Since(start).Seconds())
			from -= per // not sent: feed it again
		}
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		return err
	}
	select {
	case err := <-errc:
		return err
	default:
	}
	fmt.Fprintf(t.o.Progress, "  inserted %d runs in %s\n", t.o.Runs, time.Since(start).Round(time.Millisecond))
	return nil
}
