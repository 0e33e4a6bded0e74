package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smsflow/smsflow/store"
)

// After an unclean shutdown a server checks its SQLite file before it
// serves, and refuses a damaged one with what to do (issue 16 item 14);
// after a clean one it starts without the check.
func TestServeChecksSQLiteAfterUncleanShutdown(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "smsflow.db")
	dsn := "sqlite:" + path
	keys := []string{"SMSFLOW_WRITE_KEY=wk_test", "SMSFLOW_SERVER_KEY=sk_test", "SMSFLOW_ADMIN_KEY=ak_test"}

	// Some data, then a clean stop: the mark is written.
	s := startServer(t, dsn, keys...)
	for b := 0; b < 10; b++ {
		var batch strings.Builder
		batch.WriteString(`{"batch":[`)
		for i := 0; i < 200; i++ {
			if i > 0 {
				batch.WriteString(",")
			}
			fmt.Fprintf(&batch, `{"type":"track","userId":"u-%d-%d","event":"Product Viewed","messageId":"m-%d-%d","properties":{"sku":"%s"}}`, b, i, b, i, strings.Repeat("x", 200))
		}
		batch.WriteString(`]}`)
		if r := call(t, "POST", s.url+"/v1/batch", "basic:sk_test", batch.String()); r.status != 200 { // a back end: the server key
			t.Fatalf("batch: %d %s", r.status, r.raw)
		}
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	<-s.exited
	if !shutDownCleanly(t, dsn) {
		t.Fatalf("no clean-shutdown mark after SIGTERM:\n%s", s.stderr.String())
	}
	s = startServer(t, dsn, keys...)
	if shutDownCleanly(t, dsn) {
		t.Errorf("the mark is still there while the server runs")
	}
	if log := s.stoppedLog(); strings.Contains(log, "quick_check") { // stoppedLog kills it: an unclean shutdown
		t.Errorf("checked after a clean shutdown:\n%s", log)
	}

	// After kill -9 the next start checks, and the sound file passes.
	s = startServer(t, dsn, keys...)
	log := s.stoppedLog()
	if !strings.Contains(log, "not shut down cleanly") || !strings.Contains(log, "database check passed") {
		t.Fatalf("no check after kill -9:\n%s", log)
	}

	// Damage inner pages of the file (checkpointed first, so the pages are
	// in it), with no clean-shutdown mark: the server refuses to start.
	db, err := store.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.Close() // the last connection checkpoints the WAL into the file
	corruptPages(t, path)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "serve", "--addr", "127.0.0.1:0", "--db", dsn)
	cmd.Env = append(os.Environ(), keys...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("serve on a damaged file: exit %d (%v), want 1:\n%s", code, err, out.String())
	}
	for _, want := range []string{"is damaged, so smsflow will not start", "PRAGMA quick_check found", ".recover", "smsflow-recovered.db"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("message lacks %q:\n%s", want, out.String())
		}
	}

	// The advice works: .recover into a new file, and the server starts on it.
	sqlite3, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Skip("sqlite3 command-line tool not installed: the recovery advice is not tried")
	}
	recovered := filepath.Join(dir, "smsflow-recovered.db")
	sh := exec.Command("sh", "-c", fmt.Sprintf(`%s %q .recover | %s %q`, sqlite3, path, sqlite3, recovered))
	if b, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("recover: %v\n%s", err, b)
	}
	s = startServer(t, "sqlite:"+recovered, keys...)
	if r := call(t, "GET", s.url+"/readyz", "", ""); r.status != 200 {
		t.Errorf("readyz on the recovered file: %d", r.status)
	}
}

func shutDownCleanly(t *testing.T, dsn string) bool {
	t.Helper()
	db, err := store.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return db.ShutDownCleanly(context.Background())
}

// corruptPages overwrites four pages in the middle of a SQLite file (not
// the first page, which holds the schema) with garbage.
func corruptPages(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	pages := st.Size() / page
	if pages < 20 {
		t.Fatalf("the database has only %d pages", pages)
	}
	junk := bytes.Repeat([]byte{0xA5, 0x5A, 0xFF, 0x00}, page)
	if _, err := f.WriteAt(junk, (pages/2)*page); err != nil {
		t.Fatal(err)
	}
}
