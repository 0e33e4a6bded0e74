package delivery_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// listReconciler answers Reconcile from a table by body.
type listReconciler struct {
	by    map[string]provider.Reconciled
	asked map[int64]time.Time // since, per message
}

func (r *listReconciler) Reconcile(_ context.Context, m *smsflow.Message, since time.Time) (provider.Reconciled, error) {
	r.asked[m.ID] = since
	return r.by[m.Body], nil
}

// interrupt claims the queued messages, marks them called and recovers
// them as a restart does: unknown, interrupted.
func (w *senderWorld) interrupt() {
	w.t.Helper()
	now := w.clock.Now()
	var ids []int64
	if err := w.db.WriteTx(ctx, func(tx *store.Tx) error {
		ms, err := tx.ClaimOutbox(now, 100, store.OutboxScope{Node: "gone", Claim: 9})
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
		return err
	}); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.db.MarkCalling(ctx, ids, 9, now); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.db.RecoverClaims(ctx, "gone", time.Time{}, now); err != nil {
		w.t.Fatal(err)
	}
}

func (w *senderWorld) queueBody(run int64, phone, body string, sendBefore time.Time) int64 {
	w.t.Helper()
	now := w.clock.Now()
	m := &smsflow.Message{Direction: "out", RunID: run, StepID: "s", FlowID: "f", Category: "service", ContactID: "c" + phone, Phone: phone,
		Body: body, Encoding: "GSM-7", Characters: len(body), Segments: 1, Status: smsflow.MessageQueued, SendBefore: sendBefore, CreatedAt: now, UpdatedAt: now}
	err := w.db.WriteTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertContact(&smsflow.Contact{ID: m.ContactID, Phone: phone, PhoneType: "mobile", Traits: map[string]any{}, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		_, err := tx.InsertMessage(m)
		return err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return m.ID
}

// A message a crash left unknown is recorded sent with its provider id when
// the provider holds it exactly once; queued again when the provider has
// no record of it after ReconcileAfter (canceled once its send_before has
// passed); left unknown (unreconciled) when two provider messages or an
// unclear record could be it; and a provider message already recorded for
// another message is not a candidate (one to one).
func TestReconcileSettlesInterruptedMessages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newSenderWorld(t, db)
		rec := &listReconciler{asked: map[int64]time.Time{}, by: map[string]provider.Reconciled{
			"found":   {Candidates: []provider.Result{{ProviderID: "SM1", Status: smsflow.MessageDelivered}}},
			"twice":   {Candidates: []provider.Result{{ProviderID: "SM2"}, {ProviderID: "SM3"}}},
			"unclear": {Unclear: true},
			"taken":   {Candidates: []provider.Result{{ProviderID: "SM-other"}}},
		}}
		w.s.Reconciler, w.s.ReconcileAfter = rec, time.Minute
		// A message already recorded with SM-other.
		other := w.queue(90, "+14155550190")
		if err := db.WriteTx(ctx, func(tx *store.Tx) error {
			return tx.SetMessageStatus(other, smsflow.MessageSent, "scripted", "SM-other", "", w.clock.Now())
		}); err != nil {
			t.Fatal(err)
		}
		late := w.clock.Now().Add(30 * time.Second)
		found := w.queueBody(1, "+14155550101", "found", time.Time{})
		missing := w.queueBody(2, "+14155550102", "missing", time.Time{})
		twice := w.queueBody(3, "+14155550103", "twice", time.Time{})
		unclear := w.queueBody(4, "+14155550104", "unclear", time.Time{})
		taken := w.queueBody(5, "+14155550105", "taken", time.Time{})
		expired := w.queueBody(6, "+14155550106", "expired", late)
		w.interrupt()
		called := w.clock.Now()

		w.s.ReconcileUnknown(ctx)
		state := func(id int64) string {
			m := w.message(id)
			return m.Status + "/" + m.ErrorCode + "/" + m.ProviderID
		}
		for id, want := range map[int64]string{
			found:   "delivered//SM1",
			missing: "unknown/interrupted/", // not yet: the provider's list may lag
			twice:   "unknown/unreconciled/",
			unclear: "unknown/unreconciled/",
			taken:   "unknown/interrupted/",
			expired: "unknown/interrupted/",
		} {
			if got := state(id); got != want {
				t.Errorf("message %d after the first pass: %s, want %s", id, got, want)
			}
		}
		if since := rec.asked[found]; !since.Equal(called.Add(-5 * time.Minute)) {
			t.Errorf("asked since %s, want 5 minutes before the call (%s)", since, called)
		}
		w.clock.Add(time.Minute)
		w.s.ReconcileUnknown(ctx)
		for id, want := range map[int64]string{
			missing: "queued/reconciled:not_received/",
			taken:   "queued/reconciled:not_received/",
			expired: "canceled/expired:send_before/",
			twice:   "unknown/unreconciled/", // asked no more
		} {
			if got := state(id); got != want {
				t.Errorf("message %d after ReconcileAfter: %s, want %s", id, got, want)
			}
		}
		// The requeued ones go out once.
		w.round()
		if w.prov.calls["+14155550102"] != 1 || w.prov.calls["+14155550106"] != 0 {
			t.Errorf("calls after the requeue: %v, want the missing one once and the expired one never", w.prov.calls)
		}
	})
}

// A status callback that names the message (Twilio: the id in its
// StatusCallback URL) settles a message a crash left unknown.
func TestCallbackNamingTheMessageSettlesIt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newSenderWorld(t, db)
		id := w.queue(1, "+14155550101")
		w.interrupt()
		ev := &delivery.ProviderEvents{DB: db, Clock: w.clock, Log: slog.New(slog.DiscardHandler), Provider: "scripted"}
		if err := ev.Receipt(ctx, provider.Receipt{ProviderID: "SM9", Status: smsflow.MessageDelivered, MessageID: id}); err != nil {
			t.Fatal(err)
		}
		if _, err := ev.ApplyQueued(ctx); err != nil { // the applier's pass
			t.Fatal(err)
		}
		if m := w.message(id); m.Status != smsflow.MessageDelivered || m.ProviderID != "SM9" {
			t.Errorf("after its callback: %s %q, want delivered SM9", m.Status, m.ProviderID)
		}
		// A callback naming a message that is not unknown changes nothing.
		other := w.queue(2, "+14155550102")
		if err := ev.Receipt(ctx, provider.Receipt{ProviderID: "SM10", Status: smsflow.MessageDelivered, MessageID: other}); err != nil {
			t.Fatal(err)
		}
		if _, err := ev.ApplyQueued(ctx); err != nil {
			t.Fatal(err)
		}
		if m := w.message(other); m.Status != smsflow.MessageQueued || m.ProviderID != "" {
			t.Errorf("a queued message after a callback naming it: %s %q, want queued, no id", m.Status, m.ProviderID)
		}
	})
}

// Without a provider that can be asked, interrupted messages are queued
// again only when the provider dedupes or the operator chose so
// (ResendInterrupted: http.idempotent, smpp.on_unknown: resend); else they
// are held unknown.
func TestInterruptedMessagesHeldOrResent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newSenderWorld(t, db)
		id := w.queue(1, "+14155550101")
		w.interrupt()
		w.s.ReconcileUnknown(ctx)
		if m := w.message(id); m.Status != smsflow.MessageUnknown || m.ErrorCode != "interrupted" {
			t.Errorf("held: %s/%s, want unknown/interrupted", m.Status, m.ErrorCode)
		}
		w.s.ResendInterrupted = true
		w.s.ReconcileUnknown(ctx)
		if m := w.message(id); m.Status != smsflow.MessageQueued || m.ErrorCode != "interrupted:resent" {
			t.Errorf("resent: %s/%s, want queued/interrupted:resent", m.Status, m.ErrorCode)
		}
		w.round()
		if m := w.message(id); m.Status != smsflow.MessageSent || w.prov.calls["+14155550101"] != 1 {
			t.Errorf("after a round: %s, %d calls; want sent once", m.Status, w.prov.calls["+14155550101"])
		}
	})
}

// A message whose provider answer was lost (a timeout: unknown with the
// provider's code) is reconciled like an interrupted one.
func TestReconcileSettlesALostAnswer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newSenderWorld(t, db)
		id := w.queueBody(1, "+14155550101", "lost answer", time.Time{})
		w.prov.script["+14155550101"] = []error{&provider.Error{Kind: provider.Unknown, Message: "timeout after the request was written"}}
		w.round()
		if m := w.message(id); m.Status != smsflow.MessageUnknown {
			t.Fatalf("after a lost answer: %s, want unknown", m.Status)
		}
		w.s.Reconciler = &listReconciler{asked: map[int64]time.Time{}, by: map[string]provider.Reconciled{
			"lost answer": {Candidates: []provider.Result{{ProviderID: "SM7"}}}}}
		w.s.ReconcileUnknown(ctx)
		if m := w.message(id); m.Status != smsflow.MessageSent || m.ProviderID != "SM7" {
			t.Errorf("after reconciling: %s %q, want sent SM7", m.Status, m.ProviderID)
		}
	})
}

// One ReconcileUnknown call works off more interrupted messages than one
// pass takes (a crash under load leaves hundreds), not one pass's worth per
// ReconcileInterval.
func TestReconcileWorksOffABacklogAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newSenderWorld(t, db)
		var ids []int64
		for i := range 120 {
			ids = append(ids, w.queueBody(int64(i+1), fmt.Sprintf("+1415555%04d", 1000+i), "backlog", time.Time{}))
			if i == 59 || i == 119 {
				w.interrupt() // claims at most 100 at once
			}
		}
		w.s.ResendInterrupted = true
		w.s.ReconcileUnknown(ctx)
		for _, id := range ids {
			if m := w.message(id); m.Status != smsflow.MessageQueued || m.ErrorCode != "interrupted:resent" {
				t.Fatalf("message %d after one call: %s/%s, want queued/interrupted:resent", id, m.Status, m.ErrorCode)
			}
		}
	})
}
