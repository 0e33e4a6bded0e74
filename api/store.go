package api

import (
	"context"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/report"
	"github.com/smsflow/smsflow/store"
)

// Store is what the HTTP API needs of the database: the reads behind its
// admin routes and the few writes it makes itself, plus what the packages
// it hands the database to need — ingestion (consent changes, console
// replies, link clicks go through ingest) and the reports. *store.DB
// implements it (D85: consumers declare the narrow interfaces they need).
// Its one transaction of its own is an operator's decision on messages a
// crash left unknown (WriteTx).
type Store interface {
	ingest.Store
	report.Store

	// contacts, their consent ledger, runs and timeline (admin reads)
	Contact(ctx context.Context, id string) (*smsflow.Contact, error)
	ContactByPhone(ctx context.Context, e164 string) (*smsflow.Contact, error)
	ConsentLedger(ctx context.Context, phone string) (smsflow.Consent, error)
	RunsByContact(ctx context.Context, contactID string, openOnly bool) ([]*smsflow.Run, error)
	Timeline(ctx context.Context, c *smsflow.Contact) ([]smsflow.TimelineItem, error)

	// messages
	Messages(ctx context.Context, f store.MessageFilter) ([]*smsflow.Message, error)

	// links: a tracked link's code, before its click is recorded
	LinkByCode(ctx context.Context, code string) (*store.Link, error)

	// flows: pausing and resuming a flow (its status)
	SetFlowStatus(ctx context.Context, id, status string, now time.Time) error

	// settings: when the server key was first used
	SettingOrInit(ctx context.Context, key string, init func() string) (value string, created bool, err error)

	// readiness: the database answers, and which one it is
	Ping(ctx context.Context) error
	Dialect() store.Dialect
}

// WriteTx is what the API writes in a transaction of its own: an
// operator's decision on messages a crash left unknown (D86). *store.Tx
// implements it.
type WriteTx interface {
	// messages: send an unknown message again, or give it up
	RequeueUnknown(id int64, errorCode string, now time.Time) (bool, error)
	GiveUpUnknown(id int64, errorCode string, now time.Time) (bool, error)
}

var (
	_ Store   = (*store.DB)(nil)
	_ WriteTx = (*store.Tx)(nil)
)

// writeTx runs fn in one write transaction that sees only WriteTx.
func writeTx(ctx context.Context, db Store, fn func(WriteTx) error) error {
	return db.WriteTx(ctx, func(tx *store.Tx) error { return fn(tx) })
}
