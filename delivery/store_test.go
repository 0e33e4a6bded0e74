package delivery_test

import (
	"testing"

	"github.com/smsflow/smsflow/internal/storeuse"
)

// delivery/store.go lists everything sending and its outcomes read and
// write.
func TestStorageDeclaredInStoreGo(t *testing.T) {
	storeuse.OnlyInStoreGo(t)
}
