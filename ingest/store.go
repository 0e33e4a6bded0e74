package ingest

import (
	"context"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// Store is what ingestion needs of the database outside a transaction: the
// write transaction itself, how to read its errors, and the one lookup
// made before writing. *store.DB implements it; the API and the simulator
// hand theirs through (D85: consumers declare the narrow interfaces they
// need).
type Store interface {
	// WriteTx runs fn in one write transaction. Ingestion's own code goes
	// through writeTx, which hands fn a WriteTx; only Writer's TxHooks get
	// the whole *store.Tx, as their owners (ingest/shopify) declare what
	// they use.
	WriteTx(ctx context.Context, fn func(*store.Tx) error) error
	// IsConflict and IsBusy say a transaction lost to another writer and
	// may be run again (Writer, Importer).
	IsConflict(err error) bool
	IsBusy(err error) bool
	// SingleWriter says the database takes one writer at a time (SQLite):
	// the importer then yields between batches to the server's writes.
	SingleWriter() bool
	// Dialect says whether a statement is a network round trip
	// (PostgreSQL): the writer then reads ahead which events are stored.
	Dialect() store.Dialect
	// Relevance is the rule "does any flow react to this event?"; Writer
	// stores the events none reacts to as history only.
	Relevance() func(name string) bool

	// messages: has this provider's inbound text been stored already?
	InboundSeen(ctx context.Context, provider, providerID string) (bool, error)
}

// WriteTx is everything ingestion reads and writes inside a transaction:
// contacts and their aliases, the consent ledger, events and the engine's
// inbox, the automatic replies it queues and the inbound texts it stores,
// link clicks. *store.Tx implements it.
type WriteTx interface {
	// contacts
	ContactByID(id string) (*smsflow.Contact, error)
	ContactsByID(ids []string) (map[string]*smsflow.Contact, error)
	ContactByPhone(e164 string) (*smsflow.Contact, error)
	InsertContact(c *smsflow.Contact) error
	UpdateContact(c *smsflow.Contact) error
	VerifyPhone(e164 string) error
	MergeContact(from, into string) error
	// LockContact serializes the read-then-write of consent and reply limits.
	LockContact(id string) error

	// contact_aliases
	AliasContact(alias string) (string, error)
	SetAlias(alias, contactID string) error

	// consent (the ledger, keyed by number)
	ContactConsent(phone string) (smsflow.ConsentStatus, error)
	LatestConsent(phone string) (*smsflow.ConsentEntry, error)
	AppendConsent(e *smsflow.ConsentEntry) error

	// events and the engine's inbox: a group's events are read ahead
	// (which keys are stored), numbered, and written set-based with their
	// inbox items (ingest/events.go)
	ContactsAndEventKeys(ids []string, events []*smsflow.Event) (map[string]*smsflow.Contact, map[string]bool, error)
	InsertEvent(e *smsflow.Event) (bool, error)
	InsertNewEvents(events []*smsflow.Event) error
	Queues(name string) bool
	AddInbox(contactID string, eventSeq int64) error
	AddInboxItems(items []store.InboxItem) error

	// messages: inbound texts and the automatic replies queued to them
	InsertMessage(m *smsflow.Message) (inserted bool, err error)
	// ConsumeReplies marks a keyword's text as consumed (the inbox leaves it out).
	ConsumeReplies(rs []store.ConsumedReply) error
	AutoReplies(contactID, phone, prefix string, since time.Time) ([]store.AutoReply, error)
	SetInboundProviderID(messageID int64, providerID string) error

	// link_clicks
	InsertClick(l *store.Link, at time.Time) error
}

var (
	_ Store   = (*store.DB)(nil)
	_ WriteTx = (*store.Tx)(nil)
	// Consent entries are followed by their event (store.ConsentEvent).
	_ store.ConsentEventTx = WriteTx(nil)
)

// writeTx runs fn in one write transaction of db, seeing only WriteTx: the
// compiler then keeps ingestion to the methods declared above.
func writeTx(ctx context.Context, db Store, fn func(WriteTx) error) error {
	return db.WriteTx(ctx, func(tx *store.Tx) error { return fn(tx) })
}
