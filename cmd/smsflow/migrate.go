package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/smsflow/smsflow/store"
)

// cmdMigrate is `smsflow migrate`.
func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	var cf configFlags
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
	fmt.Fprintf(stdout, "%s: applied %d migration(s); schema version %d\n", store.RedactDSN(cfg.DB), n, v)
	return nil
}
