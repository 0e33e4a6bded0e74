// Command smsflow is the composition root: it reads the configuration, opens
// the database and wires ingestion, the engine and the HTTP API together.
// Every subcommand is a function of (args, stdout, stderr) so tests can run
// the real thing in-process.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `smsflow — a self-hosted SMS workflow engine

Usage:
  smsflow serve    [--config FILE] [--addr HOST:PORT] [--db DSN] [--flows DIR]  run the server
  smsflow validate PATH...                                        check flow files (file:line:col: message)
  smsflow simulate --flows DIR --events FILE [--contacts FILE] [--json]  replay events on a virtual clock
  smsflow migrate  [--config FILE] [--db DSN]                      bring the schema up to date
  smsflow import contacts FILE [--config FILE] [--db DSN]          bulk import contacts (CSV or NDJSON)
  smsflow keys     [--config FILE] [--db DSN]                      print the API keys
  smsflow segments [--smart] [TEXT]                                encoding and segment count of a text (or stdin)
  smsflow flows archive ID [--config FILE] [--db DSN]             end a held file flow's (or an API flow's) runs
  smsflow report   FLOW [--from DATE] [--to DATE] [--csv|--json] [--db DSN]  a flow's measurement report
  smsflow bench broadcast [--db DSN] [--contacts 1000000] [--cpuprofile FILE]
  smsflow bench ingest [--db DSN] [--duration 30s] [--clients N] [--batch N]
  smsflow version

Settings come from smsflow.yaml (or --config), then SMSFLOW_* environment
variables, then flags. --db takes sqlite:PATH (default sqlite:./smsflow.db) or a
postgres:// URL.
`

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(ctx, args[1:], stdout, stderr)
	case "migrate":
		err = cmdMigrate(ctx, args[1:], stdout, stderr)
	case "import":
		err = cmdImport(ctx, args[1:], stdout, stderr)
	case "keys":
		err = cmdKeys(ctx, args[1:], stdout, stderr)
	case "validate":
		err = cmdValidate(ctx, args[1:], stdout, stderr)
	case "simulate":
		err = cmdSimulate(ctx, args[1:], stdout, stderr)
	case "segments":
		err = cmdSegments(ctx, args[1:], stdout, stderr, stdin)
	case "report":
		err = cmdReport(ctx, args[1:], stdout, stderr)
	case "flows":
		err = cmdFlows(ctx, args[1:], stdout, stderr)
	case "bench":
		err = cmdBench(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "smsflow", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "smsflow: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		if err == errUsage {
			return 2
		}
		fmt.Fprintln(stderr, "smsflow:", err)
		return 1
	}
	return 0
}
