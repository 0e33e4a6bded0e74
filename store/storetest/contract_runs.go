package storetest

import (
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// runIDs are the ids of runs, in order.
func runIDs(runs []*smsflow.Run) []int64 {
	out := []int64{}
	for _, r := range runs {
		out = append(out, r.ID)
	}
	return out
}

func runCases() []contractCase {
	return []contractCase{
		{"Tx.InsertRun", func(t *testing.T, db *store.DB) {
			r := &smsflow.Run{FlowID: "welcome", FlowVersion: 2, ContactID: "ana", Status: smsflow.RunWaiting, Step: "wait", WakeAt: t0.Add(time.Hour),
				Holdout: true, Variant: "b", State: smsflow.RunState{Reply: "yes", Variants: map[string]string{"split": "b"}, WaitStarted: t0},
				EnteredAt: t0, UpdatedAt: t0.Add(time.Second), GoalValue: 0}
			r2 := &smsflow.Run{FlowID: "welcome", FlowVersion: 2, ContactID: "ana", Status: smsflow.RunActive, EnteredAt: t0, UpdatedAt: t0}
			write(t, db, func(tx *store.Tx) error {
				if err := tx.InsertRun(r); err != nil {
					return err
				}
				if err := tx.InsertRun(r2); err != nil {
					return err
				}
				equal(t, "read in the same transaction", must(tx.RunByID(r.ID))(t), r)
				return nil
			})
			if r.ID == 0 || r2.ID == r.ID {
				t.Errorf("ids %d and %d: want two distinct ids", r.ID, r2.ID)
			}
			write(t, db, func(tx *store.Tx) error {
				equal(t, "stored run", must(tx.RunByID(r.ID))(t), r)
				return nil
			})
			// Times are stored to the microsecond, and read back in UTC.
			paris := time.FixedZone("CET", 3600)
			z := addRun(t, db, smsflow.Run{ContactID: "bob", EnteredAt: t0.In(paris).Add(789 * time.Nanosecond), WakeAt: t0.Add(999 * time.Nanosecond)})
			write(t, db, func(tx *store.Tx) error {
				got := must(tx.RunByID(z.ID))(t)
				equal(t, "entered at, in UTC, to the microsecond", got.EnteredAt, t0)
				equal(t, "wake at", got.WakeAt, t0)
				equal(t, "a zero time stays zero", got.EndedAt, time.Time{})
				return nil
			})
		}},
		{"Tx.UpdateRun", func(t *testing.T, db *store.DB) {
			r := addRun(t, db, smsflow.Run{ContactID: "ana", WakeAt: t0.Add(time.Hour)})
			r.Status, r.ExitReason, r.Step, r.WakeAt, r.Variant = smsflow.RunExited, "goal", "", time.Time{}, "a"
			r.State.Reply, r.UpdatedAt, r.EndedAt, r.GoalAt, r.GoalValue = "STOP", t0.Add(time.Minute), t0.Add(time.Minute), t0.Add(time.Minute), 12.5
			write(t, db, func(tx *store.Tx) error {
				if err := tx.UpdateRun(r); err != nil {
					return err
				}
				equal(t, "read in the same transaction", must(tx.RunByID(r.ID))(t), r)
				equal(t, "no longer open", must(tx.OpenRuns("ana"))(t), []*smsflow.Run(nil))
				equal(t, "no longer due", must(tx.DueRuns(t0.Add(2*time.Hour), 10))(t), []store.DueRun(nil))
				return nil
			})
			write(t, db, func(tx *store.Tx) error {
				equal(t, "stored", must(tx.RunByID(r.ID))(t), r)
				return nil
			})
			// A run inserted and updated in one transaction.
			n := &smsflow.Run{FlowID: "welcome", FlowVersion: 1, ContactID: "bob", Status: smsflow.RunActive, EnteredAt: t0, UpdatedAt: t0}
			write(t, db, func(tx *store.Tx) error {
				if err := tx.InsertRun(n); err != nil {
					return err
				}
				n.Status, n.Step = smsflow.RunWaiting, "later"
				return tx.UpdateRun(n)
			})
			write(t, db, func(tx *store.Tx) error {
				equal(t, "inserted then updated", must(tx.RunByID(n.ID))(t), n)
				return nil
			})
		}},
		{"Tx.RunByID", func(t *testing.T, db *store.DB) {
			r := addRun(t, db, smsflow.Run{ContactID: "ana"})
			write(t, db, func(tx *store.Tx) error {
				equal(t, "found", must(tx.RunByID(r.ID))(t), r)
				equal(t, "missing", must(tx.RunByID(r.ID+1000))(t), (*smsflow.Run)(nil))
				return nil
			})
		}},
		{"Tx.OpenRuns", func(t *testing.T, db *store.DB) {
			late := addRun(t, db, smsflow.Run{ContactID: "ana", EnteredAt: t0.Add(time.Hour)})
			early := addRun(t, db, smsflow.Run{ContactID: "ana", Status: smsflow.RunActive})
			addRun(t, db, smsflow.Run{ContactID: "ana", Status: smsflow.RunCompleted})
			addRun(t, db, smsflow.Run{ContactID: "ana", Status: smsflow.RunExited})
			addRun(t, db, smsflow.Run{ContactID: "bob"})
			write(t, db, func(tx *store.Tx) error {
				equal(t, "open, oldest entry first", runIDs(must(tx.OpenRuns("ana"))(t)), []int64{early.ID, late.ID})
				equal(t, "none", must(tx.OpenRuns("cy"))(t), []*smsflow.Run(nil))
				return nil
			})
		}},
		{"Tx.LastEntry", func(t *testing.T, db *store.DB) {
			addRun(t, db, smsflow.Run{ContactID: "ana", FlowVersion: 1, EnteredAt: t0, Status: smsflow.RunCompleted})
			addRun(t, db, smsflow.Run{ContactID: "ana", FlowVersion: 2, EnteredAt: t0.Add(time.Hour), Status: smsflow.RunExited, Holdout: true})
			addRun(t, db, smsflow.Run{ContactID: "ana", FlowID: "promo", EnteredAt: t0})
			write(t, db, func(tx *store.Tx) error {
				last, open, err := tx.LastEntry("welcome", "ana")
				equal(t, "last entry, any version, holdout included", last, t0.Add(time.Hour))
				equal(t, "welcome open", open, false)
				if err != nil {
					return err
				}
				_, open, err = tx.LastEntry("promo", "ana")
				equal(t, "promo open", open, true)
				if err != nil {
					return err
				}
				last, open, err = tx.LastEntry("welcome", "bob")
				equal(t, "never entered", last, time.Time{})
				equal(t, "never entered: open", open, false)
				return err
			})
		}},
		{"Tx.DueRuns", func(t *testing.T, db *store.DB) {
			b := addRun(t, db, smsflow.Run{ContactID: "bob", WakeAt: t0.Add(time.Minute)})
			a := addRun(t, db, smsflow.Run{ContactID: "ana", WakeAt: t0})
			c := addRun(t, db, smsflow.Run{ContactID: "cy", WakeAt: t0.Add(time.Minute)})
			addRun(t, db, smsflow.Run{ContactID: "dee", WakeAt: t0.Add(time.Hour)})
			addRun(t, db, smsflow.Run{ContactID: "eve"}) // no timer
			write(t, db, func(tx *store.Tx) error {
				equal(t, "due, earliest first", must(tx.DueRuns(t0.Add(time.Minute), 10))(t),
					[]store.DueRun{{RunID: a.ID, ContactID: "ana"}, {RunID: b.ID, ContactID: "bob"}, {RunID: c.ID, ContactID: "cy"}})
				equal(t, "limited", len(must(tx.DueRuns(t0.Add(time.Minute), 2))(t)), 2)
				return nil
			})
			if !concurrent(db) {
				return
			}
			write(t, db, func(tx *store.Tx) error {
				mine := must(tx.DueRuns(t0.Add(time.Minute), 1))(t)
				return alongside(db, func(tx2 *store.Tx) error {
					theirs := must(tx2.DueRuns(t0.Add(time.Minute), 10))(t)
					equal(t, "another transaction skips the claimed run", len(theirs), 2)
					for _, d := range theirs {
						if d.RunID == mine[0].RunID {
							t.Errorf("run %d claimed twice", d.RunID)
						}
					}
					return nil
				})
			})
		}},
		{"Tx.RunsAwaitingGoal", func(t *testing.T, db *store.DB) {
			addRun(t, db, smsflow.Run{ContactID: "ana", EnteredAt: t0.Add(-time.Hour)}) // before since
			a := addRun(t, db, smsflow.Run{ContactID: "ana", EnteredAt: t0.Add(time.Minute), Status: smsflow.RunCompleted})
			b := addRun(t, db, smsflow.Run{ContactID: "ana", EnteredAt: t0})
			addRun(t, db, smsflow.Run{ContactID: "ana", EnteredAt: t0, GoalAt: t0.Add(time.Second), GoalValue: 5}) // converted
			addRun(t, db, smsflow.Run{ContactID: "bob", EnteredAt: t0})
			write(t, db, func(tx *store.Tx) error {
				equal(t, "awaiting, in entry order", runIDs(must(tx.RunsAwaitingGoal("ana", t0))(t)), []int64{b.ID, a.ID})
				return nil
			})
		}},
		{"Tx.DeleteRun", func(t *testing.T, db *store.DB) {
			a := addRun(t, db, smsflow.Run{ContactID: "ana"})
			b := addRun(t, db, smsflow.Run{ContactID: "ana"})
			write(t, db, func(tx *store.Tx) error {
				if err := tx.DeleteRun(a.ID); err != nil {
					return err
				}
				equal(t, "gone in the transaction", must(tx.RunByID(a.ID))(t), (*smsflow.Run)(nil))
				equal(t, "open runs", runIDs(must(tx.OpenRuns("ana"))(t)), []int64{b.ID})
				return nil
			})
			equal(t, "runs left", must(db.CountRuns(bg, ""))(t), int64(1))
		}},
		{"Tx.LockContact", func(t *testing.T, db *store.DB) {
			addContact(t, db, "ana", "")
			write(t, db, func(tx *store.Tx) error {
				if err := tx.LockContact("nobody"); err != nil {
					return err
				}
				return tx.LockContact("ana")
			})
			if !concurrent(db) {
				return
			}
			// Another transaction locking ana waits for this one to end.
			done := make(chan struct{})
			write(t, db, func(tx *store.Tx) error {
				if err := tx.LockContact("ana"); err != nil {
					return err
				}
				go func() {
					_ = db.WriteTx(bg, func(tx2 *store.Tx) error { return tx2.LockContact("ana") })
					close(done)
				}()
				select {
				case <-done:
					t.Error("a second transaction locked a locked contact")
				case <-time.After(200 * time.Millisecond):
				}
				return nil
			})
			<-done
		}},
		{"DB.RunsByContact", func(t *testing.T, db *store.DB) {
			a := addRun(t, db, smsflow.Run{ContactID: "ana", EnteredAt: t0, Status: smsflow.RunCompleted})
			b := addRun(t, db, smsflow.Run{ContactID: "ana", EnteredAt: t0.Add(time.Hour)})
			c := addRun(t, db, smsflow.Run{ContactID: "ana", EnteredAt: t0})
			addRun(t, db, smsflow.Run{ContactID: "bob"})
			equal(t, "newest first", runIDs(must(db.RunsByContact(bg, "ana", false))(t)), []int64{b.ID, c.ID, a.ID})
			equal(t, "open only", runIDs(must(db.RunsByContact(bg, "ana", true))(t)), []int64{b.ID, c.ID})
		}},
		{"DB.CountRuns", func(t *testing.T, db *store.DB) {
			addRun(t, db, smsflow.Run{ContactID: "ana"})
			addRun(t, db, smsflow.Run{ContactID: "ana", Status: smsflow.RunCompleted})
			addRun(t, db, smsflow.Run{ContactID: "bob"})
			equal(t, "all", must(db.CountRuns(bg, ""))(t), int64(3))
			equal(t, "waiting", must(db.CountRuns(bg, smsflow.RunWaiting))(t), int64(2))
			equal(t, "exited", must(db.CountRuns(bg, smsflow.RunExited))(t), int64(0))
		}},
	}
}
