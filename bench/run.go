package bench

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/store"
)

// benchRun is what bench send and bench broadcast share: where they run,
// how long they may, and what they report along the way.
type benchRun struct {
	DSN        string        // "" means a fresh SQLite file
	Timeout    time.Duration // give up (and report what was done) after this long
	Keep       bool          // keep the PostgreSQL schema / SQLite file
	CPUProfile string        // write a CPU profile of the measured phase here
	Progress   io.Writer     // progress lines (stderr)
	Every      time.Duration // how often a progress line is written
	Log        io.Writer     // the app's warnings and errors
}

// flags registers the shared flags; measured names the phase a CPU profile
// covers, from the moment the timeout counts.
func (o *benchRun) flags(fs *flag.FlagSet, measured, from string) {
	fs.StringVar(&o.DSN, "db", "", "database `DSN` (default: a fresh SQLite file in a temporary directory; a postgres:// URL gets a fresh schema, dropped afterwards, unless it sets search_path)")
	fs.DurationVar(&o.Timeout, "timeout", 30*time.Minute, "stop and report after this long"+from)
	fs.BoolVar(&o.Keep, "keep", false, "keep the database (SQLite file or PostgreSQL schema) afterwards")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of "+measured+" to this `FILE`")
	fs.DurationVar(&o.Every, "progress", 5*time.Second, "interval of the progress lines on stderr")
}

// defaults fills in what options built without the flags (the package's
// tests) leave out: no progress, no log, a line every 5 s.
func (o *benchRun) defaults() {
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Every <= 0 {
		o.Every = 5 * time.Second
	}
}

// appConfig is the configuration of the app a benchmark starts on dsn: on
// loopback, logging warnings and errors only.
func appConfig(dsn string) config.Config {
	cfg := config.Default()
	cfg.DB, cfg.Addr, cfg.LogLevel = dsn, "127.0.0.1:0", "warn"
	return cfg
}

// openEmpty opens and migrates the database dsn and makes sure it holds no
// rows of what (count says how many it does): a benchmark's figures and
// checks count every row.
func openEmpty(ctx context.Context, dsn, what string, count func(*store.DB) (int64, error)) (*store.DB, error) {
	db, err := openDB(ctx, dsn)
	if err != nil {
		return nil, err
	}
	n, err := count(db)
	if err != nil {
		db.Close()
		return nil, err
	}
	if n > 0 {
		db.Close()
		return nil, fmt.Errorf("%s already holds %d %s: give an empty database (or none, for a fresh one)", store.RedactDSN(dsn), n, what)
	}
	return db, nil
}

// startMeasured starts the app once the data is prepared, measuring the app
// and not the preparation: the preparation's garbage is dropped, the peak
// RSS starts again from here and the CPU profile (if asked for) starts.
// stop stops the app, then the profile; it is safe to call twice.
func (o *benchRun) startMeasured(ctx context.Context, h Harness, cfg config.Config, opts AppOptions, prepared string) (a App, stop func(), err error) {
	runtime.GC()
	debug.FreeOSMemory()
	if !resetPeakRSS() {
		fmt.Fprintf(o.Progress, "  (cannot reset the peak RSS: it includes the %s)\n", prepared)
	}
	stopProfile, err := startCPUProfile(o.CPUProfile)
	if err != nil {
		return nil, nil, err
	}
	a, err = h.Start(ctx, cfg, h.logger(o.Log, cfg), opts)
	if err != nil {
		stopProfile()
		return nil, nil, err
	}
	return a, sync.OnceFunc(func() { a.Stop(); stopProfile() }), nil
}

// parseEngineFlags parses the flags of bench flows or bench timers, adding
// the two they share (the database, the engine loops), and resolves the
// engine loops: --engines, else serve's default for the database.
func parseEngineFlags(h Harness, fs *flag.FlagSet, args []string, stderr io.Writer, dsn *string, engines *int) error {
	fs.StringVar(dsn, "db", "", "database `DSN` (default: a fresh SQLite file; postgres:// runs in a fresh schema, dropped afterwards)")
	fs.IntVar(engines, "engines", 0, "engine loops, as config engine_workers (default: serve's, 2 on PostgreSQL and 1 on SQLite)")
	if err := h.ParseFlags(fs, args, stderr); err != nil {
		return err
	}
	var err error
	*engines, err = benchWorkers(*dsn, *engines)
	return err
}

// perSecond is n per second of d (0 for no time).
func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
