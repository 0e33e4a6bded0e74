package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/smsflow/smsflow"

	"github.com/smsflow/smsflow/api"
	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/store"
)

// openKeyring returns the API keys: the configured ones (fixed), else the
// ones stored in the database (generated and stored on first use;
// rotatable). created names the settings generated just now.
func openKeyring(ctx context.Context, db *store.DB, cfg config.Config, log *slog.Logger) (*api.Keyring, []string, error) {
	from := map[string]string{}
	for name, key := range map[string]string{api.KeyWrite: "write_key", api.KeyServer: "server_key", api.KeyAdmin: "admin_key"} {
		if where := cfg.SetIn(key); where != "" {
			from[name] = where + " (" + key + ")"
		}
	}
	return api.OpenKeyring(ctx, db, api.KeyringOptions{
		Fixed:     api.Keys{Write: cfg.WriteKey, Server: cfg.ServerKey, Admin: cfg.AdminKey},
		FixedFrom: from, Clock: smsflow.WallClock{}, Log: log})
}

func cmdKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keys", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs)
	rotate := fs.String("rotate", "", "replace the stored `KEY` (write, server or admin) with a new random one, as the web UI's settings page does (a key set in the configuration or environment is not stored)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	cfg, db, err := cf.openExisting(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	ring, _, err := openKeyring(ctx, db, cfg, nil)
	if err != nil {
		return err
	}
	if *rotate != "" {
		if _, err := ring.Rotate(ctx, *rotate); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "%s key rotated%s\n", *rotate, rotateNote(*rotate))
	}
	k := ring.Keys()
	fmt.Fprintf(stdout, "write key: %s\nserver key: %s\nadmin key: %s\n", k.Write, k.Server, k.Admin)
	return nil
}

// rotateNote says what a rotation means for those holding the old key.
func rotateNote(name string) string {
	switch name {
	case api.KeyWrite:
		return fmt.Sprintf("; the old one keeps working for %s", api.WriteKeyGrace)
	case api.KeyAdmin:
		return "; the old one no longer works, and web UI sessions have ended"
	}
	return "; the old one no longer works"
}
