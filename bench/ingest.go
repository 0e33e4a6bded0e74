package bench

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
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
	Cost      legCost
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
	if *mode != "batch" && *mode != "track" && *mode != "both" {
		return fmt.Errorf("--mode %q: use batch, track or both", *mode)
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
	costs := newCostMeter(*dsn, a)
	defer costs.close()
	if *mode == "batch" || *mode == "both" {
		from := costs.mark(ctx)
		r := drive(ctx, a, "batch", *clients, *batch, *duration, gen, stderr)
		r.Cost = costs.since(ctx, from)
		results = append(results, r)
	}
	if *mode == "track" || *mode == "both" {
		from := costs.mark(ctx)
		r := drive(ctx, a, "track", *trackClients, 1, *duration, gen, stderr)
		r.Cost = costs.since(ctx, from)
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
	fmt.Fprintf(tw, "database\tmode\tclients\tbatch\tevents\tevents/s\tp50 ms\tp99 ms\terrors\tvs ceiling\tevents/commit\tcpu µs/event\tdb cpu µs/event\t\n")
	for _, r := range results {
		c, b := *clients, *batch
		if r.Mode == "track" {
			c, b = *trackClients, 1
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.0f\t%.1f\t%.1f\t%d\t%.0f%%\t%s\t%s\t%s\t\n", store.Scheme(*dsn), r.Mode, c, b, r.Events, r.PerSecond,
			float64(r.P50.Microseconds())/1000, float64(r.P99.Microseconds())/1000, r.Errors, 100*r.PerSecond/ceil,
			r.Cost.perCommit(), perEvent(r.Cost.cpu, r.Events), perEvent(r.Cost.db, r.Events))
	}
	fmt.Fprintf(tw, "%s\tceiling\t1\t%d\t%d\t%.0f\t\t\t\t100%%\t\t\t\t\n", store.Scheme(*dsn), *batch, n, ceil)
	if err := tw.Flush(); err != nil {
		return err
	}
	// What the extra columns are: CPU per event is steadier than events/s
	// on a machine others use, and says where a change saved.
	fmt.Fprintln(stdout, "events/commit: events per group commit of the ingest writer; cpu: this process (the server and the benchmark's clients);")
	fmt.Fprintln(stdout, "db cpu: the database's backends serving this database (local PostgreSQL only; - otherwise)")
	return nil
}

// legCost is what a leg cost besides time: the group commits it made, this
// process's CPU and, on a local PostgreSQL, the CPU of the backends of the
// benchmarked database (read from /proc; -1 when unreadable).
type legCost struct {
	groups, items int64
	cpu, db       time.Duration
}

func (c legCost) perCommit() string {
	if c.groups == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(c.items)/float64(c.groups))
}

func perEvent(d time.Duration, events int64) string {
	if d < 0 || events == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", float64(d.Microseconds())/float64(events))
}

// costMeter reads legCost's counters. Its database handle is its own, so
// its queries do not count as the app's backends.
type costMeter struct {
	app App
	sql *sql.DB // nil unless PostgreSQL
}

// costMark is the counters at one moment.
type costMark struct {
	groups, items int64
	cpu           time.Duration
	backends      map[int]time.Duration // nil when unreadable
}

func newCostMeter(dsn string, a App) *costMeter {
	m := &costMeter{app: a}
	if store.Scheme(dsn) == "postgres" {
		if db, err := OpenSQL(dsn); err == nil {
			m.sql = db
		}
	}
	return m
}

func (m *costMeter) close() {
	if m.sql != nil {
		m.sql.Close()
	}
}

func (m *costMeter) mark(ctx context.Context) costMark {
	var c costMark
	c.groups, c.items = m.app.IngestGroups()
	c.cpu = procCPU("self")
	if m.sql == nil {
		return c
	}
	rows, err := m.sql.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		return c
	}
	defer rows.Close()
	c.backends = map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) != nil {
			return costMark{groups: c.groups, items: c.items, cpu: c.cpu}
		}
		cpu := procCPU(strconv.Itoa(pid))
		if cpu < 0 {
			// Not a local server, or not ours to read.
			return costMark{groups: c.groups, items: c.items, cpu: c.cpu}
		}
		c.backends[pid] = cpu
	}
	return c
}

// since is the cost from a mark to now. A backend that started meanwhile
// counts whole; one that ended is lost (the app's pool keeps its
// connections open, so neither happens in a steady run).
func (m *costMeter) since(ctx context.Context, from costMark) legCost {
	to := m.mark(ctx)
	c := legCost{groups: to.groups - from.groups, items: to.items - from.items, cpu: to.cpu - from.cpu, db: -1}
	if from.cpu < 0 || to.cpu < 0 {
		c.cpu = -1
	}
	if from.backends != nil && to.backends != nil {
		c.db = 0
		for pid, t := range to.backends {
			c.db += t - from.backends[pid]
		}
	}
	return c
}

// procCPU is the user and system CPU time of a process (a pid, or "self")
// from /proc, or -1 where it cannot be read.
func procCPU(pid string) time.Duration {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return -1
	}
	// The command name, in parentheses, may hold spaces: fields are
	// counted after its closing parenthesis (state is field 3).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	// /proc reports in USER_HZ, 100 per second on Linux.
	return time.Duration(utime+stime) * (time.Second / 100)
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
// Each client is one keep-alive connection on which it sends a request and
// reads its answer in turn (postConn), as an HTTP/1.1 client does; the
// server does for it all it does for any client.
func drive(ctx context.Context, a App, mode string, clients, batch int, d time.Duration, gen *eventGen, stderr io.Writer) ingestResult {
	path := "/v1/batch"
	if mode == "track" {
		path = "/v1/track"
	}
	host := strings.TrimPrefix(a.URL(), "http://")
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(a.ServerKey()+":"))
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
			pc := &postConn{host: host, path: path, auth: auth}
			defer pc.close()
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
				t0 := time.Now()
				status, err := pc.post(body)
				if err != nil {
					errs.Add(1)
					continue
				}
				local = append(local, time.Since(t0))
				reqs.Add(1)
				if status != http.StatusOK {
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

// postConn is one benchmark client's keep-alive HTTP/1.1 connection: a
// POST written, its answer read with net/http's own parser, then the next.
// net/http's Transport would cost a reader and a writer goroutine per
// connection and hand-offs between them per request: on a 2-core machine
// the clients share the CPU with the server they measure, so they should
// take little of it. A connection the server closes, or that fails, is
// dialled again for the next request.
type postConn struct {
	host, path, auth string
	conn             net.Conn
	br               *bufio.Reader
	bw               *bufio.Writer
}

func (p *postConn) post(body []byte) (status int, err error) {
	if p.conn == nil {
		c, err := net.DialTimeout("tcp", p.host, 10*time.Second)
		if err != nil {
			return 0, err
		}
		p.conn, p.br, p.bw = c, bufio.NewReader(c), bufio.NewWriter(c)
	}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	if err := p.conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return 0, err
	}
	fmt.Fprintf(p.bw, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		p.path, p.host, p.auth, len(body))
	p.bw.Write(body)
	if err := p.bw.Flush(); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(p.br, nil)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	if resp.Close {
		p.close()
	}
	return resp.StatusCode, nil
}

func (p *postConn) close() {
	if p.conn != nil {
		p.conn.Close()
		p.conn = nil
	}
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
