package engine

import (
	"context"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// The batch answers the interpreter's reads from what it loaded and the
// effects it recorded, as the database would after writing them: a new run
// is open and its flow's last entry, a queued message counts toward caps
// and the footer and its step cannot send again, canceling a run cancels
// what it queued in the batch, an ended run is no longer open; and write
// stores exactly the effects.
func TestBatchReadsItsOwnEffects(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
		const phone = "+14155550100"
		old := &smsflow.Run{FlowID: "welcome", FlowVersion: 1, ContactID: "ana", Status: smsflow.RunWaiting, Step: "wait",
			WakeAt: now.Add(time.Hour), EnteredAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Hour)}
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			if err := tx.InsertContact(&smsflow.Contact{ID: "ana", Phone: phone, Timezones: []string{}, Traits: map[string]any{}, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
			return tx.InsertRun(old)
		})
		if err != nil {
			t.Fatal(err)
		}
		msg := func(run *smsflow.Run, step, category string) *smsflow.Message {
			return &smsflow.Message{Direction: "out", RunID: run.ID, StepID: step, FlowID: run.FlowID, Category: category, ContactID: "ana",
				Phone: phone, Body: "hi", Encoding: "GSM-7", Characters: 2, Segments: 1, Status: smsflow.MessageQueued, Provider: "console", CreatedAt: now, UpdatedAt: now}
		}
		since := now.Add(-24 * time.Hour)
		var promo *smsflow.Run
		err = db.WriteTx(ctx, func(tx *store.Tx) error {
			b := newBatch(tx)
			if err := b.loadContacts([]string{"ana"}, store.Load{OpenRuns: true, Entries: true, RecentSince: since, Marketing: true}); err != nil {
				return err
			}
			check := func(what string, got, want any) {
				t.Helper()
				if got != want {
					t.Errorf("%s: got %v, want %v", what, got, want)
				}
			}
			open, _ := b.openRuns("ana")
			check("loaded open runs", len(open), 1)
			promo = &smsflow.Run{FlowID: "promo", FlowVersion: 1, ContactID: "ana", Status: smsflow.RunActive, Step: "hi", EnteredAt: now, UpdatedAt: now}
			if err := b.insertRun(promo); err != nil {
				return err
			}
			check("a new run has an id", promo.ID > old.ID, true)
			open, _ = b.openRuns("ana")
			check("the new run is open, after the older one", len(open) == 2 && open[1] == promo, true)
			last, isOpen, _ := b.lastEntry("promo", "ana")
			check("the new run is its flow's last entry", last.Equal(now) && isOpen, true)

			had, _ := b.hadMarketing("ana", phone)
			check("no marketing yet", had, false)
			if ok, _ := b.queueMessage(msg(promo, "hi", "promo")); !ok {
				t.Error("first message of a step not queued")
			}
			if ok, _ := b.queueMessage(msg(promo, "hi", "promo")); ok {
				t.Error("a step's second message queued (never twice)")
			}
			recent, _ := b.recentSends("ana", since)
			check("a queued message counts toward caps", len(recent), 1)
			had, _ = b.hadMarketing("ana", phone)
			check("a queued promo counts for the footer", had, true)
			oldLast, _ := b.lastRunMessage(old.ID)
			newLast, _ := b.lastRunMessage(promo.ID)
			check("a message queued in the batch is the newest", newLast > oldLast, true)

			n, err := b.cancelQueued(promo, now)
			if err != nil {
				return err
			}
			check("canceled in the batch", n, int64(1))
			recent, _ = b.recentSends("ana", since)
			check("a canceled message no longer counts", len(recent), 0)
			had, _ = b.hadMarketing("ana", phone)
			check("nor for the footer", had, false)
			if ok, _ := b.queueMessage(msg(promo, "hi", "promo")); ok {
				t.Error("a step whose message was canceled queued again")
			}

			o := b.run(old.ID)
			if o == nil {
				o = open[0]
			}
			o.Status, o.ExitReason, o.EndedAt, o.WakeAt = smsflow.RunExited, "goal", now, time.Time{}
			if err := b.updateRun(o); err != nil {
				return err
			}
			open, _ = b.openRuns("ana")
			check("an ended run is no longer open", len(open) == 1 && open[0] == promo, true)
			_, isOpen, _ = b.lastEntry("welcome", "ana")
			check("nor its flow's entry", isOpen, false)
			waiting, _ := b.runsAwaitingGoal("ana", since)
			check("runs awaiting a goal include the new one", len(waiting), 2)
			if err := b.decide(&smsflow.Decision{RunID: promo.ID, StepID: "hi", FlowID: "promo", ContactID: "ana", Reason: "sent", At: now}); err != nil {
				return err
			}
			return b.write()
		})
		if err != nil {
			t.Fatal(err)
		}
		runs, err := db.RunsByContact(ctx, "ana", false)
		if err != nil {
			t.Fatal(err)
		}
		got := map[int64]string{}
		for _, r := range runs {
			got[r.ID] = r.Status
		}
		if len(got) != 2 || got[old.ID] != smsflow.RunExited || got[promo.ID] != smsflow.RunActive {
			t.Errorf("stored runs %v", got)
		}
		ms, err := db.Messages(ctx, store.MessageFilter{ContactID: "ana"})
		if err != nil || len(ms) != 1 || ms[0].Status != smsflow.MessageCanceled || ms[0].RunID != promo.ID {
			t.Errorf("stored messages %+v, %v: want the one canceled message", ms, err)
		}
		ds, err := db.Decisions(ctx, "ana", 10)
		if err != nil || len(ds) != 1 || ds[0].RunID != promo.ID {
			t.Errorf("stored decisions %+v, %v", ds, err)
		}
	})
}
