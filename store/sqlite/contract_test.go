package sqlite_test

import (
	"testing"

	"github.com/smsflow/smsflow/store/storetest"
)

// TestContract runs the storage contract on SQLite.
func TestContract(t *testing.T) { storetest.Exercise(t, storetest.SQLiteDSN) }
