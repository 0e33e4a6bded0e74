package simulate_test

import (
	"testing"

	"github.com/smsflow/smsflow/internal/storeuse"
)

// Run opens the simulator's database and wires the engine, the sender and
// ingestion to it, as serve does; the rest reads through simulate/store.go.
func TestStorageDeclaredInStoreGo(t *testing.T) {
	storeuse.OnlyInStoreGo(t, "Run")
}
