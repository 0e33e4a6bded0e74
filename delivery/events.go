package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/store"
)

// ProviderEvents is what a provider hands its delivery receipts and inbound
// texts to (provider.Events): receipts update the message they name here,
// inbound texts go to HandleInbound. Safe for concurrent use.
type ProviderEvents struct {
	DB       Store
	Clock    smsflow.Clock
	Log      *slog.Logger
	Provider string // the provider's name, as on the messages it sent
	// HandleInbound stores a text a contact sent through this provider and
	// applies what it means (keywords, consent, replies): the one place
	// inbound texts are handled, ingest.InboundTexts.Receive, injected by the
	// wiring so that sending and its outcomes do not depend on ingest. stored
	// is false when the text was dropped or seen before (nothing to wake).
	HandleInbound func(ctx context.Context, in provider.Inbound) (stored bool, err error)
	// OnEvents, if set, is called after something was stored that the
	// engine or the sender should look at now (an event in the inbox, an
	// automatic reply in the outbox). It may be called from several
	// goroutines at once.
	OnEvents func()

	mu       sync.Mutex
	queue    []*receiptReq // receipts waiting for the next group commit
	draining int           // goroutines committing groups (≤ ReceiptCommitters)
}

var _ provider.Events = (*ProviderEvents)(nil)

// Receipt applies a delivery receipt to the message the provider knows by
// r.ProviderID. A receipt for an id no message has recorded yet (the
// provider called back before the sender's write committed) is kept in
// pending_receipts and applied when the sender records the id; one still
// unmatched after PendingReceiptTTL is dropped.
func (p *ProviderEvents) Receipt(ctx context.Context, r provider.Receipt) error {
	if r.ProviderID == "" {
		return nil
	}
	if err := smsflow.CheckID("provider id", r.ProviderID, smsflow.MaxIDLength); err != nil {
		// No message carries such an id: nothing to apply, nothing to retry.
		p.Log.Warn("receipt with an id no message can have dropped", "provider", p.Provider, "provider_id", r.ProviderID, "err", err.Message)
		return nil
	}
	switch r.Status {
	case smsflow.MessageSent, smsflow.MessageDelivered, smsflow.MessageUndelivered, smsflow.MessageFailed:
	default:
		p.Log.Debug("receipt with a status smsflow does not track ignored", "provider", p.Provider, "provider_id", r.ProviderID, "status", r.Status)
		return nil
	}
	req := &receiptReq{r: r, done: make(chan error, 1)}
	p.mu.Lock()
	p.queue = append(p.queue, req)
	lead := p.draining < ReceiptCommitters
	if lead {
		p.draining++
	}
	p.mu.Unlock()
	if lead {
		// Up to ReceiptCommitters goroutines commit what is waiting, group
		// after group, and end when nothing is left; every caller waits
		// for its own group.
		go p.drain()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err() // the group still commits it
	}
}

// receiptReq is one receipt waiting for its group's commit.
type receiptReq struct {
	r    provider.Receipt
	done chan error
}

// ReceiptGroup bounds how many receipts one transaction applies.
const ReceiptGroup = 256

// ReceiptCommitters is how many group commits of receipts may run at once
// (PostgreSQL runs them in parallel; SQLite queues them on its writer).
const ReceiptCommitters = 4

// drain commits the waiting receipts in groups until none is left. A
// provider posts a status callback per message (Twilio: sent, then
// delivered), as many as the sends: one transaction per callback made the
// callbacks the limit of the send pipeline (docs/benchmarks.md, bench send
// --receipts).
func (p *ProviderEvents) drain() {
	for {
		p.mu.Lock()
		group := p.queue
		if len(group) == 0 {
			p.draining--
			p.mu.Unlock()
			return
		}
		if len(group) > ReceiptGroup {
			group, p.queue = group[:ReceiptGroup], group[ReceiptGroup:]
		} else {
			p.queue = nil
		}
		p.mu.Unlock()
		errs := make([]error, len(group))
		emitted, err := p.applyReceipts(group)
		if err != nil && len(group) > 1 {
			// One bad receipt must not fail the others: each alone.
			emitted = false
			for i, req := range group {
				e, err := p.applyReceipts([]*receiptReq{req})
				emitted, errs[i] = emitted || e, err
			}
		} else {
			for i := range errs {
				errs[i] = err
			}
		}
		// The wake-up comes before the answers, as it did when each receipt
		// was its own transaction.
		if emitted && p.OnEvents != nil {
			p.OnEvents()
		}
		for i, req := range group {
			req.done <- errs[i]
		}
	}
}

// applyReceipts applies a group of receipts in one transaction.
func (p *ProviderEvents) applyReceipts(group []*receiptReq) (emitted bool, err error) {
	now := p.Clock.Now()
	err = writeTx(context.Background(), p.DB, func(tx WriteTx) error {
		emitted = false
		for _, req := range group {
			r := req.r
			m, err := tx.MessageByProviderID(p.Provider, r.ProviderID)
			if err != nil {
				return err
			}
			if m == nil && r.MessageID != 0 {
				// The callback names our message: one a crash left unknown
				// before its provider id was recorded is settled by it.
				ok, err := tx.SettleUnknown(r.MessageID, p.Provider, r.ProviderID, smsflow.MessageSent, now)
				if err != nil {
					return err
				}
				if ok {
					if m, err = tx.MessageByProviderID(p.Provider, r.ProviderID); err != nil {
						return err
					}
				}
			}
			if m == nil {
				// Kept until its message records the id; the sender's periodic
				// sweep (SweepPendingReceipts) drops the expired ones.
				p.Log.Debug("receipt for an id no message has recorded (yet); kept pending", "provider", p.Provider, "provider_id", r.ProviderID, "status", r.Status)
				if err := tx.AddPendingReceipt(store.PendingReceipt{Provider: p.Provider, ProviderID: r.ProviderID, Status: r.Status,
					ErrorCode: r.ErrorCode, At: r.At, ReceivedAt: now}); err != nil {
					return err
				}
				continue
			}
			e, err := RecordDelivery(tx, m, r.Status, r.ErrorCode, r.At, now)
			if err != nil {
				return err
			}
			emitted = emitted || e
		}
		return nil
	})
	if err != nil && len(group) == 1 {
		err = fmt.Errorf("receipt %s: %w", group[0].r.ProviderID, err)
	}
	return emitted, err
}

// Inbound hands a text a contact sent to HandleInbound, and wakes the
// engine and the sender when it was stored.
func (p *ProviderEvents) Inbound(ctx context.Context, in provider.Inbound) error {
	stored, err := p.HandleInbound(ctx, in)
	if err != nil || !stored {
		return err
	}
	if p.OnEvents != nil {
		p.OnEvents()
	}
	return nil
}
