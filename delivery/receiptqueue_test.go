package delivery_test

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// A receipt the webhook answered is in the queue even when the process dies
// before applying it (the database closed with no applier run, no Stop):
// the next start's applier applies it.
func TestAnsweredReceiptSurvivesACrash(t *testing.T) {
	for kind, dsn := range storetest.DSNs(t) {
		t.Run(kind, func(t *testing.T) {
			db := storetest.OpenMigrated(t, dsn)
			w := newReceiptWorld(t, db)
			m := w.message(smsflow.MessageSent, "SM1")
			if err := w.ev.Receipt(ctx, provider.Receipt{ProviderID: "SM1", Status: smsflow.MessageDelivered}); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil { // the crash: nothing else runs
				t.Fatal(err)
			}

			db2 := storetest.OpenMigrated(t, dsn)
			if n, err := db2.QueuedReceipts(ctx); err != nil || n != 1 {
				t.Fatalf("queued after the crash: %d, %v; want 1", n, err)
			}
			applied := make(chan struct{}, 1)
			ev := &delivery.ProviderEvents{DB: db2, Clock: w.clk, Log: slog.New(slog.DiscardHandler), Provider: "twilio",
				OnEvents: func() {
					select {
					case applied <- struct{}{}:
					default:
					}
				}}
			if err := ev.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer ev.Stop()
			select {
			case <-applied: // its Message Delivered was queued for the engine
			case <-time.After(30 * time.Second):
				t.Fatal("the applier did not apply the queued receipt")
			}
			w.db = db2
			if st, _ := w.status(m.ID); st != smsflow.MessageDelivered {
				t.Errorf("status %s after the restart, want delivered", st)
			}
			if n, err := db2.QueuedReceipts(ctx); err != nil || n != 0 {
				t.Errorf("queued after applying: %d, %v; want 0", n, err)
			}
		})
	}
}

// Stop applies what is queued: a clean shutdown leaves no receipt behind.
func TestStopDrainsTheReceiptQueue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newReceiptWorld(t, db)
		m := w.message(smsflow.MessageSent, "SM1")
		if err := w.ev.Receipt(ctx, provider.Receipt{ProviderID: "SM1", Status: smsflow.MessageUndelivered, ErrorCode: "30005"}); err != nil {
			t.Fatal(err)
		}
		w.ev.Stop() // never started: it still applies the queue
		w.ev.Stop() // safe twice
		if st, code := w.status(m.ID); st != smsflow.MessageUndelivered || code != "30005" {
			t.Errorf("after Stop: %s %q, want undelivered 30005", st, code)
		}
	})
}

// receiptStep is one receipt of the equivalence test: for message i of a
// world, with this status and code.
type receiptStep struct {
	i            int
	status, code string
}

// A batch of mixed receipts — out of order, repeated, failures then
// deliveries, ids no message has recorded yet, unknown messages named by
// the callback, canceled messages — ends exactly as the same receipts
// applied one at a time: same statuses and codes, same events, same
// receipts kept pending.
func TestReceiptBatchAppliesAsOneAtATime(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newReceiptWorld(t, db)
		rng := rand.New(rand.NewPCG(19, 2))
		const n = 60
		starts := []string{smsflow.MessageSent, smsflow.MessageSent, smsflow.MessageSent, smsflow.MessageSending, smsflow.MessageUnknown, smsflow.MessageCanceled}
		statuses := []string{smsflow.MessageSent, smsflow.MessageDelivered, smsflow.MessageUndelivered, smsflow.MessageFailed}
		start := make([]string, n)
		var steps []receiptStep
		for i := range n {
			start[i] = starts[rng.IntN(len(starts))]
			for range 1 + rng.IntN(4) {
				st := statuses[rng.IntN(len(statuses))]
				code := ""
				if st == smsflow.MessageUndelivered || st == smsflow.MessageFailed {
					code = fmt.Sprint(30000 + rng.IntN(8))
				}
				steps = append(steps, receiptStep{i, st, code})
			}
		}
		rng.Shuffle(len(steps), func(a, b int) { steps[a], steps[b] = steps[b], steps[a] })
		// The same messages in world a (receipts applied one at a time) and
		// world b (in one batch).
		msgs := map[string][]*smsflow.Message{}
		for _, world := range []string{"a", "b"} {
			for i := range n {
				pid := fmt.Sprintf("%s-%d", world, i)
				if start[i] != smsflow.MessageSent {
					pid = "" // the sender has not recorded it (sending), a crash lost it (unknown), or never sent (canceled)
				}
				msgs[world] = append(msgs[world], w.messageAt(start[i], pid, fmt.Sprintf("%s-%d", world, i)))
			}
		}
		receipt := func(world string, s receiptStep) provider.Receipt {
			r := provider.Receipt{ProviderID: fmt.Sprintf("%s-%d", world, s.i), Status: s.status, ErrorCode: s.code}
			if s.i%2 == 0 {
				r.MessageID = msgs[world][s.i].ID // the callback names it (Twilio's ?m=)
			}
			return r
		}
		// World a: one receipt, then the applier, and again.
		for _, s := range steps {
			if err := w.ev.Receipt(ctx, receipt("a", s)); err != nil {
				t.Fatal(err)
			}
			w.apply()
		}
		// World b: all of them queued, then one batch (which also takes
		// world a's receipts waiting for their sender, and leaves them).
		waiting, err := db.QueuedReceipts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range steps {
			if err := w.ev.Receipt(ctx, receipt("b", s)); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := w.ev.ApplyQueued(ctx); err != nil || got != len(steps)+int(waiting) {
			t.Fatalf("batch: %d receipts taken, %v; want %d", got, err, len(steps)+int(waiting))
		}

		events := map[int64][]string{}
		var evs []smsflow.Event
		evs, err = db.EventsByContact(ctx, w.contact, 10000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			var id int64
			var st string
			if _, err := fmt.Sscanf(strings.ReplaceAll(e.MessageID, "-", " "), "dlr %d %s", &id, &st); err == nil {
				events[id] = append(events[id], st)
			}
		}
		// What the rules say (the model): forward only; an event per status
		// reached; a message with no provider id keeps its receipts pending
		// unless it is unknown and the receipt names it, which settles it.
		rank := map[string]int{smsflow.MessageSent: 1, smsflow.MessageUndelivered: 2, smsflow.MessageFailed: 2, smsflow.MessageDelivered: 3}
		wantStatus, wantCode, wantEvents := make([]string, n), make([]string, n), make([][]string, n)
		wantKept, wantQueued := 0, 0
		for i := range n {
			wantStatus[i] = start[i]
		}
		for _, s := range steps {
			cur := wantStatus[s.i]
			if cur == smsflow.MessageUnknown && s.i%2 == 0 {
				cur = smsflow.MessageSent
			}
			if cur != smsflow.MessageSent && rank[cur] == 0 {
				if start[s.i] == smsflow.MessageSending && s.i%2 == 0 {
					wantQueued++ // named, its call in flight: waits in the queue for the sender
				} else {
					wantKept++
				}
				continue
			}
			wantStatus[s.i] = cur
			if rank[s.status] <= rank[cur] {
				continue
			}
			wantStatus[s.i] = s.status
			if s.code != "" {
				wantCode[s.i] = s.code
			}
			if s.status != smsflow.MessageSent {
				wantEvents[s.i] = append(wantEvents[s.i], s.status)
			}
		}
		for i := range n {
			a, b := msgs["a"][i], msgs["b"][i]
			if st, code := statusOf(t, db, b.ID); st != wantStatus[i] || code != wantCode[i] {
				t.Errorf("message %d (from %s): %s %q, want %s %q", i, start[i], st, code, wantStatus[i], wantCode[i])
			}
			if got, want := slices.Sorted(slices.Values(events[b.ID])), slices.Sorted(slices.Values(wantEvents[i])); !slices.Equal(got, want) {
				t.Errorf("message %d (from %s): events %v, want %v", i, start[i], got, want)
			}
			sa, ca := statusOf(t, db, a.ID)
			sb, cb := statusOf(t, db, b.ID)
			if sa != sb || ca != cb {
				t.Errorf("message %d (from %s): one at a time %s %q, in a batch %s %q", i, start[i], sa, ca, sb, cb)
			}
			ea, eb := slices.Sorted(slices.Values(events[a.ID])), slices.Sorted(slices.Values(events[b.ID]))
			if !slices.Equal(ea, eb) {
				t.Errorf("message %d (from %s): events one at a time %v, in a batch %v", i, start[i], ea, eb)
			}
		}
		rows := func(table, world string) int {
			var k int
			if err := db.QueryRowForTest(ctx, `SELECT COUNT(*) FROM `+table+` WHERE provider_id LIKE ?`, world+"-%").Scan(&k); err != nil {
				t.Fatal(err)
			}
			return k
		}
		if ka, kb := rows("pending_receipts", "a"), rows("pending_receipts", "b"); ka != wantKept || kb != wantKept || wantKept == 0 {
			t.Errorf("kept pending: %d one at a time, %d in a batch; want %d (some)", ka, kb, wantKept)
		}
		if qa, qb := rows("receipt_queue", "a"), rows("receipt_queue", "b"); qa != wantQueued || qb != wantQueued || wantQueued == 0 {
			t.Errorf("left in the queue: %d one at a time, %d in a batch; want %d (some)", qa, qb, wantQueued)
		}
	})
}

// Two appliers (two nodes) working the same queue on one database never
// apply a receipt twice: every queued receipt is taken by exactly one, and
// each message ends delivered with one event and one inbox item, though
// its two receipts were taken by whichever applier came first.
func TestTwoAppliersNeverApplyAReceiptTwice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newReceiptWorld(t, db)
		const n = 300
		var rs []provider.Receipt
		for i := range n {
			w.message(smsflow.MessageSent, fmt.Sprintf("SM%d", i))
			rs = append(rs, provider.Receipt{ProviderID: fmt.Sprintf("SM%d", i), Status: smsflow.MessageDelivered})
		}
		// Each message's second receipt (Twilio retried it) far from its first.
		rs = append(rs, rs...)
		for _, r := range rs {
			if err := w.ev.Receipt(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		taken := make([]int, 2)
		errs := make([]error, 2)
		for k := range 2 {
			ev := &delivery.ProviderEvents{DB: db, Clock: w.clk, Log: slog.New(slog.DiscardHandler), Provider: "twilio", Batch: 16}
			wg.Add(1)
			go func() {
				defer wg.Done()
				taken[k], errs[k] = ev.ApplyQueued(ctx)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if taken[0]+taken[1] != len(rs) {
			t.Errorf("appliers took %d and %d receipts, want %d in all", taken[0], taken[1], len(rs))
		}
		count := func(q string) int {
			var c int
			if err := db.QueryRowForTest(ctx, q).Scan(&c); err != nil {
				t.Fatal(err)
			}
			return c
		}
		if got := count(`SELECT COUNT(*) FROM messages WHERE status = 'delivered'`); got != n {
			t.Errorf("%d delivered, want %d", got, n)
		}
		if got := count(`SELECT COUNT(*) FROM events WHERE name = 'Message Delivered'`); got != n {
			t.Errorf("%d Message Delivered events, want %d", got, n)
		}
		if got := count(`SELECT COUNT(*) FROM inbox i JOIN events e ON e.seq = i.event_seq WHERE e.name = 'Message Delivered'`); got != n {
			t.Errorf("%d inbox items, want %d", got, n)
		}
	})
}

// messageAt writes an outbound message of run 7 for step in the given state.
func (w *receiptWorld) messageAt(status, providerID, step string) *smsflow.Message {
	w.t.Helper()
	now := w.clk.Now()
	m := &smsflow.Message{Direction: "out", RunID: 7, StepID: step, FlowID: "sale", Category: "promo", ContactID: w.contact,
		Phone: "+14155550100", Body: "Sale", Encoding: "GSM-7", Characters: 4, Segments: 1, Status: status,
		Provider: "twilio", ProviderID: providerID, CreatedAt: now, UpdatedAt: now}
	if err := w.db.WriteTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.InsertMessage(m)
		if err == nil && !ok {
			err = fmt.Errorf("message for step %s not inserted", step)
		}
		return err
	}); err != nil {
		w.t.Fatal(err)
	}
	return m
}

// statusOf reads a message's status and error code.
func statusOf(t *testing.T, db *store.DB, id int64) (status, code string) {
	t.Helper()
	if err := db.QueryRowForTest(ctx, `SELECT status, error_code FROM messages WHERE id = ?`, id).Scan(&status, &code); err != nil {
		t.Fatal(err)
	}
	return status, code
}

// A receipt that names a message whose call is in flight (Twilio's ?m=; the
// sender has not recorded the provider's id yet) waits in the queue and is
// applied once the sender has recorded it; one still waiting after
// ReceiptWaitForSender is kept pending like any early receipt.
func TestReceiptForAMessageBeingSentWaitsInTheQueue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newReceiptWorld(t, db)
		m := w.message(smsflow.MessageSending, "")
		if err := w.ev.Receipt(ctx, provider.Receipt{ProviderID: "SM1", MessageID: m.ID, Status: smsflow.MessageDelivered}); err != nil {
			t.Fatal(err)
		}
		w.apply()
		if n, err := db.QueuedReceipts(ctx); err != nil || n != 1 {
			t.Fatalf("queued while the call is in flight: %d, %v; want 1", n, err)
		}
		if err := db.WriteTx(ctx, func(tx *store.Tx) error {
			return tx.SetMessageStatus(m.ID, smsflow.MessageSent, "twilio", "SM1", "", w.clk.Now())
		}); err != nil {
			t.Fatal(err)
		}
		w.apply()
		if st, _ := w.status(m.ID); st != smsflow.MessageDelivered {
			t.Errorf("status %s once the sender recorded the id, want delivered", st)
		}
		if got := w.deliveryEvents(); !slices.Equal(got, []string{smsflow.EventMessageDelivered}) {
			t.Errorf("events %v, want one Message Delivered", got)
		}

		// A sender that never records it (a crash mid-call): kept pending.
		m2 := w.messageAt(smsflow.MessageSending, "", "stuck")
		if err := w.ev.Receipt(ctx, provider.Receipt{ProviderID: "SM2", MessageID: m2.ID, Status: smsflow.MessageDelivered}); err != nil {
			t.Fatal(err)
		}
		w.apply()
		w.clk.advance(delivery.ReceiptWaitForSender)
		w.apply()
		if n, err := db.QueuedReceipts(ctx); err != nil || n != 0 {
			t.Errorf("queued after the wait: %d, %v; want 0", n, err)
		}
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			kept, err := tx.TakePendingReceipts("twilio", "SM2")
			if len(kept) != 1 {
				t.Errorf("kept pending after the wait: %d, want 1", len(kept))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
