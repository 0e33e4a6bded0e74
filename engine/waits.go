package engine

import (
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/store"
)

// startWait sets a run waiting on a wait step. It returns false when the wait
// is already over (an `until` in the past) and the run goes on at once.
func (cc *contactCtx) startWait(run *smsflow.Run, comp *Compiled, step *flow.Step) (bool, error) {
	w := step.Wait
	run.State.WaitStarted = cc.now
	var wake time.Time
	switch w.Kind {
	case flow.WaitDuration:
		wake = cc.now.Add(w.Duration)
	case flow.WaitUntil:
		t, err := flow.EvalTime(w.Until, cc.vars(run, nil), cc.facts(run))
		if err != nil {
			// Fail closed: an until that cannot be computed never fires early;
			// it ends the run instead of guessing.
			if err := cc.conditionError(run, comp.ID, step.ID, w.Until, err); err != nil {
				return false, err
			}
			return true, cc.exitRun(run, "error:wait_until")
		}
		if !t.After(cc.now) {
			return false, nil
		}
		wake = t
	case flow.WaitUntilLocal:
		zone := policy.LocalZoneFor(explicitZone(cc.contact), cc.contact.Timezones, cc.now)
		loc, err := policy.LoadZone(zone)
		if err != nil {
			loc = time.UTC
		}
		wake = policy.NextLocal(cc.now, w.UntilLocal.String(), loc)
	case flow.WaitEvent, flow.WaitReply:
		run.State.Waited, run.State.Reply, run.State.TimedOut = nil, "", false
		if w.Timeout > 0 {
			wake = cc.now.Add(w.Timeout)
		}
	}
	run.Status, run.WakeAt = smsflow.RunWaiting, wake
	cc.trace(Trace{FlowID: comp.ID, Step: step.ID, Kind: "wait", Reason: waitReason(w, wake), RunID: run.ID, Holdout: run.Holdout, Variant: run.Variant})
	return true, nil
}

func waitReason(w *flow.Wait, wake time.Time) string {
	switch w.Kind {
	case flow.WaitEvent:
		return "until:" + w.Event
	case flow.WaitReply:
		return "until:reply"
	}
	return "until=" + wake.UTC().Format(time.RFC3339)
}

// explicitZone is the contact's zone when it was given (trait or context),
// "" when it was only derived from the number.
func explicitZone(c *smsflow.Contact) string {
	if c.TimezoneSource == "trait" || c.TimezoneSource == "context" {
		return c.Timezone
	}
	return ""
}

// resumeTimer continues a run whose timer fired.
func (cc *contactCtx) resumeTimer(run *smsflow.Run) error {
	comp, err := cc.e.cat.Version(cc.tx.Context(), run.FlowID, run.FlowVersion)
	if err != nil {
		return err
	}
	h, _ := cc.e.cat.Head(run.FlowID)
	switch {
	case h.Status == FlowArchived:
		return cc.exitRun(run, "flow_archived")
	case run.Step == "" && h.Status != FlowActive:
		// A pending entry of a paused or held flow never starts.
		return cc.refuseEntry(run, comp, "skipped:flow_"+h.Status)
	}
	if run.Step == "" {
		// A pending entry made before scheduled entries had their own
		// table (a run at no step yet): decided now like one of them.
		if err := cc.b.deleteRun(run); err != nil {
			return err
		}
		job := ""
		if run.State.Trigger != nil {
			job, _ = run.State.Trigger.Properties["job"].(string)
		}
		return cc.enterScheduled(store.ScheduledEntry{FlowID: run.FlowID, Job: job, ContactID: run.ContactID, FlowVersion: run.FlowVersion, At: run.WakeAt})
	}
	step := comp.Step(run.Step)
	if step != nil && step.Kind == flow.StepSend && !run.State.DeferredSince.IsZero() {
		return cc.release(run, comp, step)
	}
	if step == nil || step.Kind != flow.StepWait {
		return cc.exitRun(run, "error:unknown_step")
	}
	if step.Wait.Kind == flow.WaitEvent || step.Wait.Kind == flow.WaitReply {
		run.State.TimedOut = true
	}
	cc.trace(Trace{FlowID: comp.ID, Step: step.ID, Kind: "wait", Reason: "resumed:timer", RunID: run.ID})
	return cc.continueAfterWait(run, comp, step)
}

func (cc *contactCtx) continueAfterWait(run *smsflow.Run, comp *Compiled, step *flow.Step) error {
	run.Status, run.WakeAt, run.State.WaitStarted = smsflow.RunActive, time.Time{}, time.Time{}
	run.Step = comp.Next(step.ID)
	return cc.advance(run, comp)
}
