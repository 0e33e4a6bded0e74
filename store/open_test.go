package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// A SQLite file that is not there is not created when it must exist, and a
// missing directory is never created (issue 15 item 8).
func TestOpenNeverCreatesWhatIsMissing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "smsflow.db")
	if _, err := store.OpenWith("sqlite:"+path, store.OpenOptions{MustExist: true}); !errors.Is(err, store.ErrNoDatabase) || !strings.Contains(err.Error(), path) {
		t.Errorf("MustExist on a missing file: %v, want ErrNoDatabase naming the path", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the file was created (%v)", err)
	}
	deep := filepath.Join(dir, "no", "such", "dir", "x.db")
	if _, err := store.Open("sqlite:" + deep); err == nil || !strings.Contains(err.Error(), filepath.Dir(deep)) {
		t.Errorf("missing directory: %v, want an error naming it", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "no")); !os.IsNotExist(err) {
		t.Errorf("a directory was created (%v)", err)
	}
	if _, err := store.Open("sqlite:" + dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("a directory as the database: %v", err)
	}
	db, err := store.Open("sqlite:" + path) // the file (not the directory) is created
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
}

// SchemaState tells a database without smsflow's schema, an up-to-date one
// and one with migrations pending, without changing any (both databases).
func TestSchemaState(t *testing.T) {
	ctx := context.Background()
	for name, dsn := range storetest.DSNs(t) {
		t.Run(name, func(t *testing.T) {
			db, err := store.Open(dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if none, pending, err := db.SchemaState(ctx); err != nil || !none || len(pending) > 0 {
				t.Fatalf("empty database: none=%v pending=%v err=%v", none, pending, err)
			}
			if none, _, _ := db.SchemaState(ctx); !none {
				t.Fatal("SchemaState created a schema")
			}
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if none, pending, err := db.SchemaState(ctx); err != nil || none || len(pending) > 0 {
				t.Fatalf("migrated database: none=%v pending=%v err=%v", none, pending, err)
			}
		})
	}
}

// The clean-shutdown mark: written, seen, cleared (both databases); only
// SQLite checks its file.
func TestCleanShutdownMark(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if db.ShutDownCleanly(ctx) {
			t.Fatal("a new database counts as shut down cleanly")
		}
		if err := db.MarkCleanShutdown(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkCleanShutdown(ctx, time.Now()); err != nil {
			t.Fatalf("marking twice: %v", err)
		}
		if !db.ShutDownCleanly(ctx) {
			t.Fatal("mark not seen")
		}
		if err := db.ClearCleanShutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if db.ShutDownCleanly(ctx) {
			t.Fatal("mark still seen after clearing")
		}
		if got, want := db.ChecksIntegrity(), db.Dialect().Name() == "sqlite"; got != want {
			t.Errorf("ChecksIntegrity = %v on %s", got, db.Dialect().Name())
		}
		if problems, err := db.QuickCheck(ctx); err != nil || len(problems) > 0 {
			t.Errorf("QuickCheck of a sound database: %v %v", problems, err)
		}
		if db.IsBusy(errors.New("database is locked")) {
			t.Error("IsBusy on an error that is not the driver's")
		}
	})
}
