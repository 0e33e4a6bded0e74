package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/store"
)

// SegmentBatch is how many contacts one segment-scan transaction enters
// (it looks at SegmentBatch × shards ids).
const SegmentBatch = 500

// SegmentShards is how many jobs a segment is split into on PostgreSQL, so
// that several engine loops (and nodes) enter its contacts at once: shard i
// of n enters the contacts whose stable hash falls in its slice. It is fixed
// by the database, not by a node's configuration, so that every node makes
// the same jobs. SQLite, with one writer, keeps one job (D33).
const SegmentShards = 4

// segmentShards is the shard count for the engine's database.
func (e *Engine) segmentShards() int {
	if e.db.Dialect().Name() == "postgres" {
		return SegmentShards
	}
	return 1
}

// shardKey names shard i of n of a job ("at:…#1/4"); one shard keeps the
// plain key.
func shardKey(key string, i, n int) string {
	if n <= 1 {
		return key
	}
	return fmt.Sprintf("%s#%d/%d", key, i, n)
}

// splitShard reads a job key back: the plain key, the shard and the count.
func splitShard(key string) (base string, i, n int) {
	base, shard, ok := strings.Cut(key, "#")
	if !ok {
		return key, 0, 1
	}
	if _, err := fmt.Sscanf(shard, "%d/%d", &i, &n); err != nil || n < 1 || i < 0 || i >= n {
		return key, 0, 1
	}
	return base, i, n
}

// inShard reports whether a contact belongs to shard i of n.
func inShard(contactID string, i, n int) bool {
	return n <= 1 || int(stableHash("segment-shard", contactID)*float64(n)) == i
}

// earliestZone is where a local wall-clock time happens first (UTC+14), so a
// local segment's scan starts before anyone's moment comes.
var earliestZone = time.FixedZone("UTC+14", 14*3600)

// armInactivity pushes back the inactivity deadlines an event feeds.
func (cc *contactCtx) armInactivity(ev *smsflow.Event) error {
	for _, comp := range cc.e.cat.Active() {
		in := comp.Trigger.Inactivity
		if comp.Trigger.Kind != flow.TriggerInactivity || in == nil || in.Event != ev.Name {
			continue
		}
		if err := cc.tx.SetInactivityTimer(comp.ID, cc.contact.ID, ev.Timestamp.Add(in.For), ev.Seq); err != nil {
			return err
		}
	}
	return nil
}

// ProcessInactivity enters contacts whose inactivity deadline passed, with
// the last qualifying event as `event`.
func (e *Engine) ProcessInactivity(ctx context.Context, limit int) (int, error) {
	now := e.clock.Now()
	handled := 0
	err := e.commitWork(ctx, func(tx *store.Tx, w *work) error {
		handled = 0
		due, err := tx.DueInactivity(now, limit)
		if err != nil {
			return err
		}
		sort.SliceStable(due, func(i, j int) bool { return due[i].ContactID < due[j].ContactID })
		for _, it := range due {
			if err := tx.LockContact(it.ContactID); err != nil {
				return err
			}
			if ok, err := tx.TakeInactivity(it); err != nil || !ok {
				if err != nil {
					return err
				}
				continue
			}
			handled++
			h, ok := e.cat.Head(it.FlowID)
			if !ok || h.Status != FlowActive {
				continue
			}
			comp, err := e.cat.Version(ctx, h.ID, h.Version)
			if err != nil {
				return err
			}
			if comp.Trigger.Kind != flow.TriggerInactivity {
				continue
			}
			cc, err := e.newContactCtx(tx, w, it.ContactID)
			if err != nil {
				return err
			}
			if cc.contact == nil {
				continue
			}
			last, err := tx.EventBySeq(it.EventSeq)
			if err != nil {
				return err
			}
			if _, err := cc.tryEnter(comp, last); err != nil {
				return err
			}
		}
		return nil
	})
	return handled, err
}

// segmentJobs returns the jobs a segment flow needs around now.
func segmentJobs(comp *Compiled, now time.Time, shards int) []store.SegmentJob {
	seg := comp.Trigger.Segment
	if comp.Trigger.Kind != flow.TriggerSegment || seg == nil {
		return nil
	}
	var jobs []store.SegmentJob
	for _, j := range segmentScans(comp, now) {
		for i := range max(shards, 1) {
			s := j
			s.Key, s.Base = shardKey(j.Key, i, shards), j.Key
			jobs = append(jobs, s)
		}
	}
	return jobs
}

// segmentScans are the scans of a segment flow around now, unsharded.
func segmentScans(comp *Compiled, now time.Time) []store.SegmentJob {
	seg := comp.Trigger.Segment
	job := func(key string, due time.Time) store.SegmentJob {
		return store.SegmentJob{FlowID: comp.ID, Key: key, Version: comp.Version, DueAt: due}
	}
	switch {
	case !seg.Local:
		if seg.At.Before(now.Add(-time.Hour)) {
			return nil // long past when the flow arrived: never fire late
		}
		return []store.SegmentJob{job("at:"+seg.At.UTC().Format(time.RFC3339), seg.At)}
	case seg.LocalAt.HasDate:
		w := seg.LocalAt
		return []store.SegmentJob{job("local:"+w.String(), time.Date(w.Year, w.Month, w.Day, w.Clock.Hour, w.Clock.Minute, 0, 0, earliestZone))}
	default:
		var out []store.SegmentJob
		d := now.UTC()
		for i := 0; i < 2; i++ {
			day := d.AddDate(0, 0, i)
			out = append(out, job("daily:"+day.Format("2006-01-02"), time.Date(day.Year(), day.Month(), day.Day(), seg.LocalAt.Clock.Hour, seg.LocalAt.Clock.Minute, 0, 0, earliestZone)))
		}
		return out
	}
}

// ensureSegmentJobs creates the scans of every active segment flow.
func (e *Engine) ensureSegmentJobs(ctx context.Context) error {
	now := e.clock.Now()
	for _, comp := range e.cat.Active() {
		for _, j := range segmentJobs(comp, now, e.segmentShards()) {
			if err := e.db.EnsureSegmentJob(ctx, j); err != nil {
				return err
			}
		}
	}
	return nil
}

// ProcessSegments advances the earliest due segment scan by one batch of
// contacts: each matching contact enters now, or — for a local time — gets a
// pending run that enters at that wall-clock time in its own zone.
func (e *Engine) ProcessSegments(ctx context.Context, batch int) (int, error) {
	now := e.clock.Now()
	handled := 0
	daily := false
	var done *store.SegmentJob
	err := e.commitWork(ctx, func(tx *store.Tx, w *work) error {
		handled, daily, done = 0, false, nil
		j, err := tx.DueSegmentJob(now)
		if err != nil || j == nil {
			return err
		}
		h, ok := e.cat.Head(j.FlowID)
		if !ok || h.Status != FlowActive {
			j.Status = "skipped:flow_" + h.Status
			return tx.UpdateSegmentJob(j)
		}
		comp, err := e.cat.Version(ctx, j.FlowID, j.Version)
		if err != nil {
			return err
		}
		_, shard, shards := splitShard(j.Key)
		ids, err := tx.ContactIDsAfter(j.Cursor, batch*shards)
		if err != nil {
			return err
		}
		var mine []string
		for _, id := range ids {
			if inShard(id, shard, shards) {
				mine = append(mine, id)
			}
		}
		if err := tx.Prefetch(e.prefetch(mine, nil, true)); err != nil {
			return err
		}
		for _, id := range mine {
			cc, err := e.newContactCtx(tx, w, id) // locks the contact
			if err != nil {
				return err
			}
			if cc.contact == nil {
				continue
			}
			entered, err := cc.segmentEntry(comp, j)
			if err != nil {
				return err
			}
			if entered {
				j.Entered++
			}
			handled++
		}
		if len(ids) > 0 {
			j.Cursor = ids[len(ids)-1]
			handled += len(ids) - len(mine) // other shards' contacts: scanned, progress too
		}
		if len(ids) < batch*shards {
			j.Status = "done"
			done = j
			daily = comp.Trigger.Segment.Local && !comp.Trigger.Segment.LocalAt.HasDate
			handled++ // finishing the job is progress too
		}
		return tx.UpdateSegmentJob(j)
	})
	if err == nil && done != nil {
		e.log.Info("segment entry finished", "flow", done.FlowID, "job", done.Key, "entered", done.Entered)
		if daily {
			err = e.ensureSegmentJobs(ctx)
		}
	}
	return handled, err
}

// segmentEntry checks one contact against a segment job.
func (cc *contactCtx) segmentEntry(comp *Compiled, j *store.SegmentJob) (bool, error) {
	seg := comp.Trigger.Segment
	at := cc.now
	if seg.Local {
		at = cc.localInstant(seg.LocalAt, j)
		if at.Before(cc.now.Add(-time.Minute)) {
			return false, nil // that moment has passed in this contact's zone
		}
	}
	base, _, _ := splitShard(j.Key)
	ev := &smsflow.Event{Type: "segment", Name: "Segment Entered", ContactID: cc.contact.ID,
		Properties: map[string]any{"flow": comp.ID, "job": base}, Timestamp: at, ReceivedAt: cc.now}
	ok, err := cc.cond(seg.Where, nil, ev, false, comp.ID, "segment.where")
	if err != nil || !ok {
		return false, err
	}
	if !at.After(cc.now) {
		run, err := cc.tryEnter(comp, ev)
		return run != nil, err
	}
	run, err := cc.checkEntry(comp, ev)
	if err != nil || run == nil {
		return false, err
	}
	// Enter later: a run waiting at no step yet, woken at the local moment.
	run.Status, run.Step, run.WakeAt, run.EnteredAt = smsflow.RunWaiting, "", at, at
	return true, cc.tx.InsertRun(run)
}

// localInstant is the job's wall-clock time in the contact's zone: the
// explicit zone, else the latest candidate (spec §4), DST gaps moving
// forward.
func (cc *contactCtx) localInstant(w flow.WallTime, j *store.SegmentJob) time.Time {
	zone := policy.LocalZoneFor(explicitZone(cc.contact), cc.contact.Timezones, cc.now)
	loc, err := policy.LoadZone(zone)
	if err != nil {
		loc = time.UTC
	}
	y, m, d := w.Year, w.Month, w.Day
	if !w.HasDate {
		base, _, _ := splitShard(j.Key)
		day, err := time.Parse("2006-01-02", strings.TrimPrefix(base, "daily:"))
		if err != nil {
			day = cc.now
		}
		y, m, d = day.Date()
	}
	midnight := time.Date(y, m, d, 0, 0, 0, 0, loc).Add(-time.Second)
	return policy.NextLocal(midnight, w.Clock.String(), loc)
}
