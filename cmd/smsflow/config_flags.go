package main

import (
	"context"
	"flag"
	"os"

	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/store"
)

// configFlags are the flags every database-using command takes: where the
// configuration and the database are.
type configFlags struct {
	config string
	db     string
}

func (c *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.config, "config", "", "configuration `FILE` (default ./smsflow.yaml if present)")
	fs.StringVar(&c.db, "db", "", "the database `DSN`: sqlite:PATH or a postgres:// URL (default: db in the configuration, else sqlite:./smsflow.db)")
}

// load reads the configuration and applies the flags.
func (c *configFlags) load() (config.Config, error) {
	cfg, err := config.Load(c.config, os.Environ())
	if err != nil {
		return cfg, err
	}
	if c.db != "" {
		cfg.DB = c.db
	}
	return cfg, nil
}

// openExisting loads the configuration and opens its database, which must
// exist with an up-to-date schema: the commands that read or change a
// running installation never create one.
func (c *configFlags) openExisting(ctx context.Context) (config.Config, *store.DB, error) {
	cfg, err := c.load()
	if err != nil {
		return cfg, nil, err
	}
	db, err := openExisting(ctx, cfg.DB)
	return cfg, db, err
}
