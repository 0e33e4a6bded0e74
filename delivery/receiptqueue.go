package delivery

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// The receipt queue (D88): a provider's receipt is stored in receipt_queue
// by one INSERT before the provider is answered (ProviderEvents.Receipt),
// and applied behind it by the applier, a loop per node that takes the
// queue in batches and applies each batch set-based in one transaction:
// the named messages read in one or two queries, their statuses written in
// one UPDATE (Tx.ApplyReceipts), the events of the changed ones written
// together, the receipts whose message has no provider id yet kept pending,
// and the batch's queue rows deleted. A crash between the answer and the
// applier loses nothing: the rows wait for the next start (or for another
// node's applier).

// ReceiptBatch bounds how many queued receipts one applier transaction
// takes.
const ReceiptBatch = 1000

// ReceiptPoll is how often the applier looks at the queue when nothing
// woke it: for receipts another node stored while its own applier is down
// or busy, and after a failed batch.
const ReceiptPoll = 250 * time.Millisecond

// ReceiptLinger is how long the applier, woken by a stored receipt, waits
// for more before it takes a batch: a receipt is applied that much later,
// and a busy queue is applied in batches of hundreds rather than of a few.
const ReceiptLinger = 50 * time.Millisecond

// ReceiptWaitForSender is how long a receipt naming a message whose call
// is in flight (Twilio's ?m=, the message still "sending") stays in the
// queue for the sender to record the provider's id, before it is kept in
// pending_receipts like any receipt for an id not recorded yet.
const ReceiptWaitForSender = 30 * time.Second

// applier is ProviderEvents' background loop over the receipt queue.
type applier struct {
	pass      sync.Mutex // held by a pass over the queue (ApplyQueued)
	init      sync.Once
	wake      chan struct{}
	stop      chan struct{}
	done      chan struct{}
	startOnce sync.Once
	stopOnce  sync.Once
}

func (a *applier) setup() {
	a.init.Do(func() {
		a.wake = make(chan struct{}, 1)
		a.stop = make(chan struct{})
		a.done = make(chan struct{})
	})
}

// Start runs the applier until Stop: it applies what the queue holds now
// (receipts stored before a crash or a restart), then each time a receipt
// is stored (Wake) and every ReceiptPoll.
func (p *ProviderEvents) Start(ctx context.Context) error {
	p.applier.setup()
	p.applier.startOnce.Do(func() { go p.applyLoop(context.WithoutCancel(ctx)) })
	return nil
}

// Stop ends the applier and then applies what is left in the queue (a
// clean shutdown leaves nothing behind; a failure leaves it for the next
// start). Safe to call twice, and without Start.
func (p *ProviderEvents) Stop() {
	p.applier.setup()
	p.applier.stopOnce.Do(func() {
		close(p.applier.stop)
		p.applier.startOnce.Do(func() { close(p.applier.done) })
		<-p.applier.done
		if p.DB == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := p.ApplyQueued(ctx); err != nil {
			p.Log.Warn("receipts left in the queue at shutdown; applied at the next start", "err", err)
		}
	})
}

// Wake tells the applier that receipts were stored. It never blocks.
func (p *ProviderEvents) Wake() {
	p.applier.setup()
	select {
	case p.applier.wake <- struct{}{}:
	default:
	}
}

func (p *ProviderEvents) applyLoop(ctx context.Context) {
	defer close(p.applier.done)
	tick := time.NewTicker(ReceiptPoll)
	defer tick.Stop()
	for {
		if _, err := p.ApplyQueued(ctx); err != nil {
			// The batch's rows are back in the queue (its transaction rolled
			// back): tried again at the next wake or poll.
			p.Log.Error("apply queued receipts", "err", err)
		}
		select {
		case <-p.applier.stop:
			return
		case <-p.applier.wake:
			// Callbacks arrive a few at a time: a moment's wait lets a batch
			// gather, instead of a transaction per few receipts on the
			// database (SQLite's one writer) the sender needs.
			linger := time.NewTimer(ReceiptLinger)
			select {
			case <-p.applier.stop:
				linger.Stop()
				return
			case <-linger.C:
			}
		case <-tick.C:
		}
	}
}

// ApplyQueued applies queued receipts, batch after batch, until the queue
// is empty (or holds only rows other appliers are applying), and returns
// how many it took. It wakes the engine and the sender (OnEvents) after a
// batch that queued events for them.
func (p *ProviderEvents) ApplyQueued(ctx context.Context) (int, error) {
	// One pass at a time on a node: a pass that starts after another has
	// ended sees what that one committed (on PostgreSQL, rows another
	// transaction holds are skipped, not waited for).
	p.applier.pass.Lock()
	defer p.applier.pass.Unlock()
	total := 0
	for {
		n, emitted, err := p.applyBatch(ctx)
		total += n
		if emitted && p.OnEvents != nil {
			p.OnEvents()
		}
		if err != nil || n < p.batch() {
			return total, err
		}
		if ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}

func (p *ProviderEvents) batch() int {
	if p.Batch > 0 {
		return p.Batch
	}
	return ReceiptBatch
}

// Flush applies every receipt this node stored before the call: what is
// queued, and the kept ones whose message has recorded its provider id
// since (SweepPendingReceipts). Tests and tools call it to see a receipt's
// effect without waiting for the applier.
func (p *ProviderEvents) Flush(ctx context.Context) error {
	if _, err := p.ApplyQueued(ctx); err != nil {
		return err
	}
	_, emitted, err := SweepPendingReceipts(ctx, p.DB, p.Clock.Now())
	if emitted && p.OnEvents != nil {
		p.OnEvents()
	}
	return err
}

// applyTries is how many times a batch runs when its transaction collides
// with another node's (two appliers updating the same messages).
const applyTries = 3

// applyBatch takes one batch from the queue and applies it in one
// transaction.
func (p *ProviderEvents) applyBatch(ctx context.Context) (n int, emitted bool, err error) {
	for try := 1; ; try++ {
		now := p.Clock.Now()
		err = writeTx(ctx, p.DB, func(tx WriteTx) error {
			rs, err := tx.TakeReceipts(p.batch())
			if err != nil {
				return err
			}
			n = len(rs)
			emitted, err = applyReceipts(tx, rs, now, p)
			return err
		})
		if err == nil || try >= applyTries || !p.DB.IsConflict(err) {
			break
		}
	}
	if err != nil {
		return 0, false, fmt.Errorf("apply %d queued receipts: %w", n, err)
	}
	return n, emitted, nil
}

// receiptKey names a message by its provider's id.
type receiptKey struct{ provider, providerID string }

// deliveryStep is one status a message reached in a batch, for its event.
type deliveryStep struct {
	m  smsflow.Message // the message as it was right after the receipt
	at time.Time       // when the provider reported it
}

// applyReceipts applies queued receipts, in the order they arrived, as
// RecordDelivery does one at a time — forward only, an event per message
// and status reached, a receipt whose message has not recorded the id kept
// pending, an unknown message named by the receipt (Twilio's ?m=) settled
// — but set-based: the messages are read in one or two queries, the
// statuses written by Tx.ApplyReceipts, the history events together.
func applyReceipts(tx WriteTx, rs []store.QueuedReceipt, now time.Time, p *ProviderEvents) (emitted bool, err error) {
	if len(rs) == 0 {
		return false, nil
	}
	// The messages named by smsflow's id; a receipt whose message is not
	// (yet) recorded with its provider id is looked up by that id.
	var ids []int64
	seen := map[int64]bool{}
	for _, r := range rs {
		if r.MessageID > 0 && !seen[r.MessageID] {
			seen[r.MessageID] = true
			ids = append(ids, r.MessageID)
		}
	}
	byID := map[int64]*smsflow.Message{}
	if len(ids) > 0 {
		if byID, err = tx.MessagesByID(ids); err != nil {
			return false, err
		}
	}
	msgs := map[receiptKey]*smsflow.Message{}
	lookup := map[string][]string{}
	asked := map[receiptKey]bool{}
	for _, r := range rs {
		k := receiptKey{r.Provider, r.ProviderID}
		if m := byID[r.MessageID]; m != nil && m.Direction == "out" && m.Provider == r.Provider && m.ProviderID == r.ProviderID {
			msgs[k] = m
		}
	}
	for _, r := range rs {
		k := receiptKey{r.Provider, r.ProviderID}
		if msgs[k] == nil && !asked[k] {
			asked[k] = true
			lookup[r.Provider] = append(lookup[r.Provider], r.ProviderID)
		}
	}
	for prov, pids := range lookup {
		found, err := tx.MessagesByProviderIDs(prov, pids)
		if err != nil {
			return false, err
		}
		for pid, m := range found {
			msgs[receiptKey{prov, pid}] = m
		}
	}

	type change struct {
		m     *smsflow.Message
		code  string // the last error code a receipt gave, "" none
		steps []deliveryStep
	}
	changes := map[int64]*change{}
	var order []int64
	var pending []store.PendingReceipt
	var later []store.QueuedReceipt
	for _, r := range rs {
		k := receiptKey{r.Provider, r.ProviderID}
		m := msgs[k]
		if m == nil && r.MessageID > 0 {
			// The callback names our message: one a crash left unknown
			// before its provider id was recorded is settled by it.
			if c := byID[r.MessageID]; c != nil && c.Direction == "out" && c.Status == smsflow.MessageUnknown {
				ok, err := tx.SettleUnknown(c.ID, r.Provider, r.ProviderID, smsflow.MessageSent, now)
				if err != nil {
					return false, err
				}
				if ok {
					c.Status, c.Provider, c.ProviderID, c.ErrorCode, c.UpdatedAt = smsflow.MessageSent, r.Provider, r.ProviderID, "", now
					msgs[k], m = c, c
				}
			}
		}
		if m == nil && r.MessageID > 0 && now.Sub(r.ReceivedAt) < ReceiptWaitForSender {
			if c := byID[r.MessageID]; c != nil && c.Direction == "out" && c.Status == smsflow.MessageSending {
				// Its call is in flight: the sender records the id with its
				// round in moments. Left in the queue, the receipt is
				// applied with a later batch, set-based, rather than kept
				// pending and applied one by one in the sender's round.
				later = append(later, r)
				continue
			}
		}
		if m == nil {
			// Kept until its message records the id; the sender's periodic
			// sweep (SweepPendingReceipts) drops the expired ones.
			p.Log.Debug("receipt for an id no message has recorded (yet); kept pending", "provider", r.Provider, "provider_id", r.ProviderID, "status", r.Status)
			pending = append(pending, store.PendingReceipt{Provider: r.Provider, ProviderID: r.ProviderID, Status: r.Status,
				ErrorCode: r.ErrorCode, At: r.At, ReceivedAt: r.ReceivedAt})
			continue
		}
		if m.Status == smsflow.MessageCanceled || m.Direction == "in" || deliveryRank(r.Status) <= deliveryRank(m.Status) {
			continue
		}
		m.Status, m.UpdatedAt = r.Status, now
		c := changes[m.ID]
		if c == nil {
			c = &change{m: m}
			changes[m.ID] = c
			order = append(order, m.ID)
		}
		if r.ErrorCode != "" {
			m.ErrorCode, c.code = r.ErrorCode, r.ErrorCode
		}
		c.steps = append(c.steps, deliveryStep{m: *m, at: r.At})
	}
	if len(order) > 0 {
		updates := make([]store.DeliveryUpdate, len(order))
		for i, id := range order {
			c := changes[id]
			updates[i] = store.DeliveryUpdate{ID: id, Status: c.m.Status, ErrorCode: c.code}
		}
		changed, err := tx.ApplyReceipts(updates, now)
		if err != nil {
			return false, err
		}
		var history []*smsflow.Event
		for _, id := range order {
			if !changed[id] {
				continue // moved as far meanwhile: its events are another's
			}
			for _, st := range changes[id].steps {
				e, err := deliveryEvent(tx, &st.m, st.at, now, &history)
				if err != nil {
					return false, fmt.Errorf("receipt event of message %d: %w", id, err)
				}
				emitted = emitted || e
			}
		}
		if err := tx.InsertHistoryEvents(history); err != nil {
			return false, err
		}
	}
	if err := tx.AddPendingReceipts(pending); err != nil {
		return false, err
	}
	if err := tx.RequeueReceipts(later); err != nil {
		return false, err
	}
	return emitted, nil
}
