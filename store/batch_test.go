package store_test

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// seedBatch makes n contacts, each with one open run of flow "f" and one
// queued message, and returns the runs.
func seedBatch(t *testing.T, db *store.DB, n int, now time.Time) []*smsflow.Run {
	t.Helper()
	var runs []*smsflow.Run
	err := db.WriteTx(ctx, func(tx *store.Tx) error {
		for i := range n {
			id := fmt.Sprintf("c%04d", i)
			c := &smsflow.Contact{ID: id, Phone: fmt.Sprintf("+1415555%04d", i), CreatedAt: now, UpdatedAt: now}
			if err := tx.InsertContact(c); err != nil {
				return err
			}
			r := &smsflow.Run{FlowID: "f", FlowVersion: 1, ContactID: id, Status: smsflow.RunWaiting, Step: "s",
				WakeAt: now.Add(time.Hour), EnteredAt: now, UpdatedAt: now}
			if err := tx.InsertRun(r); err != nil {
				return err
			}
			runs = append(runs, r)
			m := &smsflow.Message{Direction: "out", RunID: r.ID, StepID: "s", FlowID: "f", Category: "promo", ContactID: id, Phone: c.Phone,
				Body: "hi", Status: smsflow.MessageQueued, Provider: "console", CreatedAt: now, UpdatedAt: now}
			if _, err := tx.InsertMessage(m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// What a batch read (LoadContacts) returns for many contacts is what the
// single reads return for each.
func TestLoadContactsReadsAsTheSingleReads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
		runs := seedBatch(t, db, 5, now)
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			since := now.Add(-time.Hour)
			all, err := tx.LoadContacts([]string{"c0001", "c0000", "ghost"}, store.Load{OpenRuns: true, Entries: true, RecentSince: since, Marketing: true})
			if err != nil {
				return err
			}
			for _, id := range []string{"c0000", "c0001", "ghost"} {
				s := all[id]
				c, consent, err := tx.ContactForUpdate(id)
				if err != nil {
					return err
				}
				if !reflect.DeepEqual(s.Contact, c) || s.Consent != consent {
					t.Errorf("%s: loaded %+v %s, read %+v %s", id, s.Contact, s.Consent, c, consent)
				}
				open, _ := tx.OpenRuns(id)
				if !reflect.DeepEqual(s.OpenRuns, open) {
					t.Errorf("%s: loaded open runs %v, read %v", id, s.OpenRuns, open)
				}
				for _, f := range []string{"f", "other"} {
					last, isOpen, _ := tx.LastEntry(f, id)
					if e := s.Entries[f]; !e.Last.Equal(last) || e.Open != isOpen {
						t.Errorf("%s/%s: loaded entry %+v, read %v %v", id, f, e, last, isOpen)
					}
				}
				recent, _ := tx.RecentSends(id, since)
				if !reflect.DeepEqual(s.Recent, recent) {
					t.Errorf("%s: loaded recent %v, read %v", id, s.Recent, recent)
				}
				for _, phone := range []string{"+14155550000", "+14155550001"} {
					had, _ := tx.HadMarketing(id, phone)
					if s.Marketing[phone] != had {
						t.Errorf("%s/%s: loaded marketing %v, read %v", id, phone, s.Marketing[phone], had)
					}
				}
			}
			if all["c0000"].Contact == nil || len(all["c0000"].OpenRuns) != 1 || all["c0000"].OpenRuns[0].ID != runs[0].ID || !all["c0000"].Marketing["+14155550000"] {
				t.Errorf("c0000 loaded as %+v", all["c0000"])
			}
			byID, err := tx.RunsByID([]int64{runs[0].ID, runs[1].ID})
			if err != nil {
				return err
			}
			for _, r := range runs[:2] {
				one, _ := tx.RunByID(r.ID)
				if !reflect.DeepEqual(byID[r.ID], one) {
					t.Errorf("run %d: batch read %+v, single read %+v", r.ID, byID[r.ID], one)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// Batch writes commit with the transaction and vanish with its rollback;
// many rows are written in several statements.
func TestBatchWritesCommitAndRollBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
		runs := seedBatch(t, db, 1500, now)
		write := func(status string, fail bool) error {
			return db.WriteTx(ctx, func(tx *store.Tx) error {
				var ds []*smsflow.Decision
				for _, r := range runs {
					r.Status, r.Variant = status, "v-"+status
					ds = append(ds, &smsflow.Decision{RunID: r.ID, StepID: "s", FlowID: "f", ContactID: r.ContactID, Reason: "sent:" + status, At: now})
				}
				if err := tx.UpdateRuns(runs); err != nil {
					return err
				}
				if err := tx.InsertDecisions(ds); err != nil {
					return err
				}
				if fail {
					return errors.New("rolled back")
				}
				return nil
			})
		}
		if err := write(smsflow.RunExited, true); err == nil {
			t.Fatal("the failing transaction committed")
		}
		if err := write(smsflow.RunCompleted, false); err != nil {
			t.Fatal(err)
		}
		for _, i := range []int{0, 777, 1499} {
			got, err := db.RunsByContact(ctx, runs[i].ContactID, false)
			if err != nil || len(got) != 1 || got[0].Status != smsflow.RunCompleted || got[0].Variant != "v-completed" {
				t.Errorf("run %d after commit = %+v, %v", i, got, err)
			}
			ds, err := db.Decisions(ctx, runs[i].ContactID, 10)
			if err != nil || len(ds) != 1 || ds[0].Reason != "sent:completed" {
				t.Errorf("decisions of run %d = %+v, %v; want only the committed one", i, ds, err)
			}
		}
		n, err := db.CountRuns(ctx, smsflow.RunCompleted)
		if err != nil || n != 1500 {
			t.Errorf("completed runs = %d, %v; want 1500", n, err)
		}
	})
}

// A shard of a segment job is not created where the unsharded job exists
// (made before segments were sharded): a segment is never scanned twice.
func TestSegmentShardsDoNotDoubleAnOldJob(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		due := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
		old := store.SegmentJob{FlowID: "vip", Key: "at:old", Version: 1, DueAt: due}
		if err := db.EnsureSegmentJob(ctx, old); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			for _, base := range []string{"at:old", "at:new"} {
				j := store.SegmentJob{FlowID: "vip", Key: fmt.Sprintf("%s#%d/2", base, i), Base: base, Version: 1, DueAt: due}
				if err := db.EnsureSegmentJob(ctx, j); err != nil {
					t.Fatal(err)
				}
			}
		}
		var keys []string
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			for {
				j, err := tx.DueSegmentJob(due)
				if err != nil || j == nil {
					return err
				}
				keys = append(keys, j.Key)
				j.Status = "done"
				if err := tx.UpdateSegmentJob(j); err != nil {
					return err
				}
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(keys)
		if want := []string{"at:new#0/2", "at:new#1/2", "at:old"}; fmt.Sprint(keys) != fmt.Sprint(want) {
			t.Errorf("jobs = %v, want %v", keys, want)
		}
	})
}
