package store_test

import (
	"testing"

	"github.com/smsflow/smsflow/store"
)

func TestRedactDSN(t *testing.T) {
	for dsn, want := range map[string]string{
		"postgres://smsflow:s3cret@db:5432/smsflow?sslmode=disable": "postgres://smsflow:***@db:5432/smsflow?sslmode=disable",
		"postgres://smsflow@db/smsflow":                             "postgres://smsflow@db/smsflow",
		"postgres://u:p@ss@db/x":                                    "postgres://u:***@db/x",
		"sqlite:./smsflow.db":                                       "sqlite:./smsflow.db",
	} {
		if got := store.RedactDSN(dsn); got != want {
			t.Errorf("RedactDSN(%q) = %q, want %q", dsn, got, want)
		}
	}
}
