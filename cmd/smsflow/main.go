// Command smsflow is the composition root: it reads the configuration, opens
// the database and wires ingestion, the engine and the HTTP API together.
// Every subcommand is a function of (args, stdout, stderr) so tests can run
// the real thing in-process.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command args name (the table in help.go) and returns the
// process exit code: 0 on success and for a help request (-h, --help), 1
// when the command failed, 2 on a usage error (the usage on stderr).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return exitCode(dispatch(ctx, args, stdout, stderr), stdout, stderr)
}
