package delivery

import (
	"context"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// Store is what sending and its outcomes need of the database outside a
// transaction. *store.DB implements it (D85: consumers declare the narrow
// interfaces they need).
type Store interface {
	// WriteTx runs fn in one write transaction; delivery's code goes
	// through writeTx, which hands fn a WriteTx.
	WriteTx(ctx context.Context, fn func(*store.Tx) error) error

	// messages: a claimed round's calls are marked just before they start
	// (only those can end "unknown" in a crash); a node takes back its own
	// claims at start-up and those of nodes that stopped heartbeating; the
	// interrupted ones are reconciled with the provider (D86).
	MarkCalling(ctx context.Context, ids []int64, claim int64, now time.Time) ([]int64, error)
	RecoverClaims(ctx context.Context, node string, staleBefore, now time.Time) (store.Recovered, error)
	InterruptedMessages(ctx context.Context, provider string, limit int) ([]store.Interrupted, error)

	// consent: the sender's fresh look before calling the provider, and
	// the opt-outs it hears of while a round is in flight.
	LatestConsents(ctx context.Context, phones []string) (map[string]smsflow.ConsentStatus, error)
	OptOutsSince(ctx context.Context, phones []string, since time.Time) (map[string][]time.Time, error)
	OnOptOut(fn func(phones []string)) (cancel func())

	// receipt_queue: a receipt is stored before the provider is answered,
	// applied behind (D88); a batch that collided with another node's is
	// run again.
	EnqueueReceipts(ctx context.Context, rs []store.QueuedReceipt) error
	IsConflict(err error) bool
}

// WriteTx is everything sending and its outcomes read and write inside a
// transaction: the outbox and the pacing it is claimed under, the
// messages' fate, delivery receipts (matched or pending), decisions, and
// the events and consent entries outcomes produce. *store.Tx implements it.
type WriteTx interface {
	// outbox: claiming queued messages, under the sender's pacing
	ClaimOutbox(now time.Time, limit int, scope store.OutboxScope) ([]*smsflow.Message, error)
	// the calls due right after the claim commits, marked in its
	// transaction (D96)
	MarkCalling(ids []int64, claim int64, now time.Time) ([]int64, error)
	ReleaseClaim(node string, claim int64) error
	LockPacing(sender string) (store.PacingState, error)
	ReservePacing(sender string, now time.Time, span time.Duration, day int64, segments int) (time.Time, error)
	RefundPacing(sender string, day int64, segments int) error

	// messages: what became of each claimed one
	MarkSent(provider, sender string, ids []int64, providerIDs, statuses []string, now time.Time) error
	SetMessageStatus(id int64, status, provider, providerID, errorCode string, now time.Time) error
	RequeueMessage(id int64, next time.Time, errorCode string, now time.Time) error
	CountAttempt(id int64) (int, error)
	SetDeliveryStatus(id int64, status, errorCode string, now time.Time) error
	MessageByProviderID(provider, providerID string) (*smsflow.Message, error)
	// an interrupted ("unknown") message: found at the provider, sent
	// again, or given up (D86)
	SettleUnknown(id int64, provider, providerID, status string, now time.Time) (bool, error)
	RequeueUnknown(id int64, errorCode string, now time.Time) (bool, error)
	GiveUpUnknown(id int64, errorCode string, now time.Time) (bool, error)

	// pending_receipts: receipts that arrived before their message was
	// recorded as sent
	AddPendingReceipt(r store.PendingReceipt) error
	PendingReceiptIDs(provider string, providerIDs []string) (map[string]bool, error)
	TakePendingReceipts(provider, providerID string) ([]store.PendingReceipt, error)
	MatchedPendingReceipts(limit int) ([]store.PendingReceipt, error)
	DeletePendingReceipt(id int64) error
	PrunePendingReceipts(cutoff time.Time) (int64, error)

	// receipt_queue: the applier takes a batch, reads the messages it
	// names, and writes their statuses in one statement (D88)
	TakeReceipts(limit int) ([]store.QueuedReceipt, error)
	RequeueReceipts(rs []store.QueuedReceipt) error
	MessagesByID(ids []int64) (map[int64]*smsflow.Message, error)
	MessagesByProviderIDs(provider string, providerIDs []string) (map[string]*smsflow.Message, error)
	ApplyReceipts(updates []store.DeliveryUpdate, now time.Time) (map[int64]bool, error)
	AddPendingReceipts(rs []store.PendingReceipt) error

	// contacts: a number the provider says cannot take SMS, and the lock
	// a contact's consent is read and written under
	UnreachablePhones(phones []string) (map[string]string, error)
	MarkPhoneType(phone, phoneType string, now time.Time) error
	LockContact(id string) error

	// consent: the recheck before sending, and carrier opt-outs
	LatestConsents(phones []string) (map[string]smsflow.ConsentStatus, error)
	ContactConsent(phone string) (smsflow.ConsentStatus, error)
	AppendConsent(e *smsflow.ConsentEntry) error

	// decisions: a send failed or canceled after it was decided
	InsertDecision(d *smsflow.Decision) error

	// events and the engine's inbox: delivery events, consent events
	Queues(name string) bool
	InsertEvent(e *smsflow.Event) (bool, error)
	InsertHistoryEvent(e *smsflow.Event) error
	InsertHistoryEvents(events []*smsflow.Event) error
	AddInbox(contactID string, eventSeq int64) error
}

var (
	_ Store   = (*store.DB)(nil)
	_ WriteTx = (*store.Tx)(nil)
	// A carrier opt-out is followed by its event (store.ConsentEvent).
	_ store.ConsentEventTx = WriteTx(nil)
)

// writeTx runs fn in one write transaction of db, seeing only WriteTx: the
// compiler then keeps delivery to the methods declared above.
func writeTx(ctx context.Context, db Store, fn func(WriteTx) error) error {
	return db.WriteTx(ctx, func(tx *store.Tx) error { return fn(tx) })
}
