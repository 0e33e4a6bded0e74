package web

import (
	"context"
	"time"

	"github.com/smsflow/smsflow/report"
	"github.com/smsflow/smsflow/store"
)

// Store is what the web UI needs of the database (D85: consumers declare
// the storage they use; internal/storeuse checks it). *store.DB implements
// it. Pages read through the same code as the API — the report package
// (report.Store), the engine's catalog — and add here only the few
// methods they call themselves.
type Store interface {
	report.Store

	// flows: pausing and resuming a flow (its status), as the API does
	SetFlowStatus(ctx context.Context, id, status string, now time.Time) error
	// one flow's page: its version history and the sources to diff
	FlowVersions(ctx context.Context) ([]store.FlowVersion, error)

	// the editor: a flow version's YAML as it was saved
	FlowSource(ctx context.Context, id string, version int) (source, file string, err error)
}
