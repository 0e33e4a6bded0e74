package api_test

import (
	"testing"

	"github.com/smsflow/smsflow/internal/storeuse"
)

// api/store.go lists everything the HTTP API reads and writes.
func TestStorageDeclaredInStoreGo(t *testing.T) {
	storeuse.OnlyInStoreGo(t)
}
