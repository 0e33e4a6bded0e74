package bench

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/provider/twilio"
	"github.com/smsflow/smsflow/provider/twilio/twiliotest"
	"github.com/smsflow/smsflow/store"
)

// `bench send` measures the send pipeline alone: N queued messages are
// bulk-loaded into the outbox, then the app is started with the twilio
// provider pointed at a fake Messages API on loopback (real HTTP, in this
// process) and pacing lifted, and the sender drains the outbox: claim,
// provider call, outcome. With --receipts the fake posts a signed
// "delivered" status callback for each message, which goes through the
// webhook into the receipt path.

// The fake account the benchmark's provider uses.
const (
	benchSendSID    = "AC00000000000000000000000000000bed"
	benchSendToken  = "bench-send-auth-token-0123456789"
	benchSendFrom   = "+15005550006"
	benchSendPublic = "https://sms.bench.invalid" // what the fake signs; it calls the app itself
	sendFlow        = "bench-send"
)

// DefaultCallbackWorkers is how many status callbacks the fake Twilio of
// `bench send --receipts` keeps in flight. A webhook answers only once its
// receipt is stored durably, so a client with N in flight gets at most N
// receipts per commit (a WAL flush): with 8, as before D97, the callbacks,
// not smsflow, capped the receipts leg at 8 × the disk's flush rate. Twilio
// posts the callbacks of many messages at once.
const DefaultCallbackWorkers = 64

// sendOptions configures one `bench send`.
type sendOptions struct {
	benchRun
	Messages  int           // queued messages, one per contact
	Receipts  bool          // the fake posts a delivered callback for each
	Latency   time.Duration // the fake provider's own time per call
	IdleConns int           // idle connections kept per host (0: the provider's default client)
	// Baseline, with Receipts, runs a leg without receipts before each leg
	// with them, in the same run, and reports the ratio of their rates.
	Baseline bool
	Pairs    int // how many such pairs, alternating (the median ratio is reported)
	// CallbackWorkers is how many callbacks the fake keeps in flight.
	CallbackWorkers int
}

// sendResult is one measured drain of the outbox.
type sendResult struct {
	Database   string
	Messages   int
	Receipts   bool // the fake posted a delivered callback per message
	InFlight   int  // with receipts: callbacks the fake kept in flight
	SeedTime   time.Duration
	Sent       int64            // outcomes "sent" (or "delivered") the sender recorded
	Other      map[string]int64 // other outcomes, by status
	SendTime   time.Duration    // first provider call to the last outcome recorded
	P50, P99   time.Duration    // provider call (HTTP round trip) latency
	Calls      int64
	Dials      int64         // connections the provider's client opened
	Delivered  int64         // with receipts: messages "delivered" in the database
	SettleTime time.Duration // with receipts: first call until every receipt was applied
	PeakRSS    int64
	// Correctness, from the database and the fake's log.
	AtProvider, Duplicated, Missing int64
	Problems                        []string // requests the fake refused, callbacks that failed
	Incomplete                      string
}

// SendsPerSec is the drain rate: sent messages per second of sending.
func (r sendResult) SendsPerSec() float64 {
	return perSecond(r.Sent, r.SendTime)
}

// Send is `smsflow bench send`.
func Send(ctx context.Context, h Harness, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench send", flag.ContinueOnError)
	o := sendOptions{benchRun: benchRun{Progress: stderr, Log: stderr}}
	o.flags(fs, "the sending (not the seeding)", "")
	fs.IntVar(&o.Messages, "messages", 100_000, "queued messages to send, one per contact")
	fs.BoolVar(&o.Receipts, "receipts", false, "the fake Twilio posts a signed delivered status callback for each message")
	fs.DurationVar(&o.Latency, "latency", 0, "how long the fake Twilio holds each answer")
	fs.IntVar(&o.IdleConns, "idle-conns", 0, "idle connections the provider's HTTP client keeps per host (0: as serve does, provider.MaxConnsPerHost)")
	fs.BoolVar(&o.Baseline, "baseline", true, "with --receipts, first send the same messages without receipts, in the same run, and print the ratio of the two rates")
	fs.IntVar(&o.CallbackWorkers, "callback-workers", DefaultCallbackWorkers, "with --receipts, how many status callbacks the fake Twilio keeps in flight (each waits for its receipt to be stored durably, so N in flight store at most N per commit)")
	fs.IntVar(&o.Pairs, "pairs", 1, "with --receipts and --baseline, how many pairs of legs (without, with) to run, alternating; the median ratio is printed")
	if err := h.ParseFlags(fs, args, stderr); err != nil {
		return err
	}
	if o.Messages < 1 || o.Messages > broadcastCapacity {
		return fmt.Errorf("--messages must be 1..%d", broadcastCapacity)
	}
	if o.CallbackWorkers < 1 || o.CallbackWorkers > 1024 {
		return fmt.Errorf("--callback-workers must be 1..1024")
	}
	if o.Pairs < 1 || o.Pairs > 20 {
		return fmt.Errorf("--pairs must be 1..20")
	}
	legs := []bool{o.Receipts}
	if o.Receipts && o.Baseline {
		// Receipts are judged against sending alone on the same machine at
		// the same moment (issue 19: ≥ 60% on PostgreSQL).
		legs = nil
		for range o.Pairs {
			legs = append(legs, false, true)
		}
	}
	var results []sendResult
	var err error
	for i, receipts := range legs {
		lo := o
		lo.Receipts = receipts
		var r sendResult
		r, err = runSendBench(ctx, h, lo)
		if err != nil && i > 0 && r.Database == "" {
			err = fmt.Errorf("%w (each leg needs an empty database: leave out --db, give a postgres:// URL without search_path, or add --baseline=false for the leg with receipts alone)", err)
		}
		if r.Database != "" {
			results = append(results, r)
		}
		if err == nil && r.Incomplete != "" {
			err = fmt.Errorf("send incomplete: %s", r.Incomplete)
		}
		if err == nil && (r.Duplicated > 0 || r.Missing > 0 || len(r.Problems) > 0) {
			err = errors.New("send check failed")
		}
		if err != nil {
			break
		}
	}
	printSends(stdout, results)
	return err
}

// printSends writes the result table (a row per leg), each leg's
// exactly-once check, and, for legs without and with receipts in turn, the
// ratio of their rates.
func printSends(w io.Writer, results []sendResult) {
	if len(results) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "database\tmessages\tsent\tseconds\tsends/s\tcall p50 ms\tcall p99 ms\tconnections\treceipts\tsettled s\tpeak RSS MB\t\n")
	for _, r := range results {
		receipts, settled := "off", "-"
		if r.Receipts {
			receipts = fmt.Sprint(r.Delivered)
			if r.Incomplete == "" {
				settled = fmt.Sprintf("%.1f", r.SettleTime.Seconds())
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.0f\t%.2f\t%.2f\t%d\t%s\t%s\t%.0f\t\n", r.Database, r.Messages, r.Sent, r.SendTime.Seconds(), r.SendsPerSec(),
			float64(r.P50.Microseconds())/1000, float64(r.P99.Microseconds())/1000, r.Dials, receipts, settled, float64(r.PeakRSS)/(1<<20))
	}
	tw.Flush()
	for _, r := range results {
		printCheck(w, r)
	}
	var ratios []float64
	for i := 1; i < len(results); i++ {
		off, on := results[i-1], results[i]
		if !off.Receipts && on.Receipts && off.Incomplete == "" && on.Incomplete == "" && off.SendsPerSec() > 0 {
			ratios = append(ratios, on.SendsPerSec()/off.SendsPerSec())
		}
	}
	switch len(ratios) {
	case 0:
	case 1:
		fmt.Fprintf(w, "with receipts / without: %.0f%% (%.0f / %.0f sends/s, same run)\n", 100*ratios[0], results[1].SendsPerSec(), results[0].SendsPerSec())
	default:
		var each []string
		for _, r := range ratios {
			each = append(each, fmt.Sprintf("%.0f%%", 100*r))
		}
		sorted := slices.Clone(ratios)
		slices.Sort(sorted)
		median := sorted[len(sorted)/2]
		if len(sorted)%2 == 0 {
			median = (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
		}
		fmt.Fprintf(w, "with receipts / without: median %.0f%% of %d pairs (%s)\n", 100*median, len(ratios), strings.Join(each, ", "))
	}
}

// printCheck writes one leg's other outcomes, problems and exactly-once
// check.
func printCheck(w io.Writer, r sendResult) {
	leg := "without receipts"
	if r.Receipts {
		leg = "with receipts"
	}
	if len(r.Other) > 0 {
		fmt.Fprintf(w, "%s: other outcomes: %v\n", leg, r.Other)
	}
	if len(r.Problems) > 0 {
		fmt.Fprintf(w, "%s: the fake Twilio saw %d problems, first: %s\n", leg, len(r.Problems), r.Problems[0])
	}
	if r.InFlight > 0 {
		fmt.Fprintf(w, "%s: up to %d status callbacks in flight (--callback-workers)\n", leg, r.InFlight)
	}
	switch {
	case r.Incomplete != "":
		fmt.Fprintf(w, "%s: incomplete: %s\n", leg, r.Incomplete)
	case r.Duplicated == 0 && r.Missing == 0:
		fmt.Fprintf(w, "%s: check: each of the %d messages reached the provider exactly once and is recorded with its sid\n", leg, r.Messages)
	default:
		fmt.Fprintf(w, "%s: check FAILED: %d messages not sent or without their sid, %d sent more than once (%d requests at the provider)\n", leg, r.Missing, r.Duplicated, r.AtProvider)
	}
}

// sendClock times the provider's HTTP calls around the round trip.
type sendClock struct {
	base  http.RoundTripper
	first atomic.Int64 // unix nanos of the first call
	n     atomic.Int64
	lat   []time.Duration // one slot per call, up to its length
}

func (c *sendClock) RoundTrip(req *http.Request) (*http.Response, error) {
	t0 := time.Now()
	c.first.CompareAndSwap(0, t0.UnixNano())
	resp, err := c.base.RoundTrip(req)
	if i := c.n.Add(1) - 1; i < int64(len(c.lat)) {
		c.lat[i] = time.Since(t0)
	}
	return resp, err
}

// runSendBench seeds the outbox, starts the app against the fake Twilio and
// measures the drain. On a timeout or cancellation it returns what was done,
// with Incomplete saying why.
func runSendBench(ctx context.Context, h Harness, o sendOptions) (sendResult, error) {
	o.defaults()
	dsn, cleanup, err := freshDatabase(ctx, o.DSN, o.Keep)
	if err != nil {
		return sendResult{}, err
	}
	defer cleanup()
	res := sendResult{Database: store.Scheme(dsn), Messages: o.Messages, Receipts: o.Receipts, Other: map[string]int64{}}
	if o.Receipts {
		res.InFlight = o.CallbackWorkers
	}

	cfg := appConfig(dsn)
	cfg.Flows = emptyDir() // the outbox is seeded: no flow runs
	defer os.RemoveAll(cfg.Flows)
	db, err := openEmpty(ctx, dsn, "messages", func(db *store.DB) (int64, error) {
		var n int64
		err := db.QueryRowForTest(ctx, `SELECT COUNT(*) FROM messages`).Scan(&n)
		return n, err
	})
	if err != nil {
		return res, err
	}

	fmt.Fprintf(o.Progress, "bench send: %d messages on %s\n", o.Messages, res.Database)
	start := time.Now()
	err = loadContacts(ctx, db, o.Messages, o.Progress)
	if err == nil {
		err = seedOutbox(ctx, db, o.Messages, o.Progress)
	}
	db.Close()
	if err != nil {
		return res, err
	}
	sdb, err := OpenSQL(dsn)
	if err != nil {
		return res, err
	}
	defer sdb.Close()
	res.SeedTime = time.Since(start)
	fmt.Fprintf(o.Progress, "  seeded %d contacts and queued messages in %s\n", o.Messages, res.SeedTime.Round(time.Millisecond))

	// The fake Twilio, in this process. Its callbacks go to the app, which
	// has an address only once started.
	var appURL atomic.Pointer[string]
	appUp := make(chan struct{})
	fcfg := twiliotest.Config{AccountSID: benchSendSID, AuthToken: benchSendToken, Latency: o.Latency, CallbackWorkers: o.CallbackWorkers}
	if o.Receipts {
		fcfg.Callbacks = func(callback string) string {
			<-appUp
			return *appURL.Load() + twilio.StatusPath
		}
	}
	fake, err := twiliotest.Start(fcfg)
	if err != nil {
		return res, err
	}
	defer fake.Close()
	cfg.Provider, cfg.PublicURL = "twilio", benchSendPublic
	cfg.Twilio.AccountSID, cfg.Twilio.AuthToken, cfg.Twilio.From, cfg.Twilio.APIBase = benchSendSID, benchSendToken, benchSendFrom, fake.URL()
	cfg.Twilio.Rate = "" // pacing lifted
	// The provider's HTTP client as serve makes it (provider.HTTPClient)
	// unless --idle-conns, timed around each round trip, counting the
	// connections it opens.
	tr := provider.HTTPClient(twilio.DefaultTimeout).Transport.(*http.Transport)
	if o.IdleConns > 0 {
		tr.MaxIdleConnsPerHost = o.IdleConns
		tr.MaxIdleConns = max(tr.MaxIdleConns, o.IdleConns)
	}
	var dials atomic.Int64
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return dial(ctx, network, addr)
	}
	clock := &sendClock{base: tr, lat: make([]time.Duration, o.Messages)}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: clock, Timeout: twilio.DefaultTimeout}

	var (
		mu       sync.Mutex
		outcomes = map[string]int64{}
		last     time.Time
		done     atomic.Int64
	)
	onOutcome := func(m smsflow.Message) {
		mu.Lock()
		outcomes[m.Status]++
		last = time.Now()
		mu.Unlock()
		if m.Status != smsflow.MessageQueued {
			done.Add(1)
		}
	}

	a, stopApp, err := o.startMeasured(ctx, h, cfg, AppOptions{HTTPClient: hc, OnOutcome: onOutcome}, "seeding")
	if err != nil {
		return res, err
	}
	defer stopApp()
	u := a.URL()
	appURL.Store(&u)
	close(appUp)
	fmt.Fprintf(o.Progress, "  app started on %s; provider twilio at %s (fake, in process)\n", u, fake.URL())

	res.Incomplete, err = watchSend(ctx, sdb, o, fake, &done, clock)
	if err != nil {
		return res, err
	}
	fake.Close() // its callbacks first: the app's shutdown then has no connection to wait for
	stopApp()
	res.PeakRSS = procStatus("VmHWM")

	mu.Lock()
	for st, n := range outcomes {
		if st == smsflow.MessageSent || st == smsflow.MessageDelivered {
			res.Sent += n
		} else {
			res.Other[st] = n
		}
	}
	if f := clock.first.Load(); f != 0 && !last.IsZero() {
		res.SendTime = last.Sub(time.Unix(0, f))
	}
	mu.Unlock()
	calls := min(clock.n.Load(), int64(len(clock.lat)))
	lat := slices.Clone(clock.lat[:calls])
	slices.Sort(lat)
	res.Calls, res.P50, res.P99, res.Dials = clock.n.Load(), percentile(lat, 0.50), percentile(lat, 0.99), dials.Load()
	if err := checkSend(context.WithoutCancel(ctx), sdb, fake, &res); err != nil {
		return res, err
	}
	res.Problems = fake.Problems()
	if o.Receipts && res.Incomplete == "" {
		var lastAt sql.NullInt64
		if err := sdb.QueryRowContext(ctx, `SELECT MAX(updated_at) FROM messages WHERE status = 'delivered'`).Scan(&lastAt); err != nil {
			return res, err
		}
		if f := clock.first.Load(); f != 0 && lastAt.Valid {
			res.SettleTime = time.UnixMicro(lastAt.Int64).Sub(time.Unix(0, f))
		}
	}
	return res, nil
}

// watchSend follows the drain until the sender recorded an outcome for
// every message (and, with receipts, every receipt was applied), printing
// progress. It returns why it stopped early, if it did.
func watchSend(ctx context.Context, sdb *sql.DB, o sendOptions, fake *twiliotest.Server, done *atomic.Int64, clock *sendClock) (string, error) {
	deadline := time.Now().Add(o.Timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	lastLine, lastCalls := time.Now(), int64(0)
	total := int64(o.Messages)
	for {
		select {
		case <-ctx.Done():
			return "interrupted", nil
		case <-tick.C:
		}
		now := time.Now()
		finished := done.Load() >= total
		if finished && o.Receipts {
			// Receipts: the fake posted every callback and the app applied it.
			cbDone, _ := fake.Callbacks()
			finished = cbDone >= fake.Count()
			if finished {
				var delivered int64
				if err := sdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages WHERE status = 'delivered'`).Scan(&delivered); err != nil {
					if ctx.Err() != nil {
						return "interrupted", nil
					}
					return "", err
				}
				finished = delivered >= total
			}
		}
		if finished {
			fmt.Fprintf(o.Progress, "  %5.1fs %d messages sent: done\n", sinceFirst(clock, now).Seconds(), done.Load())
			return "", nil
		}
		if now.Sub(lastLine) >= o.Every {
			calls := fake.Count()
			cbDone, cbFailed := fake.Callbacks()
			fmt.Fprintf(o.Progress, "  %5.1fs sent %d/%d (%.0f/s now), callbacks %d (%d failed), RSS %.0f MB\n",
				sinceFirst(clock, now).Seconds(), done.Load(), total, float64(calls-lastCalls)/now.Sub(lastLine).Seconds(), cbDone, cbFailed,
				float64(procStatus("VmRSS"))/(1<<20))
			lastLine, lastCalls = now, calls
		}
		if now.After(deadline) {
			return fmt.Sprintf("timeout: %d of %d messages sent after %s", done.Load(), total, o.Timeout), nil
		}
	}
}

// sinceFirst is the time from the first provider call to now (0 before it).
func sinceFirst(c *sendClock, now time.Time) time.Duration {
	if f := c.first.Load(); f != 0 {
		return now.Sub(time.Unix(0, f))
	}
	return 0
}

// checkSend compares the database with the fake's log: each message reached
// the provider exactly once, with its own number and body, and is recorded
// sent (or delivered) with the sid the provider gave.
func checkSend(ctx context.Context, sdb *sql.DB, fake *twiliotest.Server, res *sendResult) error {
	bySID := map[string]twiliotest.Request{}
	perNumber := map[string]int{}
	reqs := fake.Requests()
	res.AtProvider = int64(len(reqs))
	for _, r := range reqs {
		bySID[r.SID] = r
		if perNumber[r.To]++; perNumber[r.To] == 2 {
			res.Duplicated++
		}
	}
	rows, err := sdb.QueryContext(ctx, `SELECT phone, body, status, provider_id FROM messages WHERE direction = 'out'`)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	defer rows.Close()
	var delivered int64
	for rows.Next() {
		var ph, body, status, sid string
		if err := rows.Scan(&ph, &body, &status, &sid); err != nil {
			return fmt.Errorf("check: %w", err)
		}
		r, ok := bySID[sid]
		if (status != smsflow.MessageSent && status != smsflow.MessageDelivered) || !ok || r.To != ph || r.Body != body {
			res.Missing++
		}
		if status == smsflow.MessageDelivered {
			delivered++
		}
	}
	res.Delivered = delivered
	return rows.Err()
}
