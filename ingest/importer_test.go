package ingest_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// An import into the SQLite file of a running server never makes the
// server's writes fail (issue 16 item 13). The server's writer is stood in
// for by a second connection to the same file that writes every few
// milliseconds, as ingestion under load does, with a 2 s busy timeout (the
// server's is 10 s, so the test need not run for 10 s): every one of its
// writes must get the lock.
// Before, the import's back-to-back 500-row transactions left it no free
// moment and it got SQLITE_BUSY.
func TestImportYieldsToARunningServer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "smsflow.db")
	db := storetest.OpenMigrated(t, "sqlite:"+path)
	server, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(2000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	server.SetMaxOpenConns(1)
	if _, err := server.Exec(`CREATE TABLE server_writes (n INTEGER)`); err != nil {
		t.Fatal(err)
	}

	var csv strings.Builder
	csv.WriteString("id,phone,first_name,consent\n")
	const rows = 6000
	for i := range rows {
		fmt.Fprintf(&csv, "c%d,+1415%07d,Name%d,subscribed\n", i, 2000000+i, i)
	}

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var writes int
	var busy []error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			_, err := server.Exec(`INSERT INTO server_writes (n) VALUES (?)`, writes)
			if err != nil {
				busy = append(busy, err)
				continue
			}
			writes++
			time.Sleep(2 * time.Millisecond) // the pace of arriving requests, not a synchronization
		}
	}()
	im := &ingest.Importer{DB: db, Clock: testkit.NewClock(now), Region: "US"}
	sum, err := im.Import(context.Background(), strings.NewReader(csv.String()), "csv")
	stop()
	wg.Wait()
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if sum.Imported != rows {
		t.Fatalf("imported %d of %d rows: %+v", sum.Imported, rows, sum.Rejected)
	}
	if len(busy) > 0 {
		t.Fatalf("%d of the server's writes failed during the import (%d succeeded); first: %v", len(busy), writes, busy[0])
	}
	if writes == 0 {
		t.Fatal("the server wrote nothing during the import")
	}
}

// An import whose transaction meets a lock held past its busy timeout
// waits and writes the same rows again, instead of stopping.
func TestImportRetriesWhenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "smsflow.db")
	db, err := store.OpenWith("sqlite:"+path, store.OpenOptions{BusyTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	holder, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	tx, err := holder.Begin() // holds the write lock until the import has waited once
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan string, 100)
	go func() {
		<-waited
		tx.Rollback()
	}()
	im := &ingest.Importer{DB: db, Clock: testkit.NewClock(now), Region: "US", Log: slog.New(&signalHandler{ch: waited})}
	sum, err := im.Import(context.Background(), strings.NewReader("id,phone\nana,+14155550100\n"), "csv")
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if sum.Imported != 1 || len(waited) > 0 && !strings.Contains(<-waited, "locked") {
		t.Fatalf("summary %+v", sum)
	}
}

// signalHandler sends each record's message on ch.
type signalHandler struct{ ch chan string }

func (h *signalHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *signalHandler) Handle(_ context.Context, r slog.Record) error {
	h.ch <- r.Message
	return nil
}
func (h *signalHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *signalHandler) WithGroup(string) slog.Handler      { return h }
