package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/store"
)

// `smsflow bench pace` measures the pacing target (segments sent within 1%
// of a configured rate over at least 60 s): real senders — each with its own
// database handle, as separate `smsflow serve` processes would have — share
// one sender's rate through the database, on the wall clock, against a
// loopback provider that notes when each call starts. The outbox is seeded
// with more than the window can send (1–3 segments a message), so the rate
// is the only limit.

// paceOptions are bench pace's settings.
type paceOptions struct {
	DSN         string
	Rate        config.Rate
	Duration    time.Duration
	Senders     int
	Concurrency int
	MaxSegments int
	Warmup      time.Duration
}

// paceResult is one measured run.
type paceResult struct {
	Database  string
	Messages  int     // provider calls started in the window
	Segments  int     // their segments
	Achieved  float64 // segments per second, first to last start in the window
	Deviation float64 // (achieved − configured) / configured
	Peak1s    int     // the most segments started in any 1 s inside the window
	PerSender []int   // messages each sender started in the window
	Dups      int     // messages called more than once (must be 0)
	MaxWait   time.Duration
}

// Pace is `smsflow bench pace`.
func Pace(ctx context.Context, h Harness, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench pace", flag.ContinueOnError)
	o := paceOptions{}
	fs.StringVar(&o.DSN, "db", "", "database `DSN` (default: a fresh SQLite file; for PostgreSQL a fresh schema inside the given database)")
	rate := fs.String("rate", "100/s", "the sender's rate in segments (N/s, N/m, N/h)")
	fs.DurationVar(&o.Duration, "duration", 60*time.Second, "the measured window (the pacing target is within 1% over at least 60 s)")
	fs.IntVar(&o.Senders, "senders", 2, "senders sharing the rate, each with its own database handle (as separate nodes)")
	fs.IntVar(&o.Concurrency, "concurrency", delivery.DefaultConcurrency, "provider calls in flight per sender")
	fs.IntVar(&o.MaxSegments, "max-segments", 3, "seeded messages have 1 to this many segments")
	fs.DurationVar(&o.Warmup, "warmup", 2*time.Second, "not measured: from the first provider call to the window's start")
	if err := h.ParseFlags(fs, args, stderr); err != nil {
		return err
	}
	r, err := config.ParseRate("--rate", *rate)
	if err != nil {
		return errors.New(plainMessage(err)) // as a command says a bad flag value
	}
	if r.IsZero() || o.Duration < time.Second || o.Warmup < 0 || o.Senders < 1 || o.Concurrency < 1 || o.MaxSegments < 1 {
		return fmt.Errorf("--rate must be set, --duration at least 1s, --senders, --concurrency and --max-segments at least 1")
	}
	o.Rate = r
	res, err := runPaceBench(ctx, o, stderr)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "database\tsenders\trate\twarm-up\twindow\tmessages\tsegments\tachieved seg/s\tdeviation\tpeak seg in 1 s\tper sender\tduplicates\t\n")
	per := make([]string, len(res.PerSender))
	for i, n := range res.PerSender {
		per[i] = fmt.Sprint(n)
	}
	fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\t%d\t%.3f\t%+.3f%%\t%d\t%s\t%d\t\n", res.Database, o.Senders, o.Rate, o.Warmup, o.Duration, res.Messages, res.Segments,
		res.Achieved, 100*res.Deviation, res.Peak1s, strings.Join(per, "/"), res.Dups)
	if err := tw.Flush(); err != nil {
		return err
	}
	verdict := "within"
	if math.Abs(res.Deviation) > 0.01 {
		verdict = "NOT within"
	}
	fmt.Fprintf(stdout, "%s 1%% of %s over %s (the pacing target); longest wait for a slot %s\n", verdict, o.Rate, o.Duration, res.MaxWait.Round(time.Millisecond))
	return nil
}

// paceCall is one provider call the loopback provider saw.
type paceCall struct {
	at       time.Time
	id       int64
	segments int
	sender   int
}

// paceProvider is the loopback provider: it accepts at once and notes the
// call.
type paceProvider struct {
	sender int
	mu     *sync.Mutex
	calls  *[]paceCall
}

func (p paceProvider) Name() string { return "loopback" }

func (p paceProvider) Send(_ context.Context, m *smsflow.Message) (provider.Result, error) {
	at := time.Now()
	p.mu.Lock()
	*p.calls = append(*p.calls, paceCall{at: at, id: m.ID, segments: max(1, m.Segments), sender: p.sender})
	p.mu.Unlock()
	return provider.Result{ProviderID: fmt.Sprintf("loop-%d", m.ID), Status: smsflow.MessageSent}, nil
}

func runPaceBench(ctx context.Context, o paceOptions, progress io.Writer) (paceResult, error) {
	dsn, cleanup, err := freshDatabase(ctx, o.DSN, false)
	if err != nil {
		return paceResult{}, err
	}
	defer cleanup()
	res := paceResult{Database: store.Scheme(dsn), PerSender: make([]int, o.Senders)}
	log := slog.New(slog.NewTextHandler(progress, &slog.HandlerOptions{Level: slog.LevelWarn}))
	seedDB, err := openDB(ctx, dsn)
	if err != nil {
		return res, err
	}
	// Enough for the window with a margin: the outbox must never run dry.
	perSec := o.Rate.PerSecond()
	avgSegments := float64(1+o.MaxSegments) / 2
	n := int(perSec*(o.Warmup.Seconds()+o.Duration.Seconds()+10)*1.2/avgSegments) + 100
	fmt.Fprintf(progress, "bench pace: %s, %d sender(s) sharing %s, seeding %d queued messages of 1–%d segments\n", res.Database, o.Senders, o.Rate, n, o.MaxSegments)
	if err := seedPaceOutbox(ctx, seedDB, n, o.MaxSegments); err != nil {
		seedDB.Close()
		return res, err
	}
	seedDB.Close()

	var (
		mu    sync.Mutex
		calls []paceCall
		wmu   sync.Mutex
	)
	pacing := delivery.Pacing{Sender: "loopback:bench", Segments: o.Rate.Segments, Per: o.Rate.Per}
	var senders []*delivery.Sender
	stopAll := func() {
		for _, s := range senders {
			s.Stop()
		}
	}
	var dbs []*store.DB
	defer func() {
		stopAll()
		for _, db := range dbs {
			db.Close()
		}
	}()
	for i := range o.Senders {
		db, err := openDB(ctx, dsn)
		if err != nil {
			return res, err
		}
		dbs = append(dbs, db)
		s := delivery.NewSender(db, paceProvider{sender: i, mu: &mu, calls: &calls}, smsflow.WallClock{}, log)
		s.Pacing, s.Concurrency = pacing, o.Concurrency
		s.OnPacingWait = func(d time.Duration) {
			wmu.Lock()
			res.MaxWait = max(res.MaxWait, d)
			wmu.Unlock()
		}
		senders = append(senders, s)
	}
	for _, s := range senders {
		if err := s.Start(ctx); err != nil {
			return res, err
		}
	}
	// The window starts Warmup after the first call and lasts Duration; the
	// senders run a little past it so the window's end is not a stop.
	var t0 time.Time
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	lastReport := time.Now()
	for {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-tick.C:
		}
		mu.Lock()
		if t0.IsZero() && len(calls) > 0 {
			t0 = calls[0].at
			for _, c := range calls {
				if c.at.Before(t0) {
					t0 = c.at
				}
			}
		}
		segs := 0
		for _, c := range calls {
			segs += c.segments
		}
		mu.Unlock()
		if t0.IsZero() {
			continue
		}
		if time.Since(lastReport) >= 5*time.Second {
			lastReport = time.Now()
			el := time.Since(t0)
			fmt.Fprintf(progress, "  %5.1fs  %d segments  %.2f seg/s\n", el.Seconds(), segs, float64(segs)/el.Seconds())
		}
		if time.Since(t0) >= o.Warmup+o.Duration+500*time.Millisecond {
			break
		}
	}
	stopAll()

	mu.Lock()
	defer mu.Unlock()
	t0 = t0.Add(o.Warmup)
	end := t0.Add(o.Duration)
	seen := map[int64]int{}
	var in []paceCall
	for _, c := range calls {
		seen[c.id]++
		if !c.at.Before(t0) && c.at.Before(end) {
			in = append(in, c)
		}
	}
	for _, k := range seen {
		if k > 1 {
			res.Dups++
		}
	}
	sort.Slice(in, func(i, j int) bool { return in[i].at.Before(in[j].at) })
	for _, c := range in {
		res.Messages++
		res.Segments += c.segments
		res.PerSender[c.sender]++
	}
	if len(in) < 2 {
		return res, errors.New("fewer than two provider calls in the window: the senders sent (almost) nothing")
	}
	// The rate is the segments from the first start to the last one over
	// that time (the last message's segments take their time after it), so
	// a message cut by the window's edge does not count as a deviation.
	first, last := in[0], in[len(in)-1]
	res.Achieved = float64(res.Segments-last.segments) / last.at.Sub(first.at).Seconds()
	res.Deviation = (res.Achieved - perSec) / perSec
	// The busiest second: a window sliding over the call starts.
	j, inWin := 0, 0
	for i := range in {
		inWin += in[i].segments
		for in[i].at.Sub(in[j].at) >= time.Second {
			inWin -= in[j].segments
			j++
		}
		res.Peak1s = max(res.Peak1s, inWin)
	}
	return res, nil
}

// seedPaceOutbox queues n outbound messages (no run: nothing to recheck but
// the number) of 1 to maxSegments segments, in transactions of 1000.
func seedPaceOutbox(ctx context.Context, db *store.DB, n, maxSegments int) error {
	now := time.Now().UTC()
	for done := 0; done < n; {
		k := min(1000, n-done)
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			for i := range k {
				seg := 1 + rand.IntN(maxSegments)
				phone := fmt.Sprintf("+1415%07d", done+i)
				m := &smsflow.Message{Direction: "out", FlowID: "bench-pace", ContactID: "bench-pace-" + phone, Phone: phone,
					Body: strings.Repeat("x", 153*seg), Encoding: "GSM-7", Characters: 153 * seg, Segments: seg,
					Status: smsflow.MessageQueued, CreatedAt: now, UpdatedAt: now}
				if _, err := tx.InsertMessage(m); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("seed the outbox: %w", err)
		}
		done += k
	}
	return nil
}

// plainMessage is an error's words for people, without its code.
func plainMessage(err error) string {
	var e *smsflow.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}
