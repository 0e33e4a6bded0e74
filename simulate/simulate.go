// Package simulate replays an event history through the real engine on a
// virtual clock: the same catalog, entry rules, interpreter, policy check,
// outbox and console provider as `serve`, on a throw-away SQLite database.
// Weeks of virtual time run in seconds, and the same input always gives the
// same timeline.
package simulate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/smsflow/smsflow"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/ingest/segment"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/provider/console"
	"github.com/smsflow/smsflow/store"
	_ "github.com/smsflow/smsflow/store/sqlite" // the simulation database
)

// Options say what to simulate.
type Options struct {
	Flows    string // directory of flow files (or use FlowsFS)
	FlowsFS  fs.FS
	Events   io.Reader // NDJSON, Segment-shaped, plus {"type":"inbound","from","body","timestamp"}
	Contacts io.Reader // optional NDJSON in the import format
	Config   config.Config
	// Horizon bounds how long after the last event timers keep running
	// (default 400 days). Daily schedules (local segments at HH:MM, date
	// triggers) scan every day from the first input line's day to the last
	// one's; after it, runs already started play out.
	Horizon time.Duration
}

// Line is one entry of the resulting timeline.
type Line struct {
	Time      string `json:"time"`
	LocalTime string `json:"local_time"`
	Contact   string `json:"contact"`
	Flow      string `json:"flow"`
	Step      string `json:"step,omitempty"`
	Kind      string `json:"kind"`
	Body      string `json:"body,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Variant   string `json:"variant,omitempty"`
	Holdout   bool   `json:"holdout,omitempty"`
}

// clock is the virtual clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) {
	c.mu.Lock()
	if t.After(c.t) {
		c.t = t
	}
	c.mu.Unlock()
}

// input is one parsed line of the events file.
type input struct {
	line  int
	at    time.Time
	raw   map[string]any
	kind  string
	order int
}

// Run simulates and returns the timeline in time order.
func Run(ctx context.Context, opt Options) ([]Line, error) {
	if opt.Horizon == 0 {
		opt.Horizon = 400 * 24 * time.Hour
	}
	inputs, err := readEvents(opt.Events)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "smsflow-simulate-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	db, err := store.Open("sqlite:" + filepath.Join(dir, "sim.db"))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return nil, err
	}
	start := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start // the simulated period: daily schedules scan every day of it
	if len(inputs) > 0 {
		start, end = inputs[0].at, inputs[len(inputs)-1].at
	}
	clk := &clock{t: start}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cat := engine.NewCatalog(db)
	switch {
	case opt.FlowsFS != nil:
		_, err = cat.LoadFS(ctx, opt.FlowsFS, start)
	case opt.Flows != "":
		if st, serr := os.Stat(opt.Flows); serr != nil || !st.IsDir() {
			return nil, fmt.Errorf("--flows %s is not a directory", opt.Flows)
		}
		_, err = cat.LoadDir(ctx, opt.Flows, start)
	default:
		err = fmt.Errorf("give --flows DIR")
	}
	if err != nil {
		return nil, err
	}
	cfg := opt.Config
	maxAge, err := flow.ParseDuration(cfg.TriggerMaxAge)
	if err != nil {
		return nil, fmt.Errorf("trigger_max_age: %w", err)
	}
	if err := cfg.Check(); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	pol, err := cfg.Policy()
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	codes := 0
	var lines []Line
	eng := engine.New(db, cat, clk, log, engine.Config{
		Brand: map[string]any{"name": cfg.Brand.Name, "help": cfg.Brand.Help}, PublicURL: publicURL(cfg), Provider: "console",
		TriggerMaxAge: maxAge,
		Policy:        &pol,
		LinkUTM:       cfg.Links.UTM,
		Footer:        cfg.Brand.Footer,
		SmartEncoding: cfg.SmartEncoding,
		NewLinkCode:   func() string { codes++; return fmt.Sprintf("s%06d", codes) },
		ScheduleUntil: end,
	})
	eng.OnTrace = func(t engine.Trace) {
		if l, ok := toLine(t); ok {
			lines = append(lines, l)
		}
	}
	sender := engine.NewSender(db, console.New(log), clk, log)
	writer := ingest.NewWriter(db, clk, log)
	writer.Start()
	defer writer.Stop()

	if opt.Contacts != nil {
		im := &ingest.Importer{DB: db, Clock: clk, Region: cfg.DefaultRegion}
		sum, err := im.Import(ctx, opt.Contacts, "ndjson")
		if err != nil {
			return nil, fmt.Errorf("--contacts: %w", err)
		}
		if len(sum.Rejected) > 0 {
			r := sum.Rejected[0]
			return nil, fmt.Errorf("--contacts line %d: %s", r.Line, r.Reason)
		}
	}

	settle := func() error {
		for i := 0; i < 1_000_000; i++ {
			n, err := eng.RunOnce(ctx)
			if err != nil {
				return err
			}
			m, err := sender.SendOnce(ctx, engine.SendBatch)
			if err != nil {
				return err
			}
			if n+m == 0 {
				return nil
			}
		}
		return fmt.Errorf("the simulation does not settle")
	}
	// runTimers fires every timer due up to until, each at its own instant.
	runTimers := func(until time.Time) error {
		for {
			next, err := db.NextWake(ctx)
			if err != nil {
				return err
			}
			if next.IsZero() || next.After(until) {
				return nil
			}
			clk.set(next)
			if err := settle(); err != nil {
				return err
			}
		}
	}
	for _, in := range inputs {
		if err := runTimers(in.at); err != nil {
			return nil, err
		}
		clk.set(in.at)
		if err := feed(ctx, db, clk, writer, cfg, in); err != nil {
			return nil, fmt.Errorf("events line %d: %w", in.line, err)
		}
		if err := settle(); err != nil {
			return nil, err
		}
	}
	if err := runTimers(clk.Now().Add(opt.Horizon)); err != nil {
		return nil, err
	}
	return lines, nil
}

func publicURL(cfg config.Config) string {
	if cfg.PublicURL != "" {
		return strings.TrimSuffix(cfg.PublicURL, "/")
	}
	return "https://sms.example"
}

// readEvents parses the NDJSON input, sorted by timestamp (stable).
func readEvents(r io.Reader) ([]input, error) {
	if r == nil {
		return nil, fmt.Errorf("give --events FILE")
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var out []input
	n := 0
	for sc.Scan() {
		n++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 || b[0] == '#' {
			continue
		}
		var raw map[string]any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("events line %d: not a JSON object: %v", n, err)
		}
		kind, _ := raw["type"].(string)
		if kind == "" {
			return nil, fmt.Errorf("events line %d: \"type\" is required (track, identify, page, alias, consent or inbound)", n)
		}
		ts, _ := raw["timestamp"].(string)
		at, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return nil, fmt.Errorf("events line %d: \"timestamp\" must be RFC 3339 (like 2026-03-02T15:00:00Z): %q", n, ts)
		}
		if _, ok := raw["messageId"]; !ok {
			raw["messageId"] = fmt.Sprintf("sim-%d", n)
		}
		out = append(out, input{line: n, at: at.UTC(), raw: raw, kind: kind, order: len(out)})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out, nil
}

// feed ingests one input exactly as serve would.
func feed(ctx context.Context, db *store.DB, clk *clock, w *ingest.Writer, cfg config.Config, in input) error {
	if in.kind == "consent" {
		user, _ := in.raw["userId"].(string)
		status, _ := in.raw["status"].(string)
		source, _ := in.raw["source"].(string)
		if source == "" {
			source = "web_form"
		}
		ev, _ := in.raw["evidence"].(map[string]any)
		if ev == nil {
			ev = map[string]any{"simulated": true}
		}
		_, err := ingest.RecordConsent(ctx, db, clk, user, ingest.ConsentChange{Status: smsflow.ConsentStatus(status),
			Source: smsflow.ConsentSource(source), Evidence: ev, Timestamp: in.at})
		return err
	}
	if in.kind == "inbound" {
		from, _ := in.raw["from"].(string)
		body, _ := in.raw["body"].(string)
		_, err := ingest.Inbound(ctx, db, clk, from, body, ingest.InboundOptionsFromConfig(cfg, "console"))
		return err
	}
	b, _ := json.Marshal(in.raw)
	msg, err := segment.ParseOne(in.kind, b, in.at)
	if err != nil {
		return err
	}
	it, err := ingest.FromSegment(msg, cfg.DefaultRegion)
	if err != nil {
		return err
	}
	res, err := w.Submit(ctx, []*ingest.Item{it})
	if err != nil {
		return err
	}
	return res[0].Err
}

// toLine turns a trace into a timeline line; split traces and resumptions
// of waits are internal and left out.
func toLine(t engine.Trace) (Line, bool) {
	if t.Kind == "split" || (t.Kind == "wait" && strings.HasPrefix(t.Reason, "resumed:")) {
		return Line{}, false
	}
	local := t.Time
	if loc, err := policy.LoadZone(t.Timezone); err == nil {
		local = t.Time.In(loc)
	}
	kind := t.Kind
	reason := t.Reason
	if kind == "goal" && t.HasValue {
		reason = fmt.Sprintf("%s(value=%g)", t.Reason, t.Value)
	}
	return Line{Time: t.Time.UTC().Format(time.RFC3339), LocalTime: local.Format("2006-01-02T15:04:05-07:00 MST"),
		Contact: t.ContactID, Flow: t.FlowID, Step: t.Step, Kind: kind, Body: t.Body, Reason: reason, Variant: t.Variant, Holdout: t.Holdout}, true
}

// WriteText prints the timeline for people.
func WriteText(w io.Writer, lines []Line) error {
	bw := bufio.NewWriter(w)
	for _, l := range lines {
		fmt.Fprintf(bw, "%s  (%s)  %-12s %-16s %-6s", l.Time, l.LocalTime, l.Contact, l.Flow, l.Kind)
		if l.Step != "" {
			fmt.Fprintf(bw, " %s", l.Step)
		}
		if l.Reason != "" {
			fmt.Fprintf(bw, "  %s", l.Reason)
		}
		if l.Variant != "" {
			fmt.Fprintf(bw, "  variant=%s", l.Variant)
		}
		if l.Holdout {
			fmt.Fprint(bw, "  [holdout]")
		}
		if l.Body != "" {
			fmt.Fprintf(bw, "\n      %q", l.Body)
		}
		fmt.Fprintln(bw)
	}
	return bw.Flush()
}

// WriteJSON prints one JSON object per line.
func WriteJSON(w io.Writer, lines []Line) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			return err
		}
	}
	return nil
}
