package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/store"
)

// An audience is the contacts a flow's scheduled trigger selects: the
// condition of a `segment:` trigger (the flow syntax keeps that word), or
// the contacts whose date comes round for a `date:` trigger. An audience
// scan walks every contact, in batches, and enters or schedules the ones
// that match; its jobs are rows (store.SegmentJob), so every node and
// restart picks up where the last batch left off.

// AudienceBatch is how many contacts one audience-scan transaction enters
// (it looks at AudienceBatch × shards ids).
const AudienceBatch = 500

// AudienceShards is how many jobs an audience scan is split into on PostgreSQL, so
// that several engine loops (and nodes) enter its contacts at once: shard i
// of n enters the contacts whose stable hash falls in its slice. It is fixed
// by the database, not by a node's configuration, so that every node makes
// the same jobs. SQLite, with one writer, keeps one job (D33).
const AudienceShards = 4

// audienceShards is the shard count for the engine's database.
func (e *Engine) audienceShards() int {
	if e.db.Dialect().Name() == "postgres" {
		return AudienceShards
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
	// The salt keeps its old name: renaming it would move contacts between
	// shards, and nodes of two versions would then disagree.
	return n <= 1 || int(stableHash("segment-shard", contactID)*float64(n)) == i
}

// earliestZone is where a local wall-clock time happens first (UTC+14), so a
// local audience's scan starts before anyone's moment comes.
var earliestZone = time.FixedZone("UTC+14", 14*3600)

// audienceJobs returns the jobs an audience or date flow needs around now
// (none for a daily day after until, when until is set).
func audienceJobs(comp *Compiled, now, until time.Time, shards int) []store.SegmentJob {
	var jobs []store.SegmentJob
	for _, j := range audienceScans(comp, now, until) {
		jobs = append(jobs, shardJobs(j, shards)...)
	}
	return jobs
}

// shardJobs splits a scan into its shards' jobs.
func shardJobs(j store.SegmentJob, shards int) []store.SegmentJob {
	var jobs []store.SegmentJob
	for i := range max(shards, 1) {
		s := j
		s.Key, s.Base = shardKey(j.Key, i, shards), j.Key
		jobs = append(jobs, s)
	}
	return jobs
}

// audienceScans are the scans of an audience or date flow around now,
// unsharded: a one-off instant, a dated local time, or, for a daily
// schedule (a local audience at HH:MM, a date trigger), today's and
// tomorrow's (UTC dates) days.
func audienceScans(comp *Compiled, now, until time.Time) []store.SegmentJob {
	tr := comp.Trigger
	switch {
	case tr.Daily():
		var out []store.SegmentJob
		for i := range 2 {
			if j, ok := dailyJob(comp, now.UTC().AddDate(0, 0, i), now, until); ok {
				out = append(out, j)
			}
		}
		return out
	case tr.Kind != flow.TriggerSegment || tr.Segment == nil:
		return nil
	case !tr.Segment.Local:
		seg := tr.Segment
		if seg.At.Before(now.Add(-time.Hour)) {
			return nil // long past when the flow arrived: never fire late
		}
		return []store.SegmentJob{{FlowID: comp.ID, Key: "at:" + seg.At.UTC().Format(time.RFC3339), Version: comp.Version, DueAt: seg.At}}
	default:
		w := tr.Segment.LocalAt
		return []store.SegmentJob{{FlowID: comp.ID, Key: "local:" + w.String(), Version: comp.Version,
			DueAt: time.Date(w.Year, w.Month, w.Day, w.Clock.Hour, w.Clock.Minute, 0, 0, earliestZone)}}
	}
}

// latestZone is where a local wall-clock time happens last (UTC-12): a
// day's scan is over once its time has passed there.
var latestZone = time.FixedZone("UTC-12", -12*3600)

// dailyJob is the scan of a daily flow for the local day that day's UTC
// date names, due when the flow's time of day first happens anywhere. ok is
// false when that day is after until (set) or already over in every zone.
func dailyJob(comp *Compiled, day, now, until time.Time) (store.SegmentJob, bool) {
	y, m, d := day.Date()
	c := comp.Trigger.Clock()
	label := day.Format("2006-01-02")
	if !until.IsZero() && label > until.UTC().Format("2006-01-02") {
		return store.SegmentJob{}, false
	}
	if time.Date(y, m, d, c.Hour, c.Minute, 0, 0, latestZone).Before(now.Add(-time.Minute)) {
		return store.SegmentJob{}, false
	}
	return store.SegmentJob{FlowID: comp.ID, Key: "daily:" + label, Version: comp.Version, DueAt: time.Date(y, m, d, c.Hour, c.Minute, 0, 0, earliestZone)}, true
}

// jobDay is the local day a scheduled scan's contacts enter on, read from
// its (unsharded) key: "daily:2026-04-01" or "local:2026-04-01T10:00".
func jobDay(job string) (smsflow.Date, bool) {
	var day string
	switch {
	case strings.HasPrefix(job, "daily:"):
		day = strings.TrimPrefix(job, "daily:")
	case strings.HasPrefix(job, "local:"):
		day, _, _ = strings.Cut(strings.TrimPrefix(job, "local:"), "T")
	default:
		return smsflow.Date{}, false
	}
	t, err := time.Parse("2006-01-02", day)
	if err != nil {
		return smsflow.Date{}, false
	}
	return smsflow.DateOf(t), true
}

// ensureAudienceJobs creates the scans of every active audience and date
// flow.
func (e *Engine) ensureAudienceJobs(ctx context.Context) error {
	now := e.clock.Now()
	for _, comp := range e.cat.Active() {
		for _, j := range audienceJobs(comp, now, e.cfg.ScheduleUntil, e.audienceShards()) {
			if err := e.db.EnsureSegmentJob(ctx, j); err != nil {
				return err
			}
		}
	}
	return nil
}

// ensureNextDay makes, when a daily flow's scan of day D finished, its scan
// of D+1 (and whatever ensureAudienceJobs makes). A daily schedule so keeps
// itself going, whether or not anything refreshes the jobs: serve reloads
// its flows every few seconds, but simulate's clock jumps from timer to
// timer, and without this stopped after the second day.
func (e *Engine) ensureNextDay(ctx context.Context, done *store.SegmentJob) error {
	base, _, _ := splitShard(done.Key)
	day, err := time.Parse("2006-01-02", strings.TrimPrefix(base, "daily:"))
	h, ok := e.cat.Head(done.FlowID)
	if err == nil && ok && h.Status == FlowActive {
		comp, err := e.cat.Version(ctx, h.ID, h.Version)
		if err != nil {
			return err
		}
		if j, ok := dailyJob(comp, day.AddDate(0, 0, 1), e.clock.Now(), e.cfg.ScheduleUntil); ok && comp.Trigger.Daily() {
			for _, s := range shardJobs(j, e.audienceShards()) {
				if err := e.db.EnsureSegmentJob(ctx, s); err != nil {
					return err
				}
			}
		}
	}
	return e.ensureAudienceJobs(ctx)
}

// ProcessAudiences advances the earliest due audience scan by one batch of
// contacts. A one-off audience at an instant enters each matching contact
// now. A local audience or a date trigger schedules each contact's entry at
// its wall-clock moment (scheduleEntry); the entry rules are checked when
// that moment comes (ProcessEntries).
func (e *Engine) ProcessAudiences(ctx context.Context, size int) (int, error) {
	now := e.clock.Now()
	handled := 0
	daily := false
	var done *store.SegmentJob
	err := e.commitWork(ctx, func(b *batch, tx WriteTx) error {
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
		scheduled := comp.Trigger.Scheduled()
		_, shard, shards := splitShard(j.Key)
		ids, err := tx.ContactIDsAfter(j.Cursor, size*shards)
		if err != nil {
			return err
		}
		var mine []string
		for _, id := range ids {
			if inShard(id, shard, shards) {
				mine = append(mine, id)
			}
		}
		var skips map[string]string
		if scheduled {
			// Only the contacts: the entry rules are checked at each moment.
			err = b.loadContacts(mine, store.Load{})
			if err == nil && comp.Trigger.Kind == flow.TriggerDate {
				skips, err = tx.DateSkips(comp.ID, mine)
			}
		} else {
			err = b.loadContacts(mine, e.load(true))
		}
		if err != nil {
			return err
		}
		var entries []store.ScheduledEntry
		for _, id := range mine {
			cc, err := e.newContactCtx(b, id) // locked by loadContacts
			if err != nil {
				return err
			}
			if cc.contact == nil {
				continue
			}
			if scheduled {
				en, err := cc.scheduleEntry(comp, j, skips[id])
				if err != nil {
					return err
				}
				if en != nil {
					entries = append(entries, *en)
					j.Entered++
				}
			} else {
				entered, err := cc.audienceEntry(comp, j)
				if err != nil {
					return err
				}
				if entered {
					j.Entered++
				}
			}
			handled++
		}
		if err := tx.ScheduleEntries(entries); err != nil {
			return err
		}
		if len(ids) > 0 {
			j.Cursor = ids[len(ids)-1]
			handled += len(ids) - len(mine) // other shards' contacts: scanned, progress too
		}
		if len(ids) < size*shards {
			j.Status = "done"
			done = j
			daily = comp.Trigger.Daily()
			handled++ // finishing the job is progress too
		}
		return tx.UpdateSegmentJob(j)
	})
	if err == nil && done != nil {
		e.log.Info("audience scan finished", "flow", done.FlowID, "job", done.Key, "entered_or_scheduled", done.Entered)
		if daily {
			err = e.ensureNextDay(ctx, done)
		}
	}
	return handled, err
}

// audienceEntry enters one contact of a one-off audience at an instant, now,
// if it matches.
func (cc *contactCtx) audienceEntry(comp *Compiled, j *store.SegmentJob) (bool, error) {
	seg := comp.Trigger.Segment
	base, _, _ := splitShard(j.Key)
	ev := &smsflow.Event{Type: "segment", Name: smsflow.EventSegmentEntered, ContactID: cc.contact.ID,
		Properties: map[string]any{"flow": comp.ID, "job": base}, Timestamp: cc.now, ReceivedAt: cc.now}
	ok, err := cc.cond(seg.Where, nil, ev, false, comp.ID, "segment.where")
	if err != nil || !ok {
		return false, err
	}
	run, err := cc.tryEnter(comp, ev)
	return run != nil, err
}

// localZone is the zone a contact's wall-clock times are read in: the
// explicit zone, else the latest candidate (policy.LocalZoneFor); UTC when none loads.
func (cc *contactCtx) localZone() *time.Location {
	loc, err := policy.LoadZone(policy.LocalZoneFor(explicitZone(cc.contact), cc.contact.Timezones, cc.now))
	if err != nil {
		return time.UTC
	}
	return loc
}

// localInstant is the moment of clock on day in loc; a time that falls in
// a DST gap moves forward to the first valid instant.
func localInstant(day smsflow.Date, clock flow.Clock, loc *time.Location) time.Time {
	midnight := time.Date(day.Year, day.Month, day.Day, 0, 0, 0, 0, loc).Add(-time.Second)
	return policy.NextLocal(midnight, clock.String(), loc)
}

// scheduledEvent is the trigger event of a scheduled entry at its moment:
// "Segment Entered" with the flow and the scan, or "Date Reached" also
// with the property and the occurrence of the date the entry is about
// (event.properties.date, YYYY-MM-DD).
func (cc *contactCtx) scheduledEvent(comp *Compiled, job string, at time.Time, occurrence smsflow.Date) *smsflow.Event {
	ev := &smsflow.Event{Type: "segment", Name: smsflow.EventSegmentEntered, ContactID: cc.contact.ID,
		Properties: map[string]any{"flow": comp.ID, "job": job}, Timestamp: at, ReceivedAt: cc.now}
	if d := comp.Trigger.Date; d != nil {
		ev.Type, ev.Name = "date", smsflow.EventDateReached
		ev.Properties["property"] = d.Property
		ev.Properties["date"] = occurrence.String()
	}
	return ev
}

// isScheduledTrigger reports whether ev is comp's own scheduled entry event
// (not, say, the event that started another flow's run and then entered
// this one).
func isScheduledTrigger(comp *Compiled, ev *smsflow.Event) bool {
	return ev != nil && comp.Trigger.Scheduled() && (ev.Type == "segment" || ev.Type == "date") && ev.Properties["flow"] == comp.ID
}

// scheduleEntry looks at one contact in a scheduled scan: when its moment
// on the scan's day is still to come and it matches — for a date trigger,
// its date comes round that day — it returns the entry to schedule. The
// condition is evaluated with `now` at that moment, so a condition about
// the day (`now.getDayOfWeek(…)`, a date compared with `now`) means the
// contact's day; it is checked again, with the entry rules, at the moment.
// lastNote is the date decision last recorded for the contact (DateSkips).
func (cc *contactCtx) scheduleEntry(comp *Compiled, j *store.SegmentJob, lastNote string) (*store.ScheduledEntry, error) {
	job, _, _ := splitShard(j.Key)
	day, ok := jobDay(job)
	if !ok {
		return nil, nil
	}
	loc := cc.localZone()
	where, label := comp.Trigger.Where, "trigger"
	var occurrence smsflow.Date
	if d := comp.Trigger.Date; d != nil {
		date, reason, detail := cc.contactDate(d, loc)
		if reason != "" {
			if note := reason + ": " + detail; note != lastNote {
				// Once, not at every daily scan; a missing date is the
				// common case and stays out of simulate's timeline.
				if err := cc.skipEntry(comp, reason, detail, reason != smsflow.DecisionNoDate); err != nil {
					return nil, err
				}
				return nil, cc.tx.SetDateSkip(comp.ID, cc.contact.ID, note)
			}
			return nil, nil
		}
		if lastNote != "" {
			if err := cc.tx.SetDateSkip(comp.ID, cc.contact.ID, ""); err != nil {
				return nil, err
			}
		}
		if occurrence, ok = d.EntersOn(date, day); !ok {
			return nil, nil
		}
	} else {
		where, label = comp.Trigger.Segment.Where, "segment.where"
	}
	at := localInstant(day, comp.Trigger.Clock(), loc)
	if at.Before(cc.now.Add(-time.Minute)) {
		return nil, nil // that moment has passed in this contact's zone
	}
	ev := cc.scheduledEvent(comp, job, at, occurrence)
	if ok, err := cc.condAt(at, where, ev, comp.ID, label); err != nil || !ok {
		return nil, err
	}
	return &store.ScheduledEntry{FlowID: comp.ID, Job: job, ContactID: cc.contact.ID, FlowVersion: comp.Version, At: at}, nil
}

// contactDate reads a date trigger's date from the contact, or the
// decision that keeps it out with its detail.
func (cc *contactCtx) contactDate(d *flow.DateTrigger, loc *time.Location) (date smsflow.Date, reason, detail string) {
	date, err := d.ContactDate(cc.contactVars(), loc)
	switch {
	case errors.Is(err, flow.ErrNoDate):
		return date, smsflow.DecisionNoDate, d.Property + " is not set"
	case err != nil:
		return date, smsflow.DecisionInvalidDate, smsflow.ErrorMessage(err)
	}
	return date, "", ""
}

// condAt evaluates a condition as it would read at the moment at: `now`
// and the event-history functions look from there.
func (cc *contactCtx) condAt(at time.Time, e *flow.Expr, ev *smsflow.Event, flowID, where string) (bool, error) {
	if e == nil {
		return true, nil
	}
	v := cc.vars(nil, ev)
	v.Now = at
	ok, err := flow.EvalBool(e, v, &runFacts{cc: cc, at: at})
	if err == nil {
		return ok, nil
	}
	return false, cc.conditionError(nil, flowID, where, e, err)
}

// skipEntry records that a contact does not enter a flow, as a decision
// with step "entry" and, when shown, in the traces (simulate's timeline),
// where the detail follows the reason in parentheses.
func (cc *contactCtx) skipEntry(comp *Compiled, reason, detail string, shown bool) error {
	if shown {
		r := reason
		if detail != "" {
			r += "(" + detail + ")"
		}
		cc.trace(Trace{FlowID: comp.ID, Step: "entry", Kind: "skip", Reason: r})
	}
	return cc.b.decide(&smsflow.Decision{StepID: "entry", FlowID: comp.ID, ContactID: cc.contact.ID, Reason: reason, Detail: detail, At: cc.now})
}

// ProcessEntries makes up to limit scheduled entries whose moment has come.
// Each is decided now, by the flow's current version, exactly as an entry
// by an event: whether the contact still belongs (the audience's condition,
// the date), then the entry rules in the order every entry is decided
// (checkEntry) — trigger where, consent, unless, re-entry, holdout.
func (e *Engine) ProcessEntries(ctx context.Context, limit int) (int, error) {
	now := e.clock.Now()
	handled := 0
	err := e.commitWork(ctx, func(b *batch, tx WriteTx) error {
		handled = 0
		due, err := tx.TakeDueEntries(now, limit)
		if err != nil || len(due) == 0 {
			return err
		}
		byContact := map[string][]store.ScheduledEntry{}
		var ids []string
		for _, en := range due {
			if _, ok := byContact[en.ContactID]; !ok {
				ids = append(ids, en.ContactID)
			}
			byContact[en.ContactID] = append(byContact[en.ContactID], en)
		}
		sort.Strings(ids) // one lock order for every node
		if err := b.loadContacts(ids, e.load(true)); err != nil {
			return err
		}
		for _, id := range ids {
			cc, err := e.newContactCtx(b, id) // locked by loadContacts
			if err != nil {
				return err
			}
			entries := byContact[id]
			e.entriesByPriority(entries)
			for _, en := range entries {
				handled++
				if cc.contact == nil {
					continue // merged away or gone
				}
				if err := cc.enterScheduled(en); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return handled, err
}

// entriesByPriority orders one contact's entries due together as sends due
// together are decided in a fixed order, so the same sends win on every
// node and every run: flow priority, then moment, then flow id.
func (e *Engine) entriesByPriority(entries []store.ScheduledEntry) {
	prio := func(en store.ScheduledEntry) int {
		if c, ok := e.cat.Peek(en.FlowID, en.FlowVersion); ok {
			return c.Priority
		}
		return 0
	}
	sort.SliceStable(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		if pa, pb := prio(a), prio(b); pa != pb {
			return pa > pb
		}
		if !a.At.Equal(b.At) {
			return a.At.Before(b.At)
		}
		return a.FlowID < b.FlowID
	})
}

// enterScheduled decides a scheduled entry at its moment (ProcessEntries).
// A flow no longer active, or edited into another kind of trigger, lets it
// go without a decision, as it would an event. The run's entry time is the
// scheduled moment, so `reentry: 1d` on a 10:00 flow is exactly a day.
func (cc *contactCtx) enterScheduled(en store.ScheduledEntry) error {
	h, ok := cc.e.cat.Head(en.FlowID)
	if !ok || h.Status != FlowActive {
		return nil
	}
	comp, err := cc.e.cat.Version(cc.tx.Context(), h.ID, h.Version)
	if err != nil {
		return err
	}
	day, ok := jobDay(en.Job)
	if !comp.Trigger.Scheduled() || !ok {
		return nil
	}
	var occurrence smsflow.Date
	if d := comp.Trigger.Date; d != nil {
		date, reason, detail := cc.contactDate(d, cc.localZone())
		if reason != "" {
			if err := cc.skipEntry(comp, reason, detail, true); err != nil {
				return err
			}
			return cc.tx.SetDateSkip(comp.ID, cc.contact.ID, reason+": "+detail)
		}
		if occurrence, ok = d.EntersOn(date, day); !ok {
			return cc.skipEntry(comp, smsflow.DecisionDateChanged, fmt.Sprintf("%s is %s now, which does not fall on %s", d.Property, date, day), true)
		}
	}
	ev := cc.scheduledEvent(comp, en.Job, en.At, occurrence)
	// The contact was scheduled because it matched at the scan: one that
	// no longer does is told apart from one never scheduled. (A date
	// trigger's where is then evaluated once more by checkEntry, with the
	// same inputs and result.)
	where, label := comp.Trigger.Where, "trigger"
	if seg := comp.Trigger.Segment; seg != nil {
		where, label = seg.Where, "segment.where"
	}
	if ok, err := cc.cond(where, nil, ev, false, comp.ID, label); err != nil || !ok {
		if err != nil {
			return err
		}
		return cc.skipEntry(comp, smsflow.DecisionSegmentLeft, "", true)
	}
	run, err := cc.checkEntry(comp, ev)
	if err != nil || run == nil {
		return err
	}
	run.EnteredAt = en.At
	if err := cc.b.insertRun(run); err != nil {
		return err
	}
	cc.trace(Trace{FlowID: comp.ID, Kind: "enter", RunID: run.ID, Holdout: run.Holdout, Reason: triggerReason(ev)})
	return cc.advance(run, comp)
}

// sinceEntry is how long ago the contact last entered the flow, for
// reentry. A scheduled entry counts from its moment, in wall-clock time of
// the contact's zone: `reentry: 1d` on a flow entering at 10:00 every day
// lets the contact in every day, across a 23-hour DST day and a timer that
// fires a little late.
func (cc *contactCtx) sinceEntry(comp *Compiled, trigger *smsflow.Event, last time.Time) time.Duration {
	if !isScheduledTrigger(comp, trigger) {
		return cc.now.Sub(last)
	}
	loc := cc.localZone()
	wall := func(t time.Time) time.Time {
		l := t.In(loc)
		return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
	}
	return wall(trigger.Timestamp).Sub(wall(last))
}
