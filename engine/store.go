package engine

import (
	"context"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// Store is what the engine and its catalog need of the database outside a
// transaction. *store.DB implements it (D85: consumers declare the narrow
// interfaces they need).
type Store interface {
	// WriteTx runs fn in one write transaction; the engine's code goes
	// through writeTx, which hands fn a WriteTx.
	WriteTx(ctx context.Context, fn func(*store.Tx) error) error
	// Dialect names the database (audience scans shard on PostgreSQL only).
	Dialect() store.Dialect

	// runs, inactivity_timers, segment_jobs, scheduled_entries: when each
	// kind of timer is next due, so the loop runs the batches of the kinds
	// due and sleeps until the next
	Wakes(ctx context.Context) (store.Wakes, error)

	// segment_jobs: one audience scan per flow version and moment
	EnsureSegmentJob(ctx context.Context, j store.SegmentJob) error

	// flows and flow_versions: the catalog's heads, versions and edits
	FlowHeads(ctx context.Context) ([]store.FlowHead, error)
	FlowVersions(ctx context.Context) ([]store.FlowVersion, error)
	FlowSource(ctx context.Context, id string, version int) (source, file string, err error)
	SaveFlow(ctx context.Context, id, hash, source, file, origin, status string, now time.Time) (store.FlowHead, bool, error)
	ArchiveFlow(ctx context.Context, id string, now time.Time) (store.Archived, error)

	// nodes and node_flows: which live node loads which flow file
	LoadedFlows(ctx context.Context, since time.Time) ([]store.LoadedFlow, error)
	RecordNodeFlows(ctx context.Context, node, source string, flows []store.NodeFlow, now, forgetBefore time.Time) error
	HeartbeatNode(ctx context.Context, node string, now time.Time) (found bool, err error)
	RemoveNode(ctx context.Context, node string) error
}

// StepTx is what the batch and the interpreter read and write inside a
// transaction while they decide for contacts (D84): the batch's loads and
// ordered writers, and the few reads and writes a step makes on its own.
// *store.Tx implements it; the engine's pure tests answer it from rows in
// memory (engine/memtx_test.go).
type StepTx interface {
	// Context is the transaction's context (a flow version compiled on
	// demand is read under it).
	Context() context.Context

	// contacts and consent: the batch's load (contacts locked, with their
	// consent, open runs, entries, recent sends and marketing), and a
	// step's fresh read after an identify or a consent change
	LoadContacts(ids []string, l store.Load) (map[string]*store.ContactState, error)
	OpenRunsOf(ids []string) (map[string][]*smsflow.Run, error)
	EntriesOf(ids []string) (map[string]map[string]store.Entry, error)
	RecentSendsOf(ids []string, since time.Time) (map[string][]store.SentRecord, error)
	MarketingOf(ids []string) (map[string]map[string]bool, error)
	ContactByID(id string) (*smsflow.Contact, error)
	ContactConsent(phone string) (smsflow.ConsentStatus, error)
	UpdateContact(c *smsflow.Contact) error

	// runs: loaded by id (timers due), goal candidates, new ids, and the
	// batch's writers
	RunsByID(ids []int64) (map[int64]*smsflow.Run, error)
	RunsAwaitingGoal(contactID string, since time.Time) ([]*smsflow.Run, error)
	ReserveRunID() (int64, error)
	InsertRuns(runs []*smsflow.Run) error
	UpdateRuns(runs []*smsflow.Run) error
	DeleteRun(id int64) error

	// messages: never twice, the goal's last-touch order, cancels, the
	// batch's writer, and the CEL facts delivered() and replied()
	MessageSteps(runIDs []int64) (map[int64]map[string]bool, error)
	LastRunMessage(runID int64) (int64, error)
	CancelQueued(runID int64, now time.Time) (int64, error)
	CancelContactQueued(contactID, code string, now time.Time) ([]store.CanceledMessage, error)
	InsertMessages(ms []*smsflow.Message) error
	StepMessageStatus(runID int64, stepID string) (string, error)
	RunReplied(contactID string, since time.Time) (bool, error)
	// ConsumeReplies marks the inbound texts a run consumed (a wait it
	// resumed, a run it started): the batch's writer; the inbox leaves
	// them out (D100).
	ConsumeReplies(rs []store.ConsumedReply) error

	// decisions: the batch's writer
	InsertDecisions(ds []*smsflow.Decision) error

	// events: a trusted twin of an event, and the CEL facts count(),
	// within() and last()
	TrustedEventWithKey(dedupeKey string) (bool, error)
	CountEventsSince(contactID, name string, since, until time.Time) (int, error)
	LastEventTime(contactID, name string, until time.Time) (time.Time, bool, error)

	// links: a send's tracked links, and the CEL fact clicked()
	InsertLink(l *store.Link) (bool, error)
	StepClicked(runID int64, stepID string) (bool, error)

	// date_skips and inactivity_timers: a date trigger's skip note, an
	// inactivity flow's deadline
	SetDateSkip(flowID, contactID, note string) error
	SetInactivityTimer(flowID, contactID string, due time.Time, eventSeq int64) error
}

// WriteTx is everything the engine reads and writes inside a transaction:
// a step's (StepTx), and what its loops claim — the inbox, due timers,
// scheduled entries, inactivity deadlines and audience scans.
type WriteTx interface {
	StepTx

	// inbox and events: the engine's queue of stored events
	ClaimInbox(limit int) ([]store.InboxItem, error)
	OldestInbox(contactIDs []string) (map[string]int64, error)
	OlderInbox(contactID string, seq int64) (bool, error)
	DeleteInboxItems(seqs []int64) error
	EventsBySeq(seqs []int64) (map[int64]*smsflow.Event, error)
	EventBySeq(seq int64) (*smsflow.Event, error)
	Queues(name string) bool

	// runs: timers due
	DueRuns(now time.Time, limit int) ([]store.DueRun, error)

	// contacts: the lock an inactivity entry is made under, and an
	// audience scan's next page
	LockContact(id string) error
	ContactIDsAfter(cursor string, limit int) ([]string, error)

	// inactivity_timers: deadlines passed
	DueInactivity(now time.Time, limit int) ([]store.InactivityTimer, error)
	TakeInactivity(it store.InactivityTimer) (bool, error)

	// scheduled_entries, date_skips and segment_jobs: audience scans and
	// the entries they schedule
	DueSegmentJob(now time.Time) (*store.SegmentJob, error)
	UpdateSegmentJob(j *store.SegmentJob) error
	DateSkips(flowID string, contactIDs []string) (map[string]string, error)
	ScheduleEntries(entries []store.ScheduledEntry) error
	TakeDueEntries(now time.Time, limit int) ([]store.ScheduledEntry, error)
}

var (
	_ Store   = (*store.DB)(nil)
	_ WriteTx = (*store.Tx)(nil)
)

// writeTx runs fn in one write transaction of db, seeing only WriteTx: the
// compiler then keeps the engine to the methods declared above.
func writeTx(ctx context.Context, db Store, fn func(WriteTx) error) error {
	return db.WriteTx(ctx, func(tx *store.Tx) error { return fn(tx) })
}
