package report

import (
	"context"
	"database/sql"

	"github.com/smsflow/smsflow/store"
)

// Store is what the reports need of the database: read-only queries on the
// reports' own pool, and the flows' current versions. *store.DB implements
// it. Declaring it here says at a glance that a report never writes, and
// lets the storage behind reports change without reading the whole store
// (D81: consumers declare the narrow interfaces they need).
type Store interface {
	ReadQuery(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ReadQueryRow(ctx context.Context, query string, args ...any) *sql.Row
	FlowHeads(ctx context.Context) ([]store.FlowHead, error)
}

var _ Store = (*store.DB)(nil)
