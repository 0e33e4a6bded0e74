package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"unicode/utf8"

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
	// Batch is how many queued receipts one applier transaction takes
	// (0: ReceiptBatch).
	Batch int

	mu       sync.Mutex
	queue    []*receiptReq // receipts waiting for the next group commit
	draining int           // goroutines committing groups (≤ ReceiptCommitters)

	applier applier // applies the receipt queue (receiptqueue.go)
}

var _ provider.Events = (*ProviderEvents)(nil)

// Receipt stores a delivery receipt in the receipt queue and returns once
// it is durable (the provider's webhook then answers 2xx; an error asks the
// provider to retry). Receipts arriving together share one INSERT (a group
// commit). The applier (Start, ApplyQueued) applies them to their messages
// behind it: a receipt for an id no message has recorded yet (the provider
// called back before the sender's write committed) is kept in
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
	if r.MessageID < 0 {
		r.MessageID = 0 // no message has it: matched by the provider's id alone
	}
	// The code is stored as text: cleaned (PostgreSQL refuses NUL and
	// invalid UTF-8, and the provider would retry the receipt forever)
	// and cut on a character boundary.
	r.ErrorCode = smsflow.CleanText(r.ErrorCode)
	if len(r.ErrorCode) > maxErrorCode {
		cut := maxErrorCode
		for cut > 0 && !utf8.RuneStart(r.ErrorCode[cut]) {
			cut--
		}
		r.ErrorCode = r.ErrorCode[:cut]
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

// maxErrorCode bounds a provider's error code as stored.
const maxErrorCode = 64

// receiptReq is one receipt waiting for its group's commit.
type receiptReq struct {
	r    provider.Receipt
	done chan error
}

// ReceiptGroup bounds how many receipts one INSERT stores.
const ReceiptGroup = 256

// ReceiptCommitters is how many group commits of receipts may run at once
// (PostgreSQL runs them in parallel; SQLite queues them on its writer).
const ReceiptCommitters = 4

// drain stores the waiting receipts in groups until none is left. A
// provider posts a status callback per message (Twilio: sent, then
// delivered), as many as the sends: a transaction per callback that also
// applied it made the callbacks the limit of the send pipeline
// (docs/benchmarks.md, bench send --receipts); storing is one INSERT.
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
		err := p.enqueue(group)
		if err != nil && len(group) > 1 {
			// One bad receipt must not fail the others: each alone.
			for i, req := range group {
				errs[i] = p.enqueue([]*receiptReq{req})
			}
		} else {
			for i := range errs {
				errs[i] = err
			}
		}
		p.Wake()
		for i, req := range group {
			req.done <- errs[i]
		}
	}
}

// enqueue stores a group of receipts in the receipt queue.
func (p *ProviderEvents) enqueue(group []*receiptReq) error {
	now := p.Clock.Now()
	rs := make([]store.QueuedReceipt, len(group))
	for i, req := range group {
		r := req.r
		at := r.At
		if at.IsZero() {
			at = now
		}
		rs[i] = store.QueuedReceipt{Provider: p.Provider, ProviderID: r.ProviderID, MessageID: r.MessageID, Status: r.Status,
			ErrorCode: r.ErrorCode, At: at, ReceivedAt: now}
	}
	err := p.DB.EnqueueReceipts(context.Background(), rs)
	if err != nil && len(group) == 1 {
		err = fmt.Errorf("receipt %s: %w", group[0].r.ProviderID, err)
	}
	return err
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
