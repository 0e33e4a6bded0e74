package simulate

import (
	"context"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// The simulator opens its own SQLite database and wires the engine, the
// sender and ingestion to it as serve does, so Run holds the whole
// *store.DB (migrations, the relevance rule, the next timer). What it reads
// itself is the timeline's, declared here; its inputs go through ingest
// (ingest.Store). D85: consumers declare the narrow interfaces they need.

// timelineStore is what the timeline reads to show consent changes: the
// ledger in the order entries were recorded, and the contact each names.
type timelineStore interface {
	// consent (the ledger)
	ConsentRecordedAfter(ctx context.Context, afterID int64, limit int) ([]smsflow.ConsentEntry, error)
	// contacts
	Contact(ctx context.Context, id string) (*smsflow.Contact, error)
}

var _ timelineStore = (*store.DB)(nil)
