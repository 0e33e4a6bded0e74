package web

import (
	"context"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest"
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
	// ingest.Store: a reply typed as the contact in the live console goes
	// through ingest.Inbound, as POST /v1/console/inbound does; it also
	// brings the write transaction (WriteTx) a conversation reply is
	// queued in.
	ingest.Store

	// sessions: logging out ends a session on the server (web_logouts,
	// D100); every request with a session checks it
	LogOut(ctx context.Context, sessionHash string, expires, now time.Time) error
	SessionLoggedOut(ctx context.Context, sessionHash string) (bool, error)

	// flows: pausing and resuming a flow (its status), as the API does
	SetFlowStatus(ctx context.Context, id, status string, now time.Time) error
	// one flow's page: its version history and the sources to diff
	FlowVersions(ctx context.Context) ([]store.FlowVersion, error)

	// the editor: a flow version's YAML as it was saved
	FlowSource(ctx context.Context, id string, version int) (source, file string, err error)

	// contacts (contacts.go): found by id or by number, as
	// GET /v1/contacts/{id} and ?phone= do; their ledger and timeline
	Contact(ctx context.Context, id string) (*smsflow.Contact, error)
	ContactByPhone(ctx context.Context, e164 string) (*smsflow.Contact, error)
	ConsentLedger(ctx context.Context, phone string) (smsflow.Consent, error)
	Timeline(ctx context.Context, c *smsflow.Contact) ([]smsflow.TimelineItem, error)

	// messages (messages.go, inbox.go): the log with its filters and
	// keyset, a contact's thread, the latest inbound texts
	Messages(ctx context.Context, f store.MessageFilter) ([]*smsflow.Message, error)
	MessageLog(ctx context.Context, f store.MessageFilter) ([]*smsflow.Message, error)
	// Replies are the inbox's texts: inbound ones no keyword or flow consumed (D100).
	Replies(ctx context.Context, limit int) ([]*smsflow.Message, error)
}

// WriteTx is what the UI's own writes read and write in their transaction:
// queuing a conversation reply (inbox.go), an operator's decision on an
// unknown message (messages.go). *store.Tx implements it.
type WriteTx interface {
	ContactByID(id string) (*smsflow.Contact, error)
	// LockContact orders the reply after a STOP being recorded for the
	// same contact (ingestion locks it too), so the consent read is current.
	LockContact(id string) error
	ContactConsent(phone string) (smsflow.ConsentStatus, error)
	InsertMessage(m *smsflow.Message) (inserted bool, err error)
	// unknown messages: resend or give up, as POST /v1/messages/resend
	// and /give-up do
	RequeueUnknown(id int64, errorCode string, now time.Time) (bool, error)
	GiveUpUnknown(id int64, errorCode string, now time.Time) (bool, error)
}

var (
	_ Store   = (*store.DB)(nil)
	_ WriteTx = (*store.Tx)(nil)
)

// writeTx runs fn in one write transaction of db, seeing only WriteTx.
func writeTx(ctx context.Context, db Store, fn func(WriteTx) error) error {
	return db.WriteTx(ctx, func(tx *store.Tx) error { return fn(tx) })
}
