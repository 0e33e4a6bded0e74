package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/store"
)

// enteredWindow is the window of the entries `smsflow flows` counts.
const enteredWindow = 7 * 24 * time.Hour

// flowRow is one flow as `smsflow flows` lists it; its JSON names are those
// of GET /v1/flows, plus entered_7d.
type flowRow struct {
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Version int    `json:"version"`
	// Status is active, paused, held or archived, as a server with this
	// configuration's provider sees it now.
	Status     string   `json:"status"`
	HeldReason string   `json:"held_reason,omitempty"`
	LoadedBy   []string `json:"loaded_by,omitempty"`
	Origin     string   `json:"origin"`
	File       string   `json:"file,omitempty"`
	UpdatedAt  string   `json:"updated_at"`
	// Entered7d counts the runs that entered the flow in the last 7 days
	// (every version, holdout included).
	Entered7d int64 `json:"entered_7d"`
}

// cmdFlows lists the flows of a database (`smsflow flows`).
func cmdFlows(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flows", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs)
	status := fs.String("status", "", "list only the flows with this `STATUS`: active, paused, held or archived (default: all)")
	asJSON := fs.Bool("json", false, `print {"since": …, "flows": [{"id", "name", "version", "status", "held_reason", "origin", "file", "entered_7d", …}]}`)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fs, stderr, "unexpected argument %q (subcommands: archive)", fs.Arg(0))
	}
	switch *status {
	case "", engine.FlowActive, engine.FlowPaused, engine.FlowHeld, engine.FlowArchived:
	default:
		return usageError(fs, stderr, "--status must be active, paused, held or archived, not %q", *status)
	}
	cfg, db, err := cf.openExisting(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	clock := smsflow.WallClock{}
	now := clock.Now()
	// Held is decided as a node with this configuration's provider would
	// decide it, counting the loads of the live nodes (this command is no
	// node: it loads nothing).
	cat := engine.NewCatalogWith(db, engine.CatalogOptions{Clock: clock, Provider: strings.TrimSpace(cfg.Provider)})
	if err := cat.Load(ctx); err != nil {
		return err
	}
	since := now.Add(-enteredWindow)
	entered, err := db.FlowEntries(ctx, since)
	if err != nil {
		return err
	}
	rows := []flowRow{}
	for _, h := range cat.Heads() {
		if *status != "" && h.Status != *status {
			continue
		}
		r := flowRow{ID: h.ID, Version: h.Version, Status: h.Status, HeldReason: cat.HeldReason(h.ID), Origin: h.Origin, File: h.File,
			UpdatedAt: h.UpdatedAt.UTC().Format(time.RFC3339), Entered7d: entered[h.ID]}
		if h.Origin != engine.OriginAPI && h.Status != engine.FlowArchived {
			r.LoadedBy = cat.LoadedBy(h.ID)
		}
		if comp, ok := cat.Peek(h.ID, h.Version); ok {
			r.Name = comp.Name
		}
		rows = append(rows, r)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(map[string]any{"since": since.UTC().Format(time.RFC3339), "flows": rows})
	}
	if len(rows) == 0 {
		if *status != "" {
			fmt.Fprintf(stdout, "no %s flows in %s\n", *status, store.RedactDSN(cfg.DB))
		} else {
			fmt.Fprintf(stdout, "no flows in %s (serve loads ./flows, --flows or the bundled examples; PUT /v1/flows/{id} adds one)\n", store.RedactDSN(cfg.DB))
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tVERSION\tSTATUS\tORIGIN\tENTERED 7D\tNAME")
	for _, r := range rows {
		st := r.Status
		if r.HeldReason != "" {
			st += " (" + r.HeldReason + ")"
		}
		origin := r.Origin
		if r.File != "" && r.Origin == engine.OriginFile {
			origin += " " + r.File
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\n", r.ID, r.Version, st, origin, r.Entered7d, r.Name)
	}
	return tw.Flush()
}

// cmdFlowsArchive archives a flow as DELETE /v1/flows/{id} does, deciding
// what is held the way a node with this configuration's provider would (a
// bundled example is held unless it is console) and seeing the loads of the
// live nodes.
func cmdFlowsArchive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flows archive", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs)
	pos, err := parseArgs(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError(fs, stderr, "give one flow ID (`smsflow flows` lists them)")
	}
	id := pos[0]
	// Archiving needs an existing smsflow database: it never creates one.
	cfg, db, err := cf.openExisting(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	clock := smsflow.WallClock{}
	cat := engine.NewCatalogWith(db, engine.CatalogOptions{Clock: clock, Provider: strings.TrimSpace(cfg.Provider)})
	res, err := cat.Archive(ctx, id, clock.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "archived flow %s: %d run(s) ended (exit reason flow_archived), %d queued message(s) canceled (canceled:flow_archived); its reports stay\n",
		id, res.Runs, res.Messages)
	return nil
}
