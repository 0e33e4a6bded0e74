package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/simulate"
)

func cmdSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	flows := fs.String("flows", "", "the `DIR` of flow files to run")
	events := fs.String("events", "", "the `FILE` of the NDJSON event history (Segment-shaped, plus {\"type\":\"consent\",…} and {\"type\":\"inbound\",\"from\",\"body\",\"timestamp\"}; optional \"receivedAt\")")
	contacts := fs.String("contacts", "", "an NDJSON `FILE` of contacts, in the import format (optional)")
	cfgPath := fs.String("config", "", "configuration `FILE`: brand, governance, keywords (default ./smsflow.yaml if present)")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	switch {
	case *flows == "" || *events == "":
		return usageError(fs, stderr, "--flows and --events are required")
	case fs.NArg() > 0:
		return usageError(fs, stderr, "unexpected argument %q (the flows and the events are given with --flows and --events)", fs.Arg(0))
	}
	cfg, err := config.Load(*cfgPath, nil)
	if err != nil {
		return err
	}
	ev, err := os.Open(*events)
	if err != nil {
		return err
	}
	defer ev.Close()
	opt := simulate.Options{Flows: *flows, Events: ev, Config: cfg}
	if *contacts != "" {
		f, err := os.Open(*contacts)
		if err != nil {
			return err
		}
		defer f.Close()
		opt.Contacts = f
	}
	lines, err := simulate.Run(ctx, opt)
	if err != nil {
		return err
	}
	if *asJSON {
		err = simulate.WriteJSON(stdout, lines)
	} else {
		err = simulate.WriteText(stdout, lines)
	}
	if note := simulate.Note(lines); note != "" && err == nil {
		fmt.Fprintln(stderr, note) // stderr: the timeline on stdout stays one kind of line
	}
	return err
}
