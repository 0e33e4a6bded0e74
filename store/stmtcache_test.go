package store_test

import (
	"fmt"
	"testing"

	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// A statement a transaction prepared is kept on the writer pool after the
// commit and reused by the next transactions; closing it (eviction) while a
// transaction runs it does not break that transaction; the cache is bounded.
func TestStatementsPreparedAcrossTransactions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const q = `SELECT COUNT(*) + ? FROM contacts WHERE id <> 'stmtcache'`
		run := func(tx *store.Tx, k int64) error {
			n, err := tx.QueryIntForTest(q, k)
			if err == nil && n != k {
				err = fmt.Errorf("query returned %d, want %d", n, k)
			}
			return err
		}
		if store.StatementCachedForTest(db, q) {
			t.Fatal("statement cached before any transaction ran it")
		}
		if err := db.WriteTx(ctx, func(tx *store.Tx) error { return run(tx, 1) }); err != nil {
			t.Fatal(err)
		}
		if !store.StatementCachedForTest(db, q) {
			t.Fatal("statement not kept on the pool after the commit")
		}
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			if err := run(tx, 2); err != nil {
				return err
			}
			store.DropCachedStatementsForTest(db) // as an eviction by another transaction
			return run(tx, 3)
		})
		if err != nil {
			t.Fatalf("transaction whose pool statement was closed under it: %v", err)
		}
		if err := db.WriteTx(ctx, func(tx *store.Tx) error { return run(tx, 4) }); err != nil {
			t.Fatal(err)
		}
		for i := range 300 {
			err := db.WriteTx(ctx, func(tx *store.Tx) error {
				_, err := tx.QueryIntForTest(fmt.Sprintf(`SELECT %d + ?`, i), 1)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := store.CachedStatementsForTest(db); n > 256 || n < 250 {
			t.Errorf("%d statements cached after 301 distinct queries, want the cache full at 256", n)
		}
		if !store.StatementCachedForTest(db, `SELECT 299 + ?`) {
			t.Error("the most recent statement was evicted")
		}
		if store.StatementCachedForTest(db, `SELECT 0 + ?`) {
			t.Error("the least recently used statement was kept")
		}
	})
}
