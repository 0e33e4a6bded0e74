package postgres_test

import (
	"os"
	"testing"

	"github.com/smsflow/smsflow/store/storetest"
)

// TestContract runs the storage contract on PostgreSQL (skipped, saying so,
// when SMSFLOW_TEST_POSTGRES is not set).
func TestContract(t *testing.T) {
	if os.Getenv(storetest.PostgresEnv) == "" {
		t.Skipf("storage contract on PostgreSQL skipped: %s is not set (CI sets it)", storetest.PostgresEnv)
	}
	storetest.Exercise(t, storetest.PostgresDSN)
}
