package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/store"
)

// ingestResult is one measured ingestion run.
type ingestResult struct {
	Mode      string
	Events    int64
	Requests  int64
	Errors    int64
	Elapsed   time.Duration
	P50, P99  time.Duration
	PerSecond float64
}

// Ingest is `smsflow bench ingest`.
func Ingest(ctx context.Context, h Harness, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench ingest", flag.ContinueOnError)
	dsn := fs.String("db", "", "database `DSN` (default: a fresh SQLite file in a temporary directory)")
	duration := fs.Duration("duration", 30*time.Second, "how long each mode runs")
	clients := fs.Int("clients", 8, "concurrent HTTP clients for /v1/batch")
	trackClients := fs.Int("track-clients", 64, "concurrent HTTP clients for single /v1/track calls")
	batch := fs.Int("batch", 100, "events per /v1/batch call")
	contacts := fs.Int("contacts", 10000, "distinct contacts the events spread over")
	mode := fs.String("mode", "both", "batch, track or both")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this `FILE`")
	if err := h.ParseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *batch < 1 || *batch > 1000 || *clients < 1 || *contacts < 1 {
		return fmt.Errorf("--batch must be 1..1000, --clients and --contacts at least 1")
	}
	if *dsn == "" {
		dir, err := os.MkdirTemp("", "smsflow-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*dsn = "sqlite:" + filepath.Join(dir, "bench.db")
	}
	cfg := config.Default()
	cfg.DB, cfg.Addr, cfg.LogLevel = *dsn, "127.0.0.1:0", "warn"
	cfg.Flows = emptyDir() // pure ingestion: no flow runs on the bench events
	// Back ends send with the server key, which is never limited per
	// address; the per-key limit is off so that the ceiling is measured.
	cfg.Limits.IngestPerKey = ""
	log := h.logger(stderr, cfg)
	a, err := h.Start(ctx, cfg, log, AppOptions{})
	if err != nil {
		return err
	}
	defer a.Stop()
	fmt.Fprintf(stderr, "bench ingest: %s on %s, %s per mode\n", store.Scheme(*dsn), a.URL(), *duration)

	var results []ingestResult
	gen := &eventGen{contacts: *contacts, run: fmt.Sprintf("%x", rand.Uint64())}
	if *mode == "batch" || *mode == "both" {
		r := drive(ctx, a, "batch", *clients, *batch, *duration, gen, stderr)
		results = append(results, r)
	}
	if *mode == "track" || *mode == "both" {
		r := drive(ctx, a, "track", *trackClients, 1, *duration, gen, stderr)
		results = append(results, r)
	}

	// The storage ceiling: the same kind of rows, the same batch size, written
	// straight into a fresh database of the same kind by one writer.
	ceilDB, cleanup, err := ceilingDB(ctx, *dsn)
	if err != nil {
		return err
	}
	defer cleanup()
	n := results[0].Events
	ceil, err := storageCeiling(ctx, ceilDB, gen, int(n), *batch)
	if err != nil {
		return fmt.Errorf("storage ceiling: %w", err)
	}

	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "database\tmode\tclients\tbatch\tevents\tevents/s\tp50 ms\tp99 ms\terrors\tvs ceiling\t\n")
	for _, r := range results {
		c, b := *clients, *batch
		if r.Mode == "track" {
			c, b = *trackClients, 1
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.0f\t%.1f\t%.1f\t%d\t%.0f%%\t\n", store.Scheme(*dsn), r.Mode, c, b, r.Events, r.PerSecond,
			float64(r.P50.Microseconds())/1000, float64(r.P99.Microseconds())/1000, r.Errors, 100*r.PerSecond/ceil)
	}
	fmt.Fprintf(tw, "%s\tceiling\t1\t%d\t%d\t%.0f\t\t\t\t100%%\t\n", store.Scheme(*dsn), *batch, n, ceil)
	return tw.Flush()
}

// eventGen makes realistic Segment track events spread over contacts.
type eventGen struct {
	contacts int
	run      string
	seq      atomic.Int64
}

var benchNames = []string{"Product Viewed", "Product Added", "Checkout Started", "Order Completed", "Page Viewed"}

// benchEvent is a track call as analytics libraries send it. A struct, not
// a map: the client runs in the measured process, and encoding a map per
// event cost it more CPU than the server's decode of the same bytes.
type benchEvent struct {
	Type       string         `json:"type"`
	UserID     string         `json:"userId"`
	Event      string         `json:"event"`
	MessageID  string         `json:"messageId"`
	Properties benchProps     `json:"properties"`
	Timestamp  string         `json:"timestamp"`
	Context    map[string]any `json:"context"`
}

type benchProps struct {
	SKU      string   `json:"sku"`
	Price    float64  `json:"price"`
	Currency string   `json:"currency"`
	OrderID  string   `json:"order_id,omitempty"`
	Revenue  *float64 `json:"revenue,omitempty"`
}

var benchContext = map[string]any{"library": map[string]any{"name": "smsflow-bench"}}

func (g *eventGen) next(r *rand.Rand) benchEvent {
	n := g.seq.Add(1)
	name := benchNames[r.IntN(len(benchNames))]
	props := benchProps{SKU: fmt.Sprintf("SKU-%04d", r.IntN(5000)), Price: float64(r.IntN(10000)) / 100, Currency: "USD"}
	if name == "Order Completed" {
		revenue := float64(r.IntN(20000)) / 100
		props.OrderID, props.Revenue = fmt.Sprintf("%s-%d", g.run, n), &revenue
	}
	return benchEvent{
		Type: "track", UserID: fmt.Sprintf("user-%d", r.IntN(g.contacts)), Event: name,
		MessageID: fmt.Sprintf("bench-%s-%d", g.run, n), Properties: props,
		Timestamp: time.Now().UTC().Format(time.RFC3339Nano), Context: benchContext,
	}
}

// asMap is the properties as the server stores them (the ceiling's rows).
func (p benchProps) asMap() map[string]any {
	m := map[string]any{"sku": p.SKU, "price": p.Price, "currency": p.Currency}
	if p.OrderID != "" {
		m["order_id"], m["revenue"] = p.OrderID, *p.Revenue
	}
	return m
}

// drive posts events for d with the given concurrency and measures them.
func drive(ctx context.Context, a App, mode string, clients, batch int, d time.Duration, gen *eventGen, stderr io.Writer) ingestResult {
	tr := &http.Transport{MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	url := a.URL() + "/v1/batch"
	if mode == "track" {
		url = a.URL() + "/v1/track"
	}
	var (
		events, reqs, errs atomic.Int64
		mu                 sync.Mutex
		lat                []time.Duration
		wg                 sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 7))
			local := make([]time.Duration, 0, 4096)
			for ctx.Err() == nil {
				var body []byte
				if mode == "track" {
					body, _ = json.Marshal(gen.next(r))
				} else {
					items := make([]benchEvent, batch)
					for i := range items {
						items[i] = gen.next(r)
					}
					body, _ = json.Marshal(map[string]any{"batch": items, "sentAt": time.Now().UTC().Format(time.RFC3339Nano)})
				}
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.SetBasicAuth(a.ServerKey(), "")
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := hc.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				local = append(local, time.Since(t0))
				reqs.Add(1)
				if resp.StatusCode != http.StatusOK {
					errs.Add(1)
					continue
				}
				events.Add(int64(batch))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}(uint64(c) + 1)
	}
	// Progress while it runs.
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		case <-tick.C:
			fmt.Fprintf(stderr, "  %s: %d events in %s\n", mode, events.Load(), time.Since(start).Round(time.Second))
		}
	}
	el := time.Since(start)
	slices.Sort(lat)
	return ingestResult{Mode: mode, Events: events.Load(), Requests: reqs.Load(), Errors: errs.Load(), Elapsed: el,
		P50: percentile(lat, 0.50), P99: percentile(lat, 0.99), PerSecond: float64(events.Load()) / el.Seconds()}
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// ceilingDB opens a fresh database of the benchmarked kind: a new SQLite file,
// or the same PostgreSQL database with the events table emptied first.
func ceilingDB(ctx context.Context, dsn string) (*store.DB, func(), error) {
	if store.Scheme(dsn) == "sqlite" {
		dir, err := os.MkdirTemp("", "smsflow-ceiling-")
		if err != nil {
			return nil, nil, err
		}
		db, err := store.Open(filepath.Join(dir, "ceiling.db"))
		if err != nil {
			return nil, nil, err
		}
		if _, err := db.Migrate(ctx); err != nil {
			return nil, nil, err
		}
		return db, func() { db.Close(); os.RemoveAll(dir) }, nil
	}
	db, err := store.Open(dsn)
	if err != nil {
		return nil, nil, err
	}
	return db, func() { db.Close() }, nil
}

// storageCeiling writes n event rows in batches straight into db and returns
// rows per second.
func storageCeiling(ctx context.Context, db *store.DB, gen *eventGen, n, batch int) (float64, error) {
	r := rand.New(rand.NewPCG(99, 7))
	gen2 := &eventGen{contacts: gen.contacts, run: gen.run + "-ceiling"}
	rows := make([][]smsflow.Event, 0, n/batch+1)
	for done := 0; done < n; {
		k := min(batch, n-done)
		evs := make([]smsflow.Event, k)
		for i := range evs {
			m := gen2.next(r)
			ts, _ := time.Parse(time.RFC3339Nano, m.Timestamp)
			props := m.Properties.asMap()
			evs[i] = smsflow.Event{MessageID: m.MessageID, Type: "track", Name: m.Event,
				ContactID: m.UserID, Properties: props, Context: m.Context,
				DedupeKey: smsflow.OrderDedupeKey(m.Event, props), Timestamp: ts, ReceivedAt: ts}
		}
		rows = append(rows, evs)
		done += k
	}
	start := time.Now()
	for _, evs := range rows {
		if err := db.BulkInsertEvents(ctx, evs); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// emptyDir returns a new empty directory (a flows directory with no flows).
func emptyDir() string {
	dir, err := os.MkdirTemp("", "smsflow-noflows-")
	if err != nil {
		return "/nonexistent-smsflow-flows"
	}
	return dir
}
