package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/store"
)

// PendingReceiptTTL is how long a receipt whose message has not recorded
// the provider's id yet is kept. The sender records ids within seconds; a
// receipt still waiting after this names a message a crash left unknown, or
// one that is not ours.
const PendingReceiptTTL = time.Hour

// deliveryRank orders the statuses a receipt may set: a receipt moves a
// message forward only (a late "sent" never undoes "delivered"; a failure
// never undoes a delivery), and a repeated receipt changes nothing.
func deliveryRank(status string) int {
	switch status {
	case smsflow.MessageSent:
		return 1
	case smsflow.MessageUndelivered, smsflow.MessageFailed:
		return 2
	case smsflow.MessageDelivered:
		return 3
	}
	return 0 // queued, sending, unknown: nothing reported yet
}

// Immediate is the status a provider's answer to a send already reports
// beyond "sent" (the console's delivered), "" when it reports nothing more:
// the sender records it with the round's sent messages (Tx.MarkSent) and
// emits its event with DeliveryEvent.
func Immediate(status string) string {
	if deliveryRank(status) > deliveryRank(smsflow.MessageSent) {
		return status
	}
	return ""
}

// RecordDelivery applies a delivery status to an outbound message — from a
// provider's receipt, or at once when the provider knows delivery when it
// answers (console) — and, for a message of a run, emits Message Delivered
// or Message Failed (undelivered and failed both) through DeliveryEvent so
// flows can wait on them. It is the one path every receipt takes. A status
// that would move the message backwards is ignored. emitted says an event
// was queued for the engine.
func RecordDelivery(tx *store.Tx, m *smsflow.Message, status, errorCode string, at, now time.Time) (emitted bool, err error) {
	if m.Status == smsflow.MessageCanceled || m.Direction == "in" {
		return false, nil
	}
	if deliveryRank(status) <= deliveryRank(m.Status) {
		return false, nil
	}
	if err := tx.SetDeliveryStatus(m.ID, status, errorCode, now); err != nil {
		return false, fmt.Errorf("record delivery of message %d: %w", m.ID, err)
	}
	m.Status, m.UpdatedAt = status, now
	if errorCode != "" {
		m.ErrorCode = errorCode
	}
	return DeliveryEvent(tx, m, at, now)
}

// DeliveryEvent stores the event for the status m now has — Message
// Delivered, or Message Failed for undelivered and failed — once per message
// and status, when m belongs to a run, and queues it for the engine when a
// flow reacts to it (Tx.Queues). emitted says an event was queued.
func DeliveryEvent(tx *store.Tx, m *smsflow.Message, at, now time.Time) (emitted bool, err error) {
	status := m.Status
	var name string
	switch status {
	case smsflow.MessageDelivered:
		name = smsflow.EventMessageDelivered
	case smsflow.MessageFailed, smsflow.MessageUndelivered:
		name = smsflow.EventMessageFailed
	}
	if name == "" || m.RunID == 0 {
		return false, nil
	}
	if at.IsZero() {
		at = now
	}
	ev := &smsflow.Event{MessageID: fmt.Sprintf("dlr-%d-%s", m.ID, status), Type: smsflow.EventTrack, Name: name, ContactID: m.ContactID,
		Properties: map[string]any{"message_id": m.ID, "flow": m.FlowID, "step": m.StepID, "run_id": m.RunID, "error_code": m.ErrorCode,
			"status": status, "provider": m.Provider},
		Timestamp: at, ReceivedAt: now}
	if !tx.Queues(name) {
		tx.InsertHistoryEvent(ev) // no flow reacts to it: history only
		return false, nil
	}
	inserted, err := tx.InsertEvent(ev)
	if err != nil || !inserted {
		return false, err
	}
	if err := tx.AddInbox(m.ContactID, ev.Seq); err != nil {
		return false, err
	}
	return true, nil
}

// ApplyPendingReceipts applies the receipts that arrived for m before its
// provider id was recorded. The sender calls it in the transaction that
// records the id.
func ApplyPendingReceipts(tx *store.Tx, m *smsflow.Message, now time.Time) (emitted bool, err error) {
	pending, err := tx.TakePendingReceipts(m.Provider, m.ProviderID)
	if err != nil {
		return false, err
	}
	for _, r := range pending {
		e, err := RecordDelivery(tx, m, r.Status, r.ErrorCode, r.At, now)
		if err != nil {
			return false, err
		}
		emitted = emitted || e
	}
	return emitted, nil
}

// SweepPendingReceipts applies kept receipts whose message has recorded
// the provider id after all — the receipt and the sender's write ran at the
// same moment on PostgreSQL and neither saw the other, or another node sent
// the message — and drops those kept longer than PendingReceiptTTL. The
// sender runs it every PendingSweepInterval. emitted says events were
// queued for the engine.
func SweepPendingReceipts(ctx context.Context, db *store.DB, now time.Time) (applied int, emitted bool, err error) {
	err = db.WriteTx(ctx, func(tx *store.Tx) error {
		applied, emitted = 0, false
		if _, err := tx.PrunePendingReceipts(now.Add(-PendingReceiptTTL)); err != nil {
			return err
		}
		matched, err := tx.MatchedPendingReceipts(100)
		if err != nil {
			return err
		}
		for _, r := range matched {
			m, err := tx.MessageByProviderID(r.Provider, r.ProviderID)
			if err != nil {
				return err
			}
			if m != nil {
				e, err := RecordDelivery(tx, m, r.Status, r.ErrorCode, r.At, now)
				if err != nil {
					return err
				}
				emitted = emitted || e
				applied++
			}
			if err := tx.DeletePendingReceipt(r.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return applied, emitted, err
}

// PendingSweepInterval is how often the sender looks for kept receipts
// whose message has recorded its id (SweepPendingReceipts).
const PendingSweepInterval = time.Second

// CarrierOptOut records that the provider refused a message because the
// number opted out with the carrier or the provider (Twilio 21610): an
// unsubscribed entry in the number's consent ledger, source carrier, and the
// Unsubscribed event that makes the engine end the contact's runs and
// cancel its queued sends. The caller holds the contact's lock. A number
// already unsubscribed gets no second entry.
func CarrierOptOut(tx *store.Tx, m *smsflow.Message, providerName, code string, now time.Time) error {
	before, err := tx.ContactConsent(m.Phone)
	if err != nil {
		return err
	}
	if before == smsflow.ConsentUnsubscribed {
		return nil
	}
	e := &smsflow.ConsentEntry{Phone: m.Phone, ContactID: m.ContactID, Status: smsflow.ConsentUnsubscribed, Source: smsflow.SourceCarrier,
		Evidence:  map[string]any{"provider": providerName, "error_code": code, "message_id": m.ID},
		MessageID: "msg-" + strconv.FormatInt(m.ID, 10), OccurredAt: now.UTC(), RecordedAt: now}
	if err := tx.AppendConsent(e); err != nil {
		return err
	}
	return ConsentEvent(tx, e, before, true)
}

// ProviderEvents is what a provider hands its delivery receipts and inbound
// texts to (provider.Events): receipts update the message they name,
// inbound texts go through Inbound (keywords, replies) under the provider's
// name. Safe for concurrent use.
type ProviderEvents struct {
	DB       *store.DB
	Clock    smsflow.Clock
	Log      *slog.Logger
	Provider string         // the provider's name, as on the messages it sent
	Options  InboundOptions // for inbound texts; InboundOptionsFromConfig(cfg, Provider)
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
// delivered), as many as the sends: one transaction per callback was the
// limit (781 callbacks/s on PostgreSQL in bench send --receipts).
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
	err = p.DB.WriteTx(context.Background(), func(tx *store.Tx) error {
		emitted = false
		for _, req := range group {
			r := req.r
			m, err := tx.MessageByProviderID(p.Provider, r.ProviderID)
			if err != nil {
				return err
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

// Inbound stores a text a contact sent, once per provider id (a webhook
// delivered twice is stored once), through Inbound. A text that can never
// be stored (a sender that is not a phone number) is logged and dropped, so
// the provider does not retry it forever; a provider id that is no id
// (smsflow.CheckID) is logged and left out, and the text stored without it.
func (p *ProviderEvents) Inbound(ctx context.Context, in provider.Inbound) error {
	if err := smsflow.CheckID("provider id", in.ProviderID, smsflow.MaxIDLength); err != nil {
		// The text still counts (it may be a STOP); only its dedupe is lost.
		p.Log.Warn("inbound text with an id that cannot be stored; kept without it", "provider", p.Provider, "provider_id", in.ProviderID, "err", err.Message)
		in.ProviderID = ""
	}
	if in.ProviderID != "" {
		seen, err := p.DB.InboundSeen(ctx, p.Provider, in.ProviderID)
		if err != nil {
			return err
		}
		if seen {
			p.Log.Debug("inbound text received again; stored once", "provider", p.Provider, "provider_id", in.ProviderID)
			return nil
		}
	}
	res, err := Inbound(ctx, p.DB, p.Clock, in.From, in.Body, p.Options)
	if err != nil {
		if smsflow.ErrorCode(err) == smsflow.EINVALID {
			p.Log.Warn("inbound text dropped", "provider", p.Provider, "from", phone.Mask(in.From), "provider_id", in.ProviderID, "err", smsflow.ErrorMessage(err))
			return nil
		}
		return err
	}
	if in.ProviderID != "" {
		// A separate write: a crash between the two stores a resent webhook twice.
		if err := p.DB.WriteTx(ctx, func(tx *store.Tx) error { return tx.SetInboundProviderID(res.MessageID, in.ProviderID) }); err != nil {
			p.Log.Warn("record inbound provider id", "provider", p.Provider, "provider_id", in.ProviderID, "err", err)
		}
	}
	if p.OnEvents != nil {
		p.OnEvents()
	}
	return nil
}
