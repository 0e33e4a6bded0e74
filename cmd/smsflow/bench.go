package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/smsflow/smsflow/bench"
	"github.com/smsflow/smsflow/config"
)

// The benchmarks live in package bench; `smsflow bench NAME` runs them with
// this command's app, flag parsing and logger (bench.Harness).

// benchCommand is a benchmark as an entry of the command table.
func benchCommand(run bench.Command) func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return run(ctx, benchHarness(), args, stdout, stderr)
	}
}

// benchHarness starts the app as serve does.
func benchHarness() bench.Harness {
	return bench.Harness{
		Start: func(ctx context.Context, cfg config.Config, log *slog.Logger, opts bench.AppOptions) (bench.App, error) {
			a, err := startAppWith(ctx, cfg, log, appOptions{HTTPClient: opts.HTTPClient, OnOutcome: opts.OnOutcome})
			if err != nil {
				return nil, err
			}
			return benchApp{a}, nil
		},
		ParseFlags: parseFlags,
		Logger:     newLogger,
	}
}

// benchApp is the app as the benchmarks see it.
type benchApp struct{ *app }

func (a benchApp) ServerKey() string { return a.keys.Server }

func (a benchApp) ActiveFlows() []string {
	var ids []string
	for _, c := range a.cat.Active() {
		ids = append(ids, c.ID)
	}
	return ids
}

func (a benchApp) InboxDepth(ctx context.Context) (int64, error) { return a.db.InboxDepth(ctx) }

func (a benchApp) IngestGroups() (groups, items int64) { return a.writer.Groups() }

func (a benchApp) ConsoleSent() int64 {
	if a.cons == nil {
		return 0
	}
	return a.cons.Sent()
}
