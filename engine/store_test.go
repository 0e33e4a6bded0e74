package engine_test

import (
	"testing"

	"github.com/smsflow/smsflow/internal/storeuse"
)

// TestStoreUse keeps engine/store.go the list of what the engine reads and
// writes: no other file names store.DB or store.Tx.
func TestStorageDeclaredInStoreGo(t *testing.T) {
	storeuse.OnlyInStoreGo(t)
}
