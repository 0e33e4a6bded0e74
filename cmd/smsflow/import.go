package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest"
)

// cmdImport runs `smsflow import contacts FILE`.
func cmdImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import contacts", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs)
	format := fs.String("format", "", "csv or ndjson (default: from the file extension: .csv, .ndjson, .jsonl, .json)")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	pos, err := parseArgs(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError(fs, stderr, "give one FILE: CSV with a header row, or NDJSON")
	}
	file := pos[0]
	if *format == "" {
		switch strings.ToLower(filepath.Ext(file)) {
		case ".csv":
			*format = "csv"
		case ".ndjson", ".jsonl", ".json":
			*format = "ndjson"
		default:
			return fmt.Errorf("cannot tell the format of %s from its extension; pass --format csv or --format ndjson", file)
		}
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg)
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	db, err := openDB(ctx, cfg.DB, log)
	if err != nil {
		return err
	}
	defer db.Close()
	bar := newProgress(stderr, "importing "+filepath.Base(file), size)
	im := &ingest.Importer{DB: db, Clock: smsflow.WallClock{}, Region: cfg.DefaultRegion, Progress: bar.update, Log: log}
	sum, err := im.Import(ctx, f, *format)
	bar.done(sum.Rows)
	if err != nil {
		return fmt.Errorf("import stopped after %d rows: %w (rows before it are stored; re-running the import is safe)", sum.Rows, err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			return err
		}
		return rejectedRows(sum)
	}
	fmt.Fprintf(stdout, "%d rows: %d imported, %d updated, %d unchanged, %d rejected\n", sum.Rows, sum.Imported, sum.Updated, sum.Unchanged, len(sum.Rejected))
	for _, r := range sum.Rejected {
		fmt.Fprintf(stdout, "  rejected line %d: %s\n", r.Line, r.Reason)
	}
	if len(sum.ConsentRefused) > 0 {
		fmt.Fprintf(stdout, "%d consent changes refused (contact data imported):\n", len(sum.ConsentRefused))
		for _, r := range sum.ConsentRefused {
			fmt.Fprintf(stdout, "  line %d: %s\n", r.Line, r.Reason)
		}
	}
	return rejectedRows(sum)
}

// rejectedRows makes an import with rejected rows exit 1 (after its summary),
// so a scheduled import that lost rows is noticed. A refused consent change
// is not a rejected row: the contact was imported, and the ledger's rule
// (an import never resubscribes an opted-out number) did its job.
func rejectedRows(sum ingest.ImportSummary) error {
	if n := len(sum.Rejected); n > 0 {
		return fmt.Errorf("%d of %d rows rejected (listed above); the others are stored, and re-running the import after fixing them is safe", n, sum.Rows)
	}
	return nil
}

// progress draws a one-line progress bar on a terminal, or a line every few
// seconds elsewhere (CI logs).
type progress struct {
	w       io.Writer
	label   string
	total   int64
	tty     bool
	start   time.Time
	last    time.Time
	printed bool
}

func newProgress(w io.Writer, label string, total int64) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil {
			tty = st.Mode()&os.ModeCharDevice != 0
		}
	}
	now := time.Now()
	return &progress{w: w, label: label, total: total, tty: tty, start: now, last: now}
}

func (p *progress) update(rows int, read int64) {
	now := time.Now()
	every := 5 * time.Second
	if p.tty {
		every = 200 * time.Millisecond
	}
	if now.Sub(p.last) < every {
		return
	}
	p.last = now
	p.draw(rows, read)
}

func (p *progress) draw(rows int, read int64) {
	rate := float64(rows) / max(time.Since(p.start).Seconds(), 1e-3)
	line := fmt.Sprintf("%s  %d rows  %.0f rows/s", p.label, rows, rate)
	if p.total > 0 {
		frac := min(float64(read)/float64(p.total), 1)
		const width = 30
		n := int(frac * width)
		line = fmt.Sprintf("%s [%s%s] %3.0f%%  %d rows  %.0f rows/s", p.label, strings.Repeat("#", n), strings.Repeat(".", width-n), frac*100, rows, rate)
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\033[K", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
	p.printed = true
}

func (p *progress) done(rows int) {
	p.draw(rows, p.total)
	if p.tty {
		fmt.Fprintln(p.w)
	}
}
