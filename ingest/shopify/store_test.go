package shopify_test

import (
	"testing"

	"github.com/smsflow/smsflow/internal/storeuse"
)

// ingest/shopify/store.go lists what a webhook delivery reads and writes.
// submit's hooks receive the *store.Tx ingest.TxHooks hands them and at
// once see it as a shopify.WriteTx.
func TestStorageDeclaredInStoreGo(t *testing.T) {
	storeuse.OnlyInStoreGo(t, "submit")
}
