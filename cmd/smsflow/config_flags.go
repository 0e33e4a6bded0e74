package main

import (
	"flag"
	"os"

	"github.com/smsflow/smsflow/config"
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
