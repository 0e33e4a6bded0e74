package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
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

// `bench timers` puts many runs to sleep straight in the database and times
// how late the engine wakes them.

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
	// Engines is how many engine loops run (as FlowsOptions.Engines).
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

// timerContactID is the id of run i's contact.
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

// Timers is `smsflow bench timers`.
func Timers(ctx context.Context, h Harness, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench timers", flag.ContinueOnError)
	var o timersOptions
	fs.IntVar(&o.Runs, "runs", 1_000_000, "waiting runs to insert")
	fs.DurationVar(&o.Window, "window", 60*time.Second, "their timers are spread uniformly over this window")
	fs.DurationVar(&o.Lead, "lead", 5*time.Second, "the engine starts this long before the first timer is due")
	fs.DurationVar(&o.Timeout, "timeout", 15*time.Minute, "stop waiting for the last timers this long after the window ends")
	fs.IntVar(&o.Inserters, "inserters", 0, "goroutines inserting runs (default 1 on SQLite, 3 on PostgreSQL)")
	fs.BoolVar(&o.NoSend, "no-send", false, "the flow only waits (no message): measures the timers alone")
	cpu := fs.String("cpuprofile", "", "write a CPU profile of the firing phase to this `FILE`")
	if err := parseEngineFlags(h, fs, args, stderr, &o.DSN, &o.Engines); err != nil {
		return err
	}
	o.Progress, o.Log = stderr, stderr
	r, err := runTimersBench(ctx, h, o, *cpu)
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
func runTimersBench(ctx context.Context, h Harness, o timersOptions, cpuProfile string) (timersResult, error) {
	var res timersResult
	if o.Runs < 1 || o.Window <= 0 || o.Lead <= 0 || o.Timeout <= 0 {
		return res, fmt.Errorf("--runs, --window, --lead and --timeout must be positive")
	}
	res.Runs, res.Engines = o.Runs, max(o.Engines, 1)
	dsn, cleanup, err := freshDatabase(ctx, o.DSN, false)
	if err != nil {
		return res, err
	}
	defer cleanup()
	cfg := config.Default()
	cfg.LogLevel = "warn"
	log := h.logger(o.Log, cfg)
	db, err := openDB(ctx, dsn)
	if err != nil {
		return res, err
	}
	defer db.Close()
	src := benchTimerSource
	if o.NoSend {
		src, _, _ = strings.Cut(src, "  - id: notify")
	}
	dir, err := flowDir("smsflow-bench-timers-", "bench-timer.yaml", src)
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
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
	start := time.Now()
	err := inParallel(t.o.Runs, per, workers, 2*time.Second, func() {
		n := done.Load()
		fmt.Fprintf(t.o.Progress, "  inserted %d/%d runs (%.0f/s)\n", n, t.o.Runs, float64(n)/time.Since(start).Seconds())
	}, func(from int) error {
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
			return fmt.Errorf("insert runs %d…: %w", from, err)
		}
		done.Add(int64(min(per, t.o.Runs-from)))
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(t.o.Progress, "  inserted %d runs in %s\n", t.o.Runs, time.Since(start).Round(time.Millisecond))
	return nil
}
