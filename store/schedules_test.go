package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// A job that has not started scanning moves to a newer flow version (and
// its due time); one that started, or an older version, leaves it alone.
func TestEnsureSegmentJobMovesAnUnstartedJobToANewerVersion(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		due := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
		ensure := func(key string, version int, due time.Time) {
			t.Helper()
			if err := db.EnsureSegmentJob(ctx, store.SegmentJob{FlowID: "d", Key: key, Version: version, DueAt: due}); err != nil {
				t.Fatal(err)
			}
		}
		jobs := func() map[string]string {
			t.Helper()
			out := map[string]string{}
			err := db.WriteTx(ctx, func(tx *store.Tx) error {
				for {
					j, err := tx.DueSegmentJob(due.Add(time.Hour))
					if err != nil || j == nil {
						return err
					}
					out[j.Key] = fmt.Sprintf("v%d %s", j.Version, j.DueAt.Format("15:04"))
					j.Status = "seen"
					if err := tx.UpdateSegmentJob(j); err != nil {
						return err
					}
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		ensure("daily:a", 1, due)
		ensure("daily:b", 1, due)
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			j, err := tx.DueSegmentJob(due)
			if err != nil || j == nil {
				return fmt.Errorf("no job: %v", err)
			}
			j.Cursor = "c1" // daily:a has started
			return tx.UpdateSegmentJob(j)
		})
		if err != nil {
			t.Fatal(err)
		}
		ensure("daily:a", 2, due.Add(-time.Hour))
		ensure("daily:b", 2, due.Add(-time.Hour))
		ensure("daily:b", 1, due) // a node that has not seen version 2 yet
		if got, want := fmt.Sprint(jobs()), fmt.Sprint(map[string]string{"daily:a": "v1 10:00", "daily:b": "v2 09:00"}); got != want {
			t.Errorf("jobs %s, want %s", got, want)
		}
	})
}

// Scheduled entries: one per flow, scan and contact; taken once, earliest
// first, and gone when taken.
func TestScheduledEntries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		at := time.Date(2026, 4, 1, 14, 0, 0, 0, time.UTC)
		entries := []store.ScheduledEntry{
			{FlowID: "f", Job: "daily:2026-04-01", ContactID: "b", FlowVersion: 1, At: at.Add(3 * time.Hour)},
			{FlowID: "f", Job: "daily:2026-04-01", ContactID: "a", FlowVersion: 1, At: at},
			{FlowID: "f", Job: "daily:2026-04-02", ContactID: "a", FlowVersion: 1, At: at.Add(24 * time.Hour)},
			{FlowID: "g", Job: "daily:2026-04-01", ContactID: "a", FlowVersion: 4, At: at},
		}
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			if err := tx.ScheduleEntries(entries); err != nil {
				return err
			}
			// The same scan again (a retried batch): nothing doubles, the first stays.
			again := entries[1]
			again.At = at.Add(time.Minute)
			return tx.ScheduleEntries([]store.ScheduledEntry{again})
		})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := db.CountScheduledEntries(ctx); err != nil || n != 4 {
			t.Fatalf("%d entries (%v), want 4", n, err)
		}
		take := func(now time.Time, limit int) []string {
			t.Helper()
			var out []string
			err := db.WriteTx(ctx, func(tx *store.Tx) error {
				due, err := tx.TakeDueEntries(now, limit)
				for _, e := range due {
					out = append(out, fmt.Sprintf("%s/%s/%s@%s v%d", e.FlowID, e.Job, e.ContactID, e.At.UTC().Format("02T15:04"), e.FlowVersion))
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		if got, want := fmt.Sprint(take(at.Add(5*time.Hour), 2)), "[f/daily:2026-04-01/a@01T14:00 v1 g/daily:2026-04-01/a@01T14:00 v4]"; got != want {
			t.Errorf("first take %s, want %s", got, want)
		}
		if got, want := fmt.Sprint(take(at.Add(5*time.Hour), 10)), "[f/daily:2026-04-01/b@01T17:00 v1]"; got != want {
			t.Errorf("second take %s, want %s", got, want)
		}
		if got := take(at.Add(5*time.Hour), 10); len(got) != 0 {
			t.Errorf("taken twice: %v", got)
		}
		if next, err := db.NextWake(ctx); err != nil || !next.Equal(at.Add(24*time.Hour)) {
			t.Errorf("NextWake %v (%v), want the last entry's moment %v", next, err, at.Add(24*time.Hour))
		}
	})
}

// The date decision last recorded per contact is remembered, replaced and
// forgotten.
func TestDateSkips(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			for _, s := range [][3]string{{"f", "a", "no date"}, {"f", "b", "bad"}, {"g", "a", "other flow"}, {"f", "b", "worse"}, {"f", "c", "x"}, {"f", "c", ""}} {
				if err := tx.SetDateSkip(s[0], s[1], s[2]); err != nil {
					return err
				}
			}
			got, err := tx.DateSkips("f", []string{"a", "b", "c", "d"})
			if want := map[string]string{"a": "no date", "b": "worse"}; fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("skips %v, want %v", got, want)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
