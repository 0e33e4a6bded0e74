package store_test

import (
	"errors"
	"fmt"
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

// What a prefetched read returns is what the plain read returns, and a
// write of the transaction is seen by the reads after it.
func TestPrefetchReadsAsTheDatabase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
		runs := seedBatch(t, db, 5, now)
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			err := tx.Prefetch(store.Prefetch{Contacts: []string{"c0001", "c0000", "ghost"}, Runs: []int64{runs[0].ID},
				OpenRuns: true, Entries: true, RecentSince: now.Add(-time.Hour), Marketing: true})
			if err != nil {
				return err
			}
			c, _, err := tx.ContactForUpdate("c0000")
			if err != nil || c == nil || c.Phone != "+14155550000" {
				t.Errorf("prefetched contact = %+v, %v", c, err)
			}
			if c, _, err := tx.ContactForUpdate("ghost"); err != nil || c != nil {
				t.Errorf("a missing contact must read as nil, got %+v, %v", c, err)
			}
			r, err := tx.RunByID(runs[0].ID)
			if err != nil || r == nil || r.Status != smsflow.RunWaiting || r.Step != "s" {
				t.Fatalf("prefetched run = %+v, %v", r, err)
			}
			open, err := tx.OpenRuns("c0000")
			if err != nil || len(open) != 1 || open[0].ID != runs[0].ID {
				t.Errorf("prefetched open runs = %+v, %v", open, err)
			}
			last, isOpen, err := tx.LastEntry("f", "c0000")
			if err != nil || !last.Equal(now) || !isOpen {
				t.Errorf("prefetched last entry = %v %v %v", last, isOpen, err)
			}
			if last, isOpen, _ := tx.LastEntry("other", "c0000"); !last.IsZero() || isOpen {
				t.Errorf("a flow never entered: %v %v", last, isOpen)
			}
			recent, err := tx.RecentSends("c0000", now.Add(-time.Minute))
			if err != nil || len(recent) != 1 || recent[0].FlowID != "f" {
				t.Errorf("prefetched recent sends = %+v, %v", recent, err)
			}

			for _, q := range []struct {
				contact, phone string
				want           bool
			}{{"c0000", "+14155550000", true}, {"c0000", "+14155559999", false}, {"ghost", "+14155550000", false}} {
				if had, err := tx.HadMarketing(q.contact, q.phone); err != nil || had != q.want {
					t.Errorf("prefetched HadMarketing(%s, %s) = %v, %v; want %v", q.contact, q.phone, had, err, q.want)
				}
			}

			// The run ends (a buffered update): reads after it see it.
			r.Status, r.EndedAt, r.WakeAt = smsflow.RunCompleted, now, time.Time{}
			if err := tx.UpdateRun(r); err != nil {
				return err
			}
			if open, err := tx.OpenRuns("c0000"); err != nil || len(open) != 0 {
				t.Errorf("open runs after the run ended = %+v, %v; want none", open, err)
			}
			if _, isOpen, err := tx.LastEntry("f", "c0000"); err != nil || isOpen {
				t.Errorf("last entry after the run ended: open %v, %v", isOpen, err)
			}
			if again, err := tx.RunByID(r.ID); err != nil || again.Status != smsflow.RunCompleted {
				t.Errorf("run re-read after its update = %+v, %v", again, err)
			}
			// A new run and message of c0001 are seen by its next reads.
			r2 := &smsflow.Run{FlowID: "g", FlowVersion: 1, ContactID: "c0001", Status: smsflow.RunActive, EnteredAt: now.Add(time.Minute), UpdatedAt: now}
			if err := tx.InsertRun(r2); err != nil {
				return err
			}
			if last, isOpen, err := tx.LastEntry("g", "c0001"); err != nil || !last.Equal(now.Add(time.Minute)) || !isOpen {
				t.Errorf("last entry after a new run = %v %v %v", last, isOpen, err)
			}
			m := &smsflow.Message{Direction: "out", RunID: r2.ID, StepID: "x", FlowID: "g", Category: "promo", ContactID: "c0001", Phone: "+14155550001",
				Body: "yo", Status: smsflow.MessageQueued, Provider: "console", CreatedAt: now.Add(time.Minute), UpdatedAt: now}
			if _, err := tx.InsertMessage(m); err != nil {
				return err
			}
			dup := *m
			if inserted, err := tx.InsertMessage(&dup); err != nil || inserted {
				t.Errorf("a second message for the same run and step: inserted %v, %v; want not inserted", inserted, err)
			}
			if recent, err := tx.RecentSends("c0001", now.Add(-time.Minute)); err != nil || len(recent) != 2 {
				t.Errorf("recent sends after a new message = %+v, %v; want 2", recent, err)
			}
			// A contact changed in the transaction is read as changed.
			c1, _, err := tx.ContactForUpdate("c0001")
			if err != nil {
				return err
			}
			c1.Timezone = "America/Chicago"
			if err := tx.UpdateContact(c1); err != nil {
				return err
			}
			if again, _, err := tx.ContactForUpdate("c0001"); err != nil || again.Timezone != "America/Chicago" {
				t.Errorf("contact re-read after its update = %+v, %v", again, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.RunsByContact(ctx, "c0000", false)
		if err != nil || len(got) != 1 || got[0].Status != smsflow.RunCompleted {
			t.Errorf("after commit, c0000's run = %+v, %v; want completed", got, err)
		}
	})
}

// Buffered writes commit with the transaction and vanish with its
// rollback; many of them are written in several statements.
func TestWriteBehindCommitsAndRollsBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
		runs := seedBatch(t, db, 1500, now)
		write := func(status string, fail bool) error {
			return db.WriteTx(ctx, func(tx *store.Tx) error {
				for _, r := range runs {
					r.Status, r.Variant = status, "v-"+status
					if err := tx.UpdateRun(r); err != nil {
						return err
					}
					if err := tx.InsertDecision(&smsflow.Decision{RunID: r.ID, StepID: "s", FlowID: "f", ContactID: r.ContactID, Reason: "sent:" + status, At: now}); err != nil {
						return err
					}
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

// Events read ahead (ingestion) are new or duplicates exactly as a plain
// insert says: by message id and by dedupe key, against stored events and
// the transaction's own; their seqs follow the call order, also around an
// event that was not read ahead; a read of events sees them.
func TestPrefetchedEventsInsertAsThePlainInsert(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
		ev := func(id, dedupe string) *smsflow.Event {
			return &smsflow.Event{MessageID: id, DedupeKey: dedupe, Type: smsflow.EventTrack, Name: "Order Completed", ContactID: "ana", Timestamp: now, ReceivedAt: now}
		}
		err := db.WriteTx(ctx, func(tx *store.Tx) error {
			for _, e := range []*smsflow.Event{ev("old-1", ""), ev("old-2", "order:7")} {
				if _, err := tx.InsertEvent(e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		type step struct {
			e     *smsflow.Event
			fresh bool
		}
		steps := []step{
			{ev("old-1", ""), false},          // stored message id
			{ev("fresh-1", "order:7"), false}, // stored dedupe key
			{ev("fresh-2", "order:8"), true},
			{ev("fresh-2", ""), false},        // the transaction's own message id
			{ev("fresh-3", "order:8"), false}, // the transaction's own dedupe key
			{ev("fresh-4", ""), true},
			{ev("unasked", ""), true}, // not read ahead: inserted at once
			{ev("fresh-5", ""), true},
		}
		var seqs []int64
		err = db.WriteTx(ctx, func(tx *store.Tx) error {
			var ahead []*smsflow.Event
			for _, s := range steps {
				if s.e.MessageID != "unasked" {
					ahead = append(ahead, s.e)
				}
			}
			if err := tx.Prefetch(store.Prefetch{Events: ahead}); err != nil {
				return err
			}
			for i, s := range steps {
				inserted, err := tx.InsertEvent(s.e)
				if err != nil {
					return err
				}
				if inserted != s.fresh {
					t.Errorf("step %d (%s): inserted %v, want %v", i, s.e.MessageID, inserted, s.fresh)
				}
				if inserted {
					seqs = append(seqs, s.e.Seq)
				}
			}
			got, err := tx.CountEventsSince("ana", "Order Completed", now, now)
			if err != nil {
				return err
			}
			if want := 2 + len(seqs); got != want {
				t.Errorf("a read inside the transaction sees %d events, want %d", got, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(seqs); i++ {
			if seqs[i] <= seqs[i-1] {
				t.Errorf("seqs %v do not follow the call order", seqs)
			}
		}
		stored, err := db.EventsByContact(ctx, "ana", 100)
		if err != nil {
			t.Fatal(err)
		}
		bySeq := map[int64]string{}
		for _, e := range stored {
			bySeq[e.Seq] = e.MessageID
		}
		if len(stored) != 2+len(seqs) {
			t.Fatalf("%d events stored, want %d", len(stored), 2+len(seqs))
		}
		for i, want := range []string{"fresh-2", "fresh-4", "unasked", "fresh-5"} {
			if bySeq[seqs[i]] != want {
				t.Errorf("seq %d holds %q, want %q", seqs[i], bySeq[seqs[i]], want)
			}
		}
	})
}
