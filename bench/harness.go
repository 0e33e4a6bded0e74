package bench

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net/http"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/config"
)

// Harness is what the command gives the benchmarks: how to start smsflow
// as `smsflow serve` does, and how every command parses its flags and logs,
// so that `smsflow bench NAME --help` and a bad flag behave as any
// command's do.
type Harness struct {
	// Start opens the database of cfg and starts serving, as serve does.
	Start func(ctx context.Context, cfg config.Config, log *slog.Logger, opts AppOptions) (App, error)
	// ParseFlags parses a benchmark's flags: a help request or a bad flag
	// comes back as the command's error (help, usage).
	ParseFlags func(fs *flag.FlagSet, args []string, stderr io.Writer) error
	// Logger is serve's logger for cfg (level, format, masked numbers).
	Logger func(w io.Writer, cfg config.Config) *slog.Logger
}

// App is a running smsflow, as much of it as the benchmarks look at.
type App interface {
	URL() string       // the base URL it serves on
	ServerKey() string // the key of trusted back ends (ingestion)
	// ActiveFlows are the ids of the flows that start runs.
	ActiveFlows() []string
	// InboxDepth is how many stored events the engine has yet to apply.
	InboxDepth(ctx context.Context) (int64, error)
	// ConsoleSent is how many messages the console provider took (0 with
	// another provider).
	ConsoleSent() int64
	// IngestGroups is how many group commits the ingest writer made and
	// how many items they carried (ingest.Writer.Groups).
	IngestGroups() (groups, items int64)
	Stop() // safe to call twice
}

// AppOptions are the parts of the app a benchmark replaces.
type AppOptions struct {
	// HTTPClient is the client of the HTTP providers (nil: their default).
	HTTPClient *http.Client
	// OnOutcome, when set, sees each message the sender recorded.
	OnOutcome func(smsflow.Message)
}

// Command is one benchmark as `smsflow bench NAME` runs it, with the
// arguments after its name.
type Command func(ctx context.Context, h Harness, args []string, stdout, stderr io.Writer) error

// logger is h's logger, or a plain one at cfg's level when the harness has
// none (the package's own tests).
func (h Harness) logger(w io.Writer, cfg config.Config) *slog.Logger {
	if h.Logger != nil {
		return h.Logger(w, cfg)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
