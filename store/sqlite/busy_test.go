package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// The contract of DB.IsBusy on a real SQLITE_BUSY: another handle on the
// same file (another process, as an import next to a running server)
// holds the write lock past the busy timeout. The transaction did not
// happen, IsBusy says so, and it can run again later.
func TestBusyIsReported(t *testing.T) {
	ctx := context.Background()
	path := "sqlite:" + filepath.Join(t.TempDir(), "smsflow.db")
	holder := storetest.OpenMigrated(t, path)
	waiter, err := store.OpenWith(path, store.OpenOptions{BusyTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer waiter.Close()
	add := func(db *store.DB, id string) error {
		return db.WriteTx(ctx, func(tx *store.Tx) error {
			return tx.InsertContact(&smsflow.Contact{ID: id, CreatedAt: time.Unix(1, 0), UpdatedAt: time.Unix(1, 0)})
		})
	}
	var busy error
	err = holder.WriteTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertContact(&smsflow.Contact{ID: "held", CreatedAt: time.Unix(1, 0), UpdatedAt: time.Unix(1, 0)}); err != nil {
			return err
		}
		busy = add(waiter, "waiting")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if busy == nil || !waiter.IsBusy(busy) {
		t.Fatalf("a write while another handle holds the lock: %v, want an error IsBusy recognizes", busy)
	}
	if err := add(waiter, "waiting"); err != nil {
		t.Fatalf("the same write once the lock is free: %v", err)
	}
	if n, err := holder.CountContacts(ctx); err != nil || n != 2 {
		t.Errorf("contacts %d (%v), want 2", n, err)
	}
}
