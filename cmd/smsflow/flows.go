package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/engine"
)

const flowsUsage = `usage: smsflow flows archive ID [--config FILE] [--db DSN]
  archive   end a held file flow or an API flow: its runs end (exit reason
            flow_archived), its queued messages are canceled
            (canceled:flow_archived), its reports stay. A file flow that a
            live node has loaded is refused: remove its file first.`

// cmdFlows runs `smsflow flows SUBCOMMAND` (archive; more subcommands
// share this entry point).
func cmdFlows(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, flowsUsage)
		return errUsage
	}
	switch args[0] {
	case "archive":
		return cmdFlowsArchive(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, flowsUsage)
		return nil
	}
	fmt.Fprintf(stderr, "smsflow flows: unknown subcommand %q\n%s\n", args[0], flowsUsage)
	return errUsage
}

// cmdFlowsArchive archives a flow as DELETE /v1/flows/{id} does, deciding
// what is held the way a node with this configuration's provider would (a
// bundled example is held unless it is console) and seeing the loads of the
// live nodes.
func cmdFlowsArchive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flows archive", flag.ContinueOnError)
	var cf commonFlags
	cf.register(fs)
	fs.Usage = func() { fmt.Fprintln(stderr, flowsUsage); fs.PrintDefaults() }
	// Accept flags before or after ID.
	var id string
	rest := args
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		id, rest = rest[0], rest[1:]
	}
	if err := parseFlags(fs, rest, stderr); err != nil {
		return err
	}
	if id == "" && fs.NArg() > 0 {
		id = fs.Arg(0)
	}
	if id == "" || fs.NArg() > 1 {
		fmt.Fprintln(stderr, flowsUsage)
		return errUsage
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	// Archiving needs an existing smsflow database: it never creates one.
	db, err := openExisting(ctx, cfg.DB)
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
