package delivery_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// stallingProvider holds its first call until release is closed (a process
// that stops mid-round), counting every call per message.
type stallingProvider struct {
	mu      sync.Mutex
	calls   map[int64]int
	stalled chan struct{} // closed when the first call is held
	release chan struct{}
}

func (p *stallingProvider) Name() string { return "stalling" }

func (p *stallingProvider) Send(_ context.Context, m *smsflow.Message) (provider.Result, error) {
	p.mu.Lock()
	p.calls[m.ID]++
	first := len(p.calls) == 1 && p.calls[m.ID] == 1
	p.mu.Unlock()
	if first {
		close(p.stalled)
		<-p.release
	}
	return provider.Result{ProviderID: "s-" + m.Phone, Status: smsflow.MessageSent}, nil
}

// A node that stops mid-round leaves "sending" only the calls it may have
// started; its restart (same node id) queues the rest again, and those go
// out once: the stalled round, when it resumes, finds its claims taken back
// and calls none of them.
func TestRestartRequeuesClaimedMessagesNeverCalled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newSenderWorld(t, db)
		prov := &stallingProvider{calls: map[int64]int{}, stalled: make(chan struct{}), release: make(chan struct{})}
		first := delivery.NewSender(db, prov, w.clock, slog.New(slog.DiscardHandler))
		first.Node, first.Concurrency = "n1", 1
		const n = 40
		var ids []int64
		for i := range n {
			ids = append(ids, w.queue(int64(i+1), "+1415555"+string(rune('0'+i/10))+"0"+string(rune('0'+i%10))+"0"))
		}
		done := make(chan error, 1)
		go func() { _, err := first.SendOnce(ctx, 100); done <- err }()
		<-prov.stalled

		count := func(q string) int64 {
			t.Helper()
			var c int64
			if err := db.ReadQueryRow(ctx, q).Scan(&c); err != nil {
				t.Fatal(err)
			}
			return c
		}
		// A claimed row stays queued and carries its round's token (D91).
		if got := count(`SELECT COUNT(*) FROM messages WHERE status = 'queued' AND claim <> 0`); got != n {
			t.Fatalf("%d sending while the first call is held, want the whole round (%d)", got, n)
		}
		if got := count(`SELECT COUNT(*) FROM messages WHERE status = 'queued' AND claim <> 0 AND called_at <> 0`); got != 1 {
			t.Errorf("%d marked called while one call is in flight (concurrency 1), want 1", got)
		}

		// The restart: the same node's new sender takes its claims back.
		second := delivery.NewSender(db, prov, w.clock, slog.New(slog.DiscardHandler))
		second.Node = "n1"
		if err := second.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer second.Stop()
		if got := w.message(ids[0]); got.Status != smsflow.MessageUnknown || got.ErrorCode != "interrupted" {
			t.Errorf("the message in flight at the restart is %s/%s, want unknown/interrupted", got.Status, got.ErrorCode)
		}
		deadline := time.Now().Add(20 * time.Second)
		for count(`SELECT COUNT(*) FROM messages WHERE status = 'sent'`) < n-1 {
			if time.Now().After(deadline) {
				t.Fatalf("the requeued messages were not sent: %d sent", count(`SELECT COUNT(*) FROM messages WHERE status = 'sent'`))
			}
			time.Sleep(10 * time.Millisecond) // polling a condition, bounded by deadline
		}
		close(prov.release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		prov.mu.Lock()
		defer prov.mu.Unlock()
		for _, id := range ids {
			if prov.calls[id] != 1 {
				t.Errorf("message %d reached the provider %d times, want once", id, prov.calls[id])
			}
		}
		// The stalled call's answer still records its message sent.
		if got := w.message(ids[0]); got.Status != smsflow.MessageSent {
			t.Errorf("the stalled call's message is %s after its answer, want sent", got.Status)
		}
	})
}
