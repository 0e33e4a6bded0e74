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
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/ingest/segment"
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

// Line is one entry of the resulting timeline. Kind is a flow's step
// (enter, send, wait, skip, defer, cancel, exit, goal, error: engine.Trace),
// or one of the kinds simulate adds: reply (an automatic reply the provider
// sent; Reason is its step, "keyword:<class>"), consent (a ledger entry:
// Status and Source), refused (an input line the system refused: InputLine
// and Reason). Lines that belong to no flow leave Flow empty.
type Line struct {
	Time      string `json:"time"`
	LocalTime string `json:"local_time"`
	Contact   string `json:"contact"`
	Flow      string `json:"flow,omitempty"`
	Step      string `json:"step,omitempty"`
	Kind      string `json:"kind"`
	InputLine int    `json:"line,omitempty"`   // refused: the line number in the events file
	Status    string `json:"status,omitempty"` // consent: the status recorded
	Source    string `json:"source,omitempty"` // consent: where it came from
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

// input is one line of the events file. err is set when the line cannot be
// ingested as written (not JSON, no type, a bad time): it is refused at its
// instant — the start of the simulation when it has none — and the run goes
// on, as serve answers a bad item of a batch and stores the others.
type input struct {
	line int
	at   time.Time // when smsflow gets it: receivedAt, else timestamp
	ts   time.Time // timestamp, when it happened; zero when only receivedAt is given
	raw  map[string]any
	kind string
	err  error
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
	// The simulated period runs from the first input to the last (refused
	// lines with no usable time aside): daily schedules scan every day of it.
	start, end := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}
	for _, in := range inputs {
		if in.at.IsZero() {
			continue
		}
		if end.IsZero() {
			start = in.at
		}
		end = in.at
	}
	if end.IsZero() {
		end = start
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
	// The one rule for what the engine must see, as serve installs it.
	db.SetRelevant(cat.Relevant)
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
	tl := &timeline{ctx: ctx, db: db, clock: clk}
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
	eng.OnTrace = tl.trace
	sender := delivery.NewSender(db, console.New(log), clk, log)
	sender.OnOutcome = tl.outcome
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
	if err := tl.skipLedger(); err != nil {
		return nil, err
	}

	settle := func() error {
		for i := 0; i < 1_000_000; i++ {
			n, err := eng.RunOnce(ctx)
			if err != nil {
				return err
			}
			m, err := sender.SendOnce(ctx, delivery.SendBatch)
			if err != nil {
				return err
			}
			if n+m == 0 {
				return tl.consent() // a change the engine or the sender made (a carrier opt-out)
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
		if err := tl.input(in, feed(ctx, db, clk, writer, cfg, tl, in)); err != nil {
			return nil, fmt.Errorf("events line %d: %w", in.line, err)
		}
		if err := settle(); err != nil {
			return nil, err
		}
	}
	if err := runTimers(clk.Now().Add(opt.Horizon)); err != nil {
		return nil, err
	}
	if tl.err != nil {
		return nil, tl.err
	}
	return tl.lines, nil
}

func publicURL(cfg config.Config) string {
	if cfg.PublicURL != "" {
		return strings.TrimSuffix(cfg.PublicURL, "/")
	}
	return "https://sms.example"
}

// maxInputLine bounds one line of the events file. A longer line is
// refused without being held in memory (an event may be at most
// segment.MaxItemBytes anyway).
const maxInputLine = 1 << 20

// readEvents parses the NDJSON input in the order smsflow would get it: by
// receivedAt when a line has one, else by timestamp; lines of the same
// instant keep their order in the file. Lines without a usable time come
// first. Only a read error is an error; a bad line is an input to refuse.
func readEvents(r io.Reader) ([]input, error) {
	if r == nil {
		return nil, fmt.Errorf("give --events FILE")
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var out []input
	for n := 1; ; n++ {
		b, long, err := readLine(br, maxInputLine)
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("events line %d: %w", n, err)
		}
		switch t := bytes.TrimSpace(b); {
		case long:
			out = append(out, input{line: n, err: smsflow.Errorf(smsflow.ETOOLARGE, "the line is longer than %d bytes", maxInputLine)})
		case len(t) > 0 && t[0] != '#':
			out = append(out, parseInput(n, t))
		}
		if err == io.EOF {
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out, nil
}

// readLine reads one line, without keeping more than limit bytes of it:
// long reports a line cut short (its rest is read and dropped). err is
// io.EOF with the last line.
func readLine(br *bufio.Reader, limit int) (line []byte, long bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if long = long || len(line)+len(chunk) > limit; !long {
			line = append(line, chunk...)
		}
		if err != bufio.ErrBufferFull {
			return line, long, err
		}
	}
}

// parseInput reads one non-empty line: a JSON object with a "type" and a
// "timestamp" (RFC 3339), "receivedAt" (when smsflow got it) or both.
func parseInput(n int, b []byte) input {
	in := input{line: n}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&in.raw); err != nil || in.raw == nil {
		if err == nil {
			err = fmt.Errorf("it is null")
		}
		in.err = smsflow.Errorf(smsflow.EINVALID, "not a JSON object: %v", err)
		return in
	}
	if _, err := dec.Token(); err != io.EOF {
		in.err = smsflow.Errorf(smsflow.EINVALID, "more than one JSON value on the line (one event per line)")
		return in
	}
	ts, hasTS, tsErr := inputTime(in.raw, "timestamp")
	rcv, hasRcv, rcvErr := inputTime(in.raw, "receivedAt")
	in.ts, in.at = ts, ts
	if hasRcv {
		in.at = rcv
	}
	in.kind, _ = in.raw["type"].(string)
	switch {
	case in.kind == "":
		in.err = smsflow.FieldErrorf(smsflow.EINVALID, "type", "\"type\" is required (track, identify, page, alias, consent or inbound)")
	case tsErr != nil:
		in.err = tsErr
	case rcvErr != nil:
		in.err = rcvErr
	case !hasTS && !hasRcv:
		in.err = smsflow.FieldErrorf(smsflow.EINVALID, "timestamp", "\"timestamp\" is required (RFC 3339, like 2026-03-02T15:00:00Z)")
	}
	if in.err != nil && (tsErr != nil || rcvErr != nil) {
		in.ts, in.at = time.Time{}, time.Time{} // no time to trust: refused at the start
	}
	if _, ok := in.raw["messageId"]; !ok {
		in.raw["messageId"] = fmt.Sprintf("sim-%d", n)
	}
	return in
}

// inputTime reads an optional RFC 3339 field of an input line.
func inputTime(raw map[string]any, field string) (time.Time, bool, error) {
	v, ok := raw[field]
	if !ok || v == nil {
		return time.Time{}, false, nil
	}
	s, _ := v.(string)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, true, smsflow.FieldErrorf(smsflow.EINVALID, field, "%q must be RFC 3339 (like 2026-03-02T15:00:00Z), not %s", field, compactJSON(v))
	}
	return t.UTC(), true, nil
}

// compactJSON shows a value as it was written, bounded, for a message.
func compactJSON(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}

// feed ingests one input exactly as serve would. An *smsflow.Error whose
// code is not internal is the system refusing the line (the caller prints
// it and goes on); any other error stops the run.
func feed(ctx context.Context, db ingest.Store, clk *clock, w *ingest.Writer, cfg config.Config, tl *timeline, in input) error {
	if in.err != nil {
		return in.err
	}
	switch in.kind {
	case "consent":
		user, _ := in.raw["userId"].(string)
		status, _ := in.raw["status"].(string)
		source, _ := in.raw["source"].(string)
		if source == "" {
			source = "web_form"
		}
		// Evidence as written: serve refuses to resubscribe a number
		// that said STOP on an opt-in without any, and so does simulate.
		ev, ok := in.raw["evidence"].(map[string]any)
		if v := in.raw["evidence"]; v != nil && !ok {
			return smsflow.FieldErrorf(smsflow.EINVALID, "evidence", "\"evidence\" must be a JSON object (form URL, IP, disclosure text), not %s", compactJSON(v))
		}
		_, err := ingest.RecordConsent(ctx, db, clk, user, ingest.ConsentChange{Status: smsflow.ConsentStatus(status),
			Source: smsflow.ConsentSource(source), Evidence: ev, Timestamp: in.ts}, ingest.OptInOptionsFromConfig(cfg))
		return err
	case "inbound":
		from, _ := in.raw["from"].(string)
		body, _ := in.raw["body"].(string)
		res, err := ingest.Inbound(ctx, db, clk, from, body, ingest.InboundOptionsFromConfig(cfg, "console"))
		if err != nil {
			return err
		}
		tl.replyNotQueued(res)
		if res.ConsentRefused != "" {
			// The text is stored; the change it asked for is not.
			return smsflow.Errorf(smsflow.ECONFLICT, "%s", res.ConsentRefused)
		}
		return nil
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
	kind := t.Kind
	reason := t.Reason
	if kind == "goal" && t.HasValue {
		reason = fmt.Sprintf("%s(value=%g)", t.Reason, t.Value)
	}
	return Line{Time: t.Time.UTC().Format(time.RFC3339), LocalTime: localTime(t.Time, t.Timezone),
		Contact: t.ContactID, Flow: t.FlowID, Step: t.Step, Kind: kind, Body: t.Body, Reason: reason, Variant: t.Variant, Holdout: t.Holdout}, true
}

// WriteText prints the timeline for people: a consent line as
// `consent  subscribed (web_form)`, a refused one as `refused  line 7: why`,
// a reply as `reply  keyword:stop` with its text below, as a send's.
func WriteText(w io.Writer, lines []Line) error {
	bw := bufio.NewWriter(w)
	for _, l := range lines {
		fmt.Fprintf(bw, "%s  (%s)  %-12s %-16s %-7s", l.Time, l.LocalTime, l.Contact, l.Flow, l.Kind)
		switch l.Kind {
		case "consent":
			fmt.Fprintf(bw, " %s (%s)\n", l.Status, l.Source)
			continue
		case "refused":
			fmt.Fprintf(bw, " line %d: %s\n", l.InputLine, l.Reason)
			continue
		}
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
