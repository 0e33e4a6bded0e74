package engine

import (
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/flow"
)

// goals records conversions: the first goal event strictly after entry and
// within the window, once per run, for open and ended runs alike.
func (cc *contactCtx) goals(ev *smsflow.Event) error {
	// Any version's goal: a run converts by its own version's goal, which
	// may not be the current version's.
	maxWithin, relevant := cc.e.cat.GoalWindow(ev.Name)
	if !relevant {
		return nil
	}
	since := ev.Timestamp.Add(-maxWithin)
	if maxWithin == 0 {
		since = time.Time{}
	}
	runs, err := cc.b.runsAwaitingGoal(cc.contact.ID, since)
	if err != nil {
		return err
	}
	for _, run := range runs {
		comp, err := cc.e.cat.Version(cc.tx.Context(), run.FlowID, run.FlowVersion)
		if err != nil {
			return err
		}
		g := comp.Goal
		if g == nil || g.Event != ev.Name || !ev.Timestamp.After(run.EnteredAt) {
			continue
		}
		if run.State.Trigger != nil && run.State.Trigger.Seq == ev.Seq {
			continue
		}
		if g.Within > 0 && ev.Timestamp.After(run.EnteredAt.Add(g.Within)) {
			continue
		}
		ok, err := cc.cond(g.Where, run, ev, false, comp.ID, "goal")
		if err != nil || !ok {
			if err != nil {
				return err
			}
			continue
		}
		value := 0.0
		if g.Value != nil {
			v, err := flow.EvalDouble(g.Value, cc.vars(run, ev), cc.facts(run))
			if err != nil {
				if err := cc.conditionError(run, comp.ID, "goal.value", g.Value, err); err != nil {
					return err
				}
			} else {
				value = v
			}
		}
		run.GoalAt, run.GoalValue, run.UpdatedAt = ev.Timestamp, value, cc.now
		cc.trace(Trace{FlowID: comp.ID, Kind: "goal", Reason: "goal:" + ev.Name, RunID: run.ID, Holdout: run.Holdout, Variant: run.Variant, Value: value, HasValue: g.Value != nil})
		if g.Exit && !run.Ended() {
			if err := cc.exitRun(run, "goal"); err != nil {
				return err
			}
			continue
		}
		if err := cc.b.updateRun(run); err != nil {
			return err
		}
	}
	return nil
}
