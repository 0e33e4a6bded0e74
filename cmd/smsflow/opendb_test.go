package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// The commands that only read never create a database (issue 15 item 8):
// in a directory without one they say so and exit 1, and leave no file.
func TestReadOnlyCommandsNeedADatabase(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("SMSFLOW_DB", "") // restored after the test
	os.Unsetenv("SMSFLOW_DB")
	const want = "no smsflow database at ./smsflow.db (start `smsflow serve` first, or pass --db)"
	for _, args := range [][]string{{"keys"}, {"report", "welcome"}, {"report", "--program"}} {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb)
		if code != 1 || !strings.Contains(errb.String(), want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and %q", args, code, errb.String(), want)
		}
		if strings.Contains(out.String(), "key:") {
			t.Errorf("%v printed keys: %q", args, out.String())
		}
		if ents, _ := os.ReadDir(dir); len(ents) > 0 {
			t.Fatalf("%v left %v in the directory", args, ents)
		}
	}
	// A database that is missing with its directory: an error for every
	// command, and no directory made.
	missing := filepath.Join(dir, "missing", "dir", "x.db")
	for _, args := range [][]string{{"keys"}, {"migrate"}, {"import", "contacts", writeFile(t, "c.csv", "phone\n+14155550100\n")}} {
		var out, errb bytes.Buffer
		code := run(context.Background(), append(args, "--db", "sqlite:"+missing), &out, &errb)
		if code != 1 || !strings.Contains(errb.String(), filepath.Dir(missing)) {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 naming the missing directory", args, code, errb.String())
		}
		if _, err := os.Stat(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
			t.Fatalf("%v created a directory (%v)", args, err)
		}
	}
	// serve, migrate and import create it.
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"migrate"}, &out, &errb); code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, errb.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"keys"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "write key: wk_") {
		t.Fatalf("keys after migrate: exit %d, %q %q", code, out.String(), errb.String())
	}
}

// A database without smsflow's schema is not migrated by a command that
// only reads: it says so, on both databases, and creates no table; a
// schema older than the binary is not changed under the servers either.
func TestReadOnlyCommandsNeedTheSchema(t *testing.T) {
	for name, dsn := range storetest.DSNs(t) {
		t.Run(name, func(t *testing.T) {
			if name == "sqlite" {
				// An existing file that holds nothing (an empty database).
				path := strings.TrimPrefix(dsn, "sqlite:")
				if err := os.WriteFile(path, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for _, args := range [][]string{{"keys"}, {"report", "--program"}} {
				var out, errb bytes.Buffer
				code := run(context.Background(), append(args, "--db", dsn), &out, &errb)
				if code != 1 || !strings.Contains(errb.String(), "no smsflow schema in") || !strings.Contains(errb.String(), "smsflow migrate") {
					t.Errorf("%v: exit %d, stderr %q; want exit 1 and no smsflow schema", args, code, errb.String())
				}
			}
			db, err := store.Open(dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			none, _, err := db.SchemaState(context.Background())
			if err != nil || !none {
				t.Fatalf("the read-only commands created a schema (none=%v, %v)", none, err)
			}
			if _, err := db.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			// One migration forgotten: the schema is older than the binary.
			var last int64
			if err := db.QueryRowForTest(context.Background(), `SELECT MAX(version) FROM schema_migrations`).Scan(&last); err != nil {
				t.Fatal(err)
			}
			raw := rawDB(t, dsn)
			if _, err := raw.Exec(`DELETE FROM schema_migrations WHERE version = ` + strconv.FormatInt(last, 10)); err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			if code := run(context.Background(), []string{"keys", "--db", dsn}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "older than this smsflow") {
				t.Errorf("keys on an older schema: exit %d, stderr %q", code, errb.String())
			}
			if none, pending, err := db.SchemaState(context.Background()); err != nil || none || len(pending) != 1 {
				t.Errorf("schema after keys: none=%v pending=%v err=%v; want the one migration still pending", none, pending, err)
			}
		})
	}
}

// An import that rejected rows exits 1 after printing its summary, so a
// scheduled import is noticed; refused consent changes alone do not.
func TestImportExitCode(t *testing.T) {
	for name, dsn := range storetest.DSNs(t) {
		t.Run(name, func(t *testing.T) {
			good := writeFile(t, "good.csv", "id,phone\nana,+14155550100\nbo,+14155550101\n")
			var out, errb bytes.Buffer
			if code := run(context.Background(), []string{"import", "contacts", good, "--db", dsn}, &out, &errb); code != 0 {
				t.Fatalf("clean import: exit %d: %s %s", code, out.String(), errb.String())
			}
			bad := writeFile(t, "bad.csv", "id,phone\ncy,+14155550102\ndee,not a phone\n")
			out.Reset()
			errb.Reset()
			code := run(context.Background(), []string{"import", "contacts", bad, "--db", dsn}, &out, &errb)
			if code != 1 {
				t.Errorf("import with a rejected row: exit %d, want 1", code)
			}
			if !strings.Contains(out.String(), "2 rows: 1 imported, 0 updated, 0 unchanged, 1 rejected") || !strings.Contains(out.String(), "rejected line 3") {
				t.Errorf("summary not printed: %q", out.String())
			}
			if !strings.Contains(errb.String(), "1 of 2 rows rejected") {
				t.Errorf("stderr %q", errb.String())
			}
			out.Reset()
			if code := run(context.Background(), []string{"import", "contacts", bad, "--json", "--db", dsn}, &out, &errb); code != 1 || !strings.Contains(out.String(), `"rejected": [`) {
				t.Errorf("--json import with a rejected row: exit %d, %q", code, out.String())
			}
			// A refused consent change is not a rejected row.
			stop := writeFile(t, "stop.csv", "id,phone,consent\nana,+14155550100,unsubscribed\n")
			if code := run(context.Background(), []string{"import", "contacts", stop, "--db", dsn}, &out, &errb); code != 0 {
				t.Fatalf("opt-out import: exit %d", code)
			}
			resub := writeFile(t, "resub.csv", "id,phone,consent\nana,+14155550100,subscribed\n")
			out.Reset()
			if code := run(context.Background(), []string{"import", "contacts", resub, "--db", dsn}, &out, &errb); code != 0 || !strings.Contains(out.String(), "consent changes refused") {
				t.Errorf("refused resubscribe: exit %d, %q; want 0 with the refusal listed", code, out.String())
			}
		})
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// rawDB opens dsn with database/sql directly, closed when the test ends.
func rawDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	driver, source := "pgx", dsn
	if strings.HasPrefix(dsn, "sqlite:") {
		driver, source = "sqlite", strings.TrimPrefix(dsn, "sqlite:")
	}
	db, err := sql.Open(driver, source)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// The server's logger masks every phone-shaped value at every level, once
// (issue 16 item 12): the lines the issue found.
func TestLoggerMasksPhones(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		log := newLogger(&buf, config.Config{LogLevel: "debug", LogFormat: format})
		log.Warn("send failed", "contact", "phone:+14155550100", "message", 12)
		log.Debug("provider accepted a message", "to", "+14155550101", "detail", "raw 4155550102")
		log.Info("inbound SMS", "from", phone.Mask("+14155550166"))
		log.Error("store inbound message", "err", errors.New(`phone +14155550103 already belongs to contact "phone:+14155550103"`))
		out := buf.String()
		for _, raw := range []string{"4155550100", "4155550101", "4155550102", "4155550103"} {
			if strings.Contains(out, raw) {
				t.Errorf("%s: %s in the log:\n%s", format, raw, out)
			}
		}
		if !strings.Contains(out, "+1415***0166") {
			t.Errorf("%s: an already masked number was masked again:\n%s", format, out)
		}
	}
}
