package storetest

import (
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

func dueInactivity(t testing.TB, db *store.DB, now time.Time) []store.InactivityTimer {
	t.Helper()
	var got []store.InactivityTimer
	write(t, db, func(tx *store.Tx) (err error) { got, err = tx.DueInactivity(now, 10); return })
	return got
}

func segmentJob(t testing.TB, db *store.DB, flowID, key string) *store.SegmentJob {
	t.Helper()
	var out *store.SegmentJob
	write(t, db, func(tx *store.Tx) error {
		for {
			j, err := tx.DueSegmentJob(t0.Add(1000 * time.Hour))
			if err != nil || j == nil {
				return err
			}
			if j.FlowID == flowID && j.Key == key {
				out = j
				return nil
			}
			j.Status = "skip" // look further: take it out of the pending ones
			if err := tx.UpdateSegmentJob(j); err != nil {
				return err
			}
		}
	})
	return out
}

func timerCases() []contractCase {
	return []contractCase{
		{"Tx.SetInactivityTimer", func(t *testing.T, db *store.DB) {
			write(t, db, func(tx *store.Tx) error { return tx.SetInactivityTimer("winback", "ana", t0.Add(time.Hour), 1) })
			write(t, db, func(tx *store.Tx) error { return tx.SetInactivityTimer("winback", "ana", t0.Add(2*time.Hour), 2) }) // pushed back
			write(t, db, func(tx *store.Tx) error { return tx.SetInactivityTimer("winback", "ana", t0.Add(time.Minute), 3) }) // earlier: ignored
			equal(t, "one deadline, pushed back", dueInactivity(t, db, t0.Add(3*time.Hour)),
				[]store.InactivityTimer{{FlowID: "winback", ContactID: "ana", DueAt: t0.Add(2 * time.Hour), EventSeq: 2}})
		}},
		{"Tx.DueInactivity", func(t *testing.T, db *store.DB) {
			write(t, db, func(tx *store.Tx) error {
				for _, s := range []struct {
					c string
					d time.Duration
				}{{"bob", time.Minute}, {"ana", time.Minute}, {"cy", 0}, {"dee", time.Hour}} {
					if err := tx.SetInactivityTimer("winback", s.c, t0.Add(s.d), 1); err != nil {
						return err
					}
				}
				return nil
			})
			var who []string
			for _, it := range dueInactivity(t, db, t0.Add(time.Minute)) {
				who = append(who, it.ContactID)
			}
			equal(t, "due, earliest first", who, []string{"cy", "ana", "bob"})
		}},
		{"Tx.TakeInactivity", func(t *testing.T, db *store.DB) {
			write(t, db, func(tx *store.Tx) error { return tx.SetInactivityTimer("winback", "ana", t0, 1) })
			due := dueInactivity(t, db, t0)[0]
			write(t, db, func(tx *store.Tx) error { return tx.SetInactivityTimer("winback", "ana", t0.Add(time.Hour), 2) })
			write(t, db, func(tx *store.Tx) error {
				equal(t, "a deadline pushed back meanwhile", must(tx.TakeInactivity(due))(t), false)
				due.DueAt = t0.Add(time.Hour)
				equal(t, "the current deadline", must(tx.TakeInactivity(due))(t), true)
				return nil
			})
			equal(t, "left", len(dueInactivity(t, db, t0.Add(2*time.Hour))), 0)
		}},
		{"DB.EnsureSegmentJob", func(t *testing.T, db *store.DB) {
			ensure := func(j store.SegmentJob) {
				t.Helper()
				if err := db.EnsureSegmentJob(bg, j); err != nil {
					t.Fatal(err)
				}
			}
			ensure(store.SegmentJob{FlowID: "vip", Key: "daily:1", Version: 1, DueAt: t0})
			ensure(store.SegmentJob{FlowID: "vip", Key: "daily:1", Version: 1, DueAt: t0.Add(time.Hour)}) // exists: kept
			j := segmentJob(t, db, "vip", "daily:1")
			equal(t, "created once", []any{j.Version, j.DueAt, j.Status, j.Cursor}, []any{1, t0, "pending", ""})
			// A newer flow version moves a job that has not started.
			ensure(store.SegmentJob{FlowID: "vip", Key: "daily:1", Version: 2, DueAt: t0.Add(time.Hour)})
			j = segmentJob(t, db, "vip", "daily:1")
			equal(t, "moved to the new version", []any{j.Version, j.DueAt}, []any{2, t0.Add(time.Hour)})
			// …but not one that has.
			j.Cursor = "ana"
			write(t, db, func(tx *store.Tx) error { return tx.UpdateSegmentJob(j) })
			ensure(store.SegmentJob{FlowID: "vip", Key: "daily:1", Version: 3, DueAt: t0})
			equal(t, "a started job stays", segmentJob(t, db, "vip", "daily:1").Version, 2)
			// A shard is not made where its unsharded job exists.
			ensure(store.SegmentJob{FlowID: "vip", Key: "daily:1#0", Base: "daily:1", Version: 2, DueAt: t0})
			ensure(store.SegmentJob{FlowID: "vip", Key: "daily:2#0", Base: "daily:2", Version: 2, DueAt: t0})
			equal(t, "jobs", count(t, db, `SELECT COUNT(*) FROM segment_jobs`), int64(2))
		}},
		{"Tx.DueSegmentJob", func(t *testing.T, db *store.DB) {
			write(t, db, func(tx *store.Tx) error {
				equal(t, "none", must(tx.DueSegmentJob(t0))(t), (*store.SegmentJob)(nil))
				return nil
			})
			for i, k := range []string{"b", "a", "c"} {
				if err := db.EnsureSegmentJob(bg, store.SegmentJob{FlowID: "vip", Key: k, Version: 1, DueAt: t0.Add(time.Duration(i-1) * time.Hour)}); err != nil {
					t.Fatal(err)
				}
			}
			write(t, db, func(tx *store.Tx) error {
				j := must(tx.DueSegmentJob(t0))(t)
				equal(t, "the earliest due", j.Key, "b")
				j.Status = "done"
				if err := tx.UpdateSegmentJob(j); err != nil {
					return err
				}
				equal(t, "the next", must(tx.DueSegmentJob(t0))(t).Key, "a")
				return nil
			})
			if !concurrent(db) {
				return
			}
			write(t, db, func(tx *store.Tx) error {
				mine := must(tx.DueSegmentJob(t0))(t)
				return alongside(db, func(tx2 *store.Tx) error {
					theirs := must(tx2.DueSegmentJob(t0))(t)
					if theirs != nil && theirs.Key == mine.Key {
						t.Errorf("job %s claimed twice", mine.Key)
					}
					return nil
				})
			})
		}},
		{"Tx.UpdateSegmentJob", func(t *testing.T, db *store.DB) {
			if err := db.EnsureSegmentJob(bg, store.SegmentJob{FlowID: "vip", Key: "k", Version: 1, DueAt: t0}); err != nil {
				t.Fatal(err)
			}
			j := segmentJob(t, db, "vip", "k")
			j.Cursor, j.Entered = "bob", 12
			write(t, db, func(tx *store.Tx) error { return tx.UpdateSegmentJob(j) })
			got := segmentJob(t, db, "vip", "k")
			equal(t, "progress", []any{got.Cursor, got.Entered, got.Status}, []any{"bob", int64(12), "pending"})
		}},
		{"Tx.ScheduleEntries", func(t *testing.T, db *store.DB) {
			e := store.ScheduledEntry{FlowID: "bday", Job: "daily:1", ContactID: "ana", FlowVersion: 1, At: t0}
			write(t, db, func(tx *store.Tx) error {
				if err := tx.ScheduleEntries(nil); err != nil {
					return err
				}
				return tx.ScheduleEntries([]store.ScheduledEntry{e, {FlowID: "bday", Job: "daily:1", ContactID: "bob", FlowVersion: 1, At: t0}})
			})
			moved := e
			moved.At, moved.FlowVersion = t0.Add(time.Hour), 2
			write(t, db, func(tx *store.Tx) error { return tx.ScheduleEntries([]store.ScheduledEntry{moved}) })
			equal(t, "scheduled", must(db.CountScheduledEntries(bg))(t), int64(2))
			write(t, db, func(tx *store.Tx) error {
				got := must(tx.TakeDueEntries(t0, 10))(t)
				equal(t, "a scheduled entry kept as it was", got[0], e)
				return nil
			})
		}},
		{"Tx.TakeDueEntries", func(t *testing.T, db *store.DB) {
			write(t, db, func(tx *store.Tx) error {
				return tx.ScheduleEntries([]store.ScheduledEntry{
					{FlowID: "bday", Job: "j", ContactID: "bob", FlowVersion: 1, At: t0},
					{FlowID: "bday", Job: "j", ContactID: "ana", FlowVersion: 1, At: t0.Add(time.Minute)},
					{FlowID: "bday", Job: "j", ContactID: "cy", FlowVersion: 1, At: t0.Add(-time.Minute)},
					{FlowID: "bday", Job: "j", ContactID: "dee", FlowVersion: 1, At: t0.Add(time.Hour)},
				})
			})
			_ = db.WriteTx(bg, func(tx *store.Tx) error {
				_, _ = tx.TakeDueEntries(t0.Add(time.Minute), 10)
				return smsflow.Errorf(smsflow.EINTERNAL, "roll back")
			})
			var who []string
			write(t, db, func(tx *store.Tx) error {
				for _, e := range must(tx.TakeDueEntries(t0.Add(time.Minute), 2))(t) {
					who = append(who, e.ContactID)
				}
				return nil
			})
			equal(t, "earliest first, limited (a rolled-back take is due again)", who, []string{"cy", "bob"})
			equal(t, "left", must(db.CountScheduledEntries(bg))(t), int64(2))
			if !concurrent(db) {
				return
			}
			write(t, db, func(tx *store.Tx) error {
				mine := must(tx.TakeDueEntries(t0.Add(time.Hour), 1))(t)
				return alongside(db, func(tx2 *store.Tx) error {
					theirs := must(tx2.TakeDueEntries(t0.Add(time.Hour), 10))(t)
					equal(t, "another transaction takes the others", len(theirs), 1)
					if len(theirs) == 1 && theirs[0].ContactID == mine[0].ContactID {
						t.Errorf("entry of %s taken twice", mine[0].ContactID)
					}
					return nil
				})
			})
			equal(t, "all taken", must(db.CountScheduledEntries(bg))(t), int64(0))
		}},
		{"DB.CountScheduledEntries", func(t *testing.T, db *store.DB) {
			equal(t, "none", must(db.CountScheduledEntries(bg))(t), int64(0))
			write(t, db, func(tx *store.Tx) error {
				return tx.ScheduleEntries([]store.ScheduledEntry{{FlowID: "bday", Job: "j", ContactID: "bob", FlowVersion: 1, At: t0}})
			})
			equal(t, "one", must(db.CountScheduledEntries(bg))(t), int64(1))
		}},
		{"Tx.SetDateSkip", func(t *testing.T, db *store.DB) {
			write(t, db, func(tx *store.Tx) error {
				if err := tx.SetDateSkip("bday", "ana", "no date"); err != nil {
					return err
				}
				if err := tx.SetDateSkip("bday", "ana", "invalid date"); err != nil { // replaced
					return err
				}
				if err := tx.SetDateSkip("bday", "bob", "no date"); err != nil {
					return err
				}
				return tx.SetDateSkip("bday", "bob", "") // forgotten
			})
			write(t, db, func(tx *store.Tx) error {
				equal(t, "notes", must(tx.DateSkips("bday", []string{"ana", "bob"}))(t), map[string]string{"ana": "invalid date"})
				return nil
			})
		}},
		{"Tx.DateSkips", func(t *testing.T, db *store.DB) {
			write(t, db, func(tx *store.Tx) error {
				if err := tx.SetDateSkip("bday", "ana", "no date"); err != nil {
					return err
				}
				if err := tx.SetDateSkip("anniv", "bob", "no date"); err != nil {
					return err
				}
				equal(t, "this flow's", must(tx.DateSkips("bday", []string{"ana", "bob", "cy"}))(t), map[string]string{"ana": "no date"})
				equal(t, "none asked", must(tx.DateSkips("bday", nil))(t), map[string]string{})
				return nil
			})
		}},
		{"DB.NextWake", func(t *testing.T, db *store.DB) {
			equal(t, "no timer", must(db.NextWake(bg))(t), time.Time{})
			addRun(t, db, smsflow.Run{ContactID: "ana", WakeAt: t0.Add(4 * time.Hour)})
			equal(t, "a run's", must(db.NextWake(bg))(t), t0.Add(4*time.Hour))
			write(t, db, func(tx *store.Tx) error { return tx.SetInactivityTimer("winback", "ana", t0.Add(3*time.Hour), 1) })
			equal(t, "an inactivity deadline", must(db.NextWake(bg))(t), t0.Add(3*time.Hour))
			if err := db.EnsureSegmentJob(bg, store.SegmentJob{FlowID: "vip", Key: "k", Version: 1, DueAt: t0.Add(2 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
			equal(t, "a segment job", must(db.NextWake(bg))(t), t0.Add(2*time.Hour))
			write(t, db, func(tx *store.Tx) error {
				return tx.ScheduleEntries([]store.ScheduledEntry{{FlowID: "bday", Job: "j", ContactID: "bob", FlowVersion: 1, At: t0.Add(time.Hour)}})
			})
			equal(t, "a scheduled entry", must(db.NextWake(bg))(t), t0.Add(time.Hour))
		}},
		{"DB.Wakes", func(t *testing.T, db *store.DB) {
			equal(t, "no timer", must(db.Wakes(bg))(t), store.Wakes{})
			addRun(t, db, smsflow.Run{ContactID: "ana", WakeAt: t0.Add(4 * time.Hour)})
			addRun(t, db, smsflow.Run{ContactID: "bob", WakeAt: t0.Add(5 * time.Hour)})
			write(t, db, func(tx *store.Tx) error { return tx.SetInactivityTimer("winback", "ana", t0.Add(3*time.Hour), 1) })
			equal(t, "runs and inactivity", must(db.Wakes(bg))(t), store.Wakes{Runs: t0.Add(4 * time.Hour), Inactivity: t0.Add(3 * time.Hour)})
			if err := db.EnsureSegmentJob(bg, store.SegmentJob{FlowID: "vip", Key: "k", Version: 1, DueAt: t0.Add(6 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
			write(t, db, func(tx *store.Tx) error {
				return tx.ScheduleEntries([]store.ScheduledEntry{{FlowID: "bday", Job: "j", ContactID: "bob", FlowVersion: 1, At: t0.Add(7 * time.Hour)}})
			})
			w := must(db.Wakes(bg))(t)
			equal(t, "each kind its own", w, store.Wakes{Runs: t0.Add(4 * time.Hour), Inactivity: t0.Add(3 * time.Hour),
				SegmentJobs: t0.Add(6 * time.Hour), Entries: t0.Add(7 * time.Hour)})
			equal(t, "the earliest", w.Next(), t0.Add(3*time.Hour))
		}},
	}
}
