package delivery_test

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// receiptWorld is a subscribed contact with events wired to a provider.
type receiptWorld struct {
	t       *testing.T
	db      *store.DB
	clk     *movingClock
	contact string
	ev      *delivery.ProviderEvents
	woken   atomic.Int64 // OnEvents may be called from several goroutines
}

func newReceiptWorld(t *testing.T, db *store.DB) *receiptWorld {
	w := &receiptWorld{t: t, db: db, clk: &movingClock{t: time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC)}}
	w.contact = subscribe(t, db, w.clk, "+14155550100")
	w.ev = &delivery.ProviderEvents{DB: db, Clock: w.clk, Log: slog.New(slog.DiscardHandler), Provider: "twilio",
		OnEvents: func() { w.woken.Add(1) }}
	return w
}

// message writes an outbound message of run 7 in the given state.
func (w *receiptWorld) message(status, providerID string) *smsflow.Message {
	w.t.Helper()
	now := w.clk.Now()
	m := &smsflow.Message{Direction: "out", RunID: 7, StepID: "offer-" + providerID, FlowID: "sale", Category: "promo", ContactID: w.contact,
		Phone: "+14155550100", Body: "Sale", Encoding: "GSM-7", Characters: 4, Segments: 1, Status: status,
		Provider: "twilio", ProviderID: providerID, CreatedAt: now, UpdatedAt: now}
	if err := w.db.WriteTx(ctx, func(tx *store.Tx) error { _, err := tx.InsertMessage(m); return err }); err != nil {
		w.t.Fatal(err)
	}
	return m
}

func (w *receiptWorld) receipt(id, status, code string) {
	w.t.Helper()
	w.clk.advance(time.Second)
	if err := w.ev.Receipt(ctx, provider.Receipt{ProviderID: id, Status: status, ErrorCode: code}); err != nil {
		w.t.Fatal(err)
	}
	w.apply()
}

// apply runs the applier's pass over the receipt queue (serve runs it in
// the background: ProviderEvents.Start).
func (w *receiptWorld) apply() {
	w.t.Helper()
	if _, err := w.ev.ApplyQueued(ctx); err != nil {
		w.t.Fatal(err)
	}
}

func (w *receiptWorld) status(id int64) (string, string) {
	w.t.Helper()
	msgs, err := w.db.Messages(ctx, store.MessageFilter{ContactID: w.contact})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, m := range msgs {
		if m.ID == id {
			return m.Status, m.ErrorCode
		}
	}
	w.t.Fatalf("no message %d", id)
	return "", ""
}

// deliveryEvents lists the contact's Message Delivered / Failed events.
func (w *receiptWorld) deliveryEvents() []string {
	w.t.Helper()
	evs, err := w.db.EventsByContact(ctx, w.contact, 100)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		if e.Name == smsflow.EventMessageDelivered || e.Name == smsflow.EventMessageFailed {
			out = append(out, e.Name)
		}
	}
	return out
}

func TestReceiptsMoveMessagesForwardOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newReceiptWorld(t, db)
		m := w.message(smsflow.MessageSent, "SM1")
		w.receipt("SM1", smsflow.MessageDelivered, "")
		if st, _ := w.status(m.ID); st != smsflow.MessageDelivered {
			t.Fatalf("status %s, want delivered", st)
		}
		// Late and repeated receipts change nothing and emit nothing more.
		w.receipt("SM1", smsflow.MessageSent, "")
		w.receipt("SM1", smsflow.MessageFailed, "30003")
		w.receipt("SM1", smsflow.MessageDelivered, "")
		if st, code := w.status(m.ID); st != smsflow.MessageDelivered || code != "" {
			t.Errorf("after late receipts: %s %q, want delivered", st, code)
		}
		if got := w.deliveryEvents(); !slices.Equal(got, []string{smsflow.EventMessageDelivered}) {
			t.Errorf("events %v, want one Message Delivered", got)
		}
		if w.woken.Load() != 1 {
			t.Errorf("engine woken %d times, want 1", w.woken.Load())
		}

		// Undelivered is a failure with the carrier's code; a failed message
		// may still be reported delivered later (a carrier retry).
		m2 := w.message(smsflow.MessageSent, "SM2")
		w.receipt("SM2", smsflow.MessageUndelivered, "30005")
		if st, code := w.status(m2.ID); st != smsflow.MessageUndelivered || code != "30005" {
			t.Errorf("undelivered: %s %q", st, code)
		}
		w.receipt("SM2", smsflow.MessageFailed, "30006")
		if st, code := w.status(m2.ID); st != smsflow.MessageUndelivered || code != "30005" {
			t.Errorf("failed after undelivered: %s %q, want unchanged", st, code)
		}
		if got := w.deliveryEvents(); !slices.Equal(got, []string{smsflow.EventMessageDelivered, smsflow.EventMessageFailed}) {
			t.Errorf("events %v", got)
		}
	})
}

func TestReceiptBeforeTheSentRowIsKeptAndApplied(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newReceiptWorld(t, db)
		// The sender has claimed the message and called the provider, which
		// called back before the sender recorded its id.
		m := w.message(smsflow.MessageSending, "")
		w.receipt("SM9", smsflow.MessageDelivered, "")
		if st, _ := w.status(m.ID); st != smsflow.MessageSending {
			t.Fatalf("status %s before the id is recorded, want sending", st)
		}
		if got := w.deliveryEvents(); len(got) != 0 {
			t.Fatalf("events before the id is recorded: %v", got)
		}
		// The sender records the id and, in the same transaction, applies
		// what was waiting.
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			now := w.clk.Now()
			if err := tx.SetMessageStatus(m.ID, smsflow.MessageSent, "twilio", "SM9", "", now); err != nil {
				return err
			}
			m.Status, m.ProviderID = smsflow.MessageSent, "SM9"
			_, err := delivery.ApplyPendingReceipts(tx, m, now)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := w.status(m.ID); st != smsflow.MessageDelivered {
			t.Errorf("status %s after the id is recorded, want delivered", st)
		}
		if got := w.deliveryEvents(); !slices.Equal(got, []string{smsflow.EventMessageDelivered}) {
			t.Errorf("events %v", got)
		}
		// Applied once: nothing is left waiting.
		err = db.WriteTx(ctx, func(tx *store.Tx) error {
			left, err := tx.TakePendingReceipts("twilio", "SM9")
			if len(left) != 0 {
				t.Errorf("left pending: %+v", left)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestReceiptForAnUnknownIDIsDroppedLater(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newReceiptWorld(t, db)
		w.receipt("SM-not-ours", smsflow.MessageDelivered, "")
		w.clk.advance(delivery.PendingReceiptTTL + time.Minute)
		w.receipt("SM-other", smsflow.MessageDelivered, "")
		if _, _, err := delivery.SweepPendingReceipts(ctx, db, w.clk.Now()); err != nil { // prunes the old one
			t.Fatal(err)
		}
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			old, err := tx.TakePendingReceipts("twilio", "SM-not-ours")
			if err != nil {
				return err
			}
			recent, err := tx.TakePendingReceipts("twilio", "SM-other")
			if len(old) != 0 || len(recent) != 1 {
				t.Errorf("pending after the TTL: old %d, recent %d; want 0 and 1", len(old), len(recent))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// A receipt of another provider never touches this one's messages.
		m := w.message(smsflow.MessageSent, "SAME")
		w.ev.Provider = "http"
		w.receipt("SAME", smsflow.MessageDelivered, "")
		if st, _ := w.status(m.ID); st != smsflow.MessageSent {
			t.Errorf("another provider's receipt changed the message: %s", st)
		}
	})
}

func TestSweepAppliesReceiptsThatRacedTheSender(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newReceiptWorld(t, db)
		m := w.message(smsflow.MessageSending, "")
		w.receipt("SM5", smsflow.MessageDelivered, "")
		// The sender's write committed without seeing the kept receipt
		// (both transactions ran at once).
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			return tx.SetMessageStatus(m.ID, smsflow.MessageSent, "twilio", "SM5", "", w.clk.Now())
		})
		if err != nil {
			t.Fatal(err)
		}
		n, emitted, err := delivery.SweepPendingReceipts(ctx, db, w.clk.Now())
		if err != nil || n != 1 || !emitted {
			t.Fatalf("sweep: %d applied, emitted %v, %v", n, emitted, err)
		}
		if st, _ := w.status(m.ID); st != smsflow.MessageDelivered {
			t.Errorf("status %s after the sweep, want delivered", st)
		}
		if n, _, err := delivery.SweepPendingReceipts(ctx, db, w.clk.Now()); err != nil || n != 0 {
			t.Errorf("second sweep applied %d (%v), want 0", n, err)
		}
	})
}

// TestReceiptsArrivingTogetherAreEachApplied sends many receipts at once
// (they are group-committed): every message ends delivered with one
// Message Delivered event each, and one receipt for an unknown id among
// them is kept pending without failing the others.
func TestReceiptsArrivingTogetherAreEachApplied(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newReceiptWorld(t, db)
		const n = 120
		for i := 0; i < n; i++ {
			w.message(smsflow.MessageSent, fmt.Sprintf("SM%03d", i))
		}
		var wg sync.WaitGroup
		errs := make(chan error, n+1)
		for i := 0; i <= n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("SM%03d", i) // SM120 is no message's id
				errs <- w.ev.Receipt(ctx, provider.Receipt{ProviderID: id, Status: smsflow.MessageDelivered})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		w.apply()
		var delivered int
		if err := db.QueryRowForTest(ctx, `SELECT COUNT(*) FROM messages WHERE status = 'delivered'`).Scan(&delivered); err != nil {
			t.Fatal(err)
		}
		if delivered != n {
			t.Errorf("%d of %d messages delivered", delivered, n)
		}
		var events int
		if err := db.QueryRowForTest(ctx, `SELECT COUNT(*) FROM events WHERE name = 'Message Delivered'`).Scan(&events); err != nil {
			t.Fatal(err)
		}
		if events != n {
			t.Errorf("%d delivery events, want %d", events, n)
		}
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			kept, err := tx.TakePendingReceipts("twilio", "SM120")
			if len(kept) != 1 {
				t.Errorf("receipt for an unknown id: %d kept, want 1", len(kept))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// A receipt whose provider id no message can have is dropped, not an error
// (which would make the provider retry it forever).
func TestReceiptIDsThatCannotBeStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newReceiptWorld(t, db)
		if err := w.ev.Receipt(ctx, provider.Receipt{ProviderID: "SM\x00y", Status: smsflow.MessageDelivered}); err != nil {
			t.Errorf("receipt: %v", err)
		}
		if err := w.ev.Receipt(ctx, provider.Receipt{ProviderID: strings.Repeat("0123456789abcdef", 600), Status: smsflow.MessageDelivered}); err != nil {
			t.Errorf("receipt with a 9,600-character id: %v", err)
		}
	})
}

// A receipt's error code is stored cleaned and cut on a character
// boundary: a NUL or a split character would make PostgreSQL refuse the
// receipt, and the provider would retry it forever.
func TestReceiptErrorCodeIsStoredClean(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newReceiptWorld(t, db)
		m := w.message(smsflow.MessageSent, "SM9")
		code := "3\x000" + strings.Repeat("é", 40) // the 64-byte cut falls inside an é
		w.receipt("SM9", smsflow.MessageUndelivered, code)
		st, got := w.status(m.ID)
		if st != smsflow.MessageUndelivered {
			t.Fatalf("status %s, want undelivered", st)
		}
		if !utf8.ValidString(got) || strings.ContainsRune(got, 0) || len(got) > 64 || !strings.HasPrefix(got, "30é") {
			t.Errorf("stored code %q: want clean UTF-8 of at most 64 bytes starting 30é", got)
		}
	})
}
