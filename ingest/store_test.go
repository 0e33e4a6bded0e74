package ingest_test

import (
	"testing"

	"github.com/smsflow/smsflow/internal/storeuse"
)

// ingest/store.go lists everything ingestion reads and writes. Writer's
// TxHooks and the write that runs them hand the whole transaction to the
// hooks' owner (ingest/shopify), which declares what it uses.
func TestStorageDeclaredInStoreGo(t *testing.T) {
	storeuse.OnlyInStoreGo(t, "TxHooks", "write")
}
