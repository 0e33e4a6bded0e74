package web_test

import (
	"testing"

	"github.com/smsflow/smsflow/internal/storeuse"
)

// web/store.go lists everything the web UI reads and writes itself.
func TestStorageDeclaredInStoreGo(t *testing.T) {
	storeuse.OnlyInStoreGo(t)
}
