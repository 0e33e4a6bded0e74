package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/smsflow/smsflow/api"
	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/store"
	_ "github.com/smsflow/smsflow/store/postgres"
	_ "github.com/smsflow/smsflow/store/sqlite"
)

var errUsage = errors.New("usage")

// commonFlags are the flags every database-using command takes.
type commonFlags struct {
	config string
	db     string
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.config, "config", "", "configuration `FILE` (default ./smsflow.yaml if present)")
	fs.StringVar(&c.db, "db", "", "the database `DSN`: sqlite:PATH or a postgres:// URL (default: db in the configuration, else sqlite:./smsflow.db)")
}

// loadConfig reads the configuration and applies the common flags.
func (c *commonFlags) load() (config.Config, error) {
	cfg, err := config.Load(c.config, os.Environ())
	if err != nil {
		return cfg, err
	}
	if c.db != "" {
		cfg.DB = c.db
	}
	return cfg, nil
}

// openDB opens and migrates the configured database.
func openDB(ctx context.Context, dsn string, log *slog.Logger) (*store.DB, error) {
	db, err := store.Open(dsn)
	if err != nil {
		return nil, err
	}
	return migrated(ctx, db, dsn, log)
}

// openServing is openDB for a server: on a database that keeps a
// clean-shutdown mark (SQLite), a server that finds none — the last one
// crashed, was killed, or lost power — checks the file (PRAGMA quick_check)
// before it migrates or serves anything, and refuses to start on a damaged
// one, saying how to recover. A server that started removes the mark; its
// clean stop writes it again (app.Stop).
func openServing(ctx context.Context, dsn string, log *slog.Logger) (*store.DB, error) {
	db, err := store.Open(dsn)
	if err != nil {
		return nil, err
	}
	if db.ChecksIntegrity() {
		if none, _, err := db.SchemaState(ctx); err != nil || !none { // a new, empty database needs no check
			if !db.ShutDownCleanly(ctx) {
				if err := checkAfterCrash(ctx, db, dsn, log); err != nil {
					db.Close()
					return nil, err
				}
			}
		}
	}
	if db, err = migrated(ctx, db, dsn, log); err != nil {
		return nil, err
	}
	if db.ChecksIntegrity() {
		if err := db.ClearCleanShutdown(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("clear the clean-shutdown mark: %w", err)
		}
	}
	return db, nil
}

// checkAfterCrash runs the database's quick check and turns problems into an
// error that says what to do.
func checkAfterCrash(ctx context.Context, db *store.DB, dsn string, log *slog.Logger) error {
	log.Warn("the database was not shut down cleanly; checking it for damage (PRAGMA quick_check) before starting", "db", redactDSN(dsn))
	start := time.Now()
	problems, err := db.QuickCheck(ctx)
	if err != nil {
		return fmt.Errorf("check %s after an unclean shutdown: %w", redactDSN(dsn), err)
	}
	if len(problems) == 0 {
		log.Info("database check passed", "took", time.Since(start).Round(time.Millisecond))
		return nil
	}
	path := strings.TrimPrefix(dsn, "sqlite:")
	return fmt.Errorf(`the database %s is damaged, so smsflow will not start on it. PRAGMA quick_check found:
  %s
What to do:
  1. Stop every smsflow process using it, and copy %s, %s-wal and %s-shm aside as they are.
  2. Restore your latest backup; or save what can still be read into a new file with the sqlite3 command-line tool:
       sqlite3 %s ".recover" | sqlite3 %s
     check the new file (sqlite3 %s "PRAGMA integrity_check" prints ok) and start with --db sqlite:%s
     (rows on the damaged pages are lost; opt-outs among them must be recorded again).`,
		path, strings.Join(problems, "\n  "), path, path, path, path, recoveredPath(path), recoveredPath(path), recoveredPath(path))
}

// recoveredPath names the file a recovery writes next to path.
func recoveredPath(path string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-recovered" + ext
}

// migrated applies the pending migrations to db (closing it on failure).
func migrated(ctx context.Context, db *store.DB, dsn string, log *slog.Logger) (*store.DB, error) {
	n, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", redactDSN(dsn), err)
	}
	if n > 0 {
		log.Info("database migrated", "db", redactDSN(dsn), "applied", n)
	}
	return db, nil
}

// openExisting opens the configured database for a command that must not
// create one (keys, report; any command that only reads or changes rows of
// a running installation): a SQLite file that is not there, or a database
// without smsflow's schema, is an error saying what to do, and the schema
// is never migrated — a newer binary run for a report does not change the
// schema under the servers still running the old one. Only serve, migrate
// and import create a database or its schema (openDB).
func openExisting(ctx context.Context, dsn string) (*store.DB, error) {
	db, err := store.OpenWith(dsn, store.OpenOptions{MustExist: true})
	if err != nil {
		return nil, err
	}
	none, pending, err := db.SchemaState(ctx)
	switch {
	case err != nil:
		db.Close()
		return nil, fmt.Errorf("%s: %w", redactDSN(dsn), err)
	case none:
		db.Close()
		return nil, fmt.Errorf("no smsflow schema in %s (start `smsflow serve` first, or run `smsflow migrate`, or pass --db)", redactDSN(dsn))
	case len(pending) > 0:
		db.Close()
		return nil, fmt.Errorf("the smsflow schema in %s is older than this smsflow (%d migration(s) to apply, from %s): run `smsflow migrate --db …` or start `smsflow serve` first", redactDSN(dsn), len(pending), pending[0])
	}
	return db, nil
}

// redactDSN hides a password in a postgres:// URL.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.LastIndex(dsn, "@"); at > i {
			if colon := strings.Index(dsn[i+3:at], ":"); colon >= 0 {
				return dsn[:i+3+colon+1] + "***" + dsn[at:]
			}
		}
	}
	return dsn
}

// newLogger builds the structured logger. Every phone-shaped value in every
// line — the message, string attributes, groups, errors — is masked, at
// every level (phone.MaskAttr).
func newLogger(w io.Writer, cfg config.Config) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: phone.MaskAttr}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// newKey returns a random API key with a readable prefix.
func newKey(prefix string) string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(b)
}

// loadKeys returns the API keys: from the configuration when given, else
// the ones stored in the database (generated and stored on first use).
// created names the settings generated just now.
func loadKeys(ctx context.Context, db *store.DB, cfg config.Config) (keys api.Keys, created []string, err error) {
	get := func(given, setting, prefix string) (string, error) {
		if given != "" {
			return given, nil
		}
		v, made, err := db.SettingOrInit(ctx, setting, func() string { return newKey(prefix) })
		if made {
			created = append(created, setting)
		}
		return v, err
	}
	if keys.Write, err = get(cfg.WriteKey, "write_key", "wk_"); err != nil {
		return
	}
	if keys.Server, err = get(cfg.ServerKey, "server_key", "sk_"); err != nil {
		return
	}
	keys.Admin, err = get(cfg.AdminKey, "admin_key", "ak_")
	return
}

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	var cf commonFlags
	cf.register(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	db, err := store.Open(cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: applied %d migration(s); schema version %d\n", redactDSN(cfg.DB), n, v)
	return nil
}

func cmdKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keys", flag.ContinueOnError)
	var cf commonFlags
	cf.register(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	db, err := openExisting(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	k, _, err := loadKeys(ctx, db, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "write key: %s\nserver key: %s\nadmin key: %s\n", k.Write, k.Server, k.Admin)
	return nil
}
