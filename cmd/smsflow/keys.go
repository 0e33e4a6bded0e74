package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"

	"github.com/smsflow/smsflow/api"
	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/store"
)

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

func cmdKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keys", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	cfg, db, err := cf.openExisting(ctx)
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
