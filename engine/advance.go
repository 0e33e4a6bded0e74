package engine

import (
	"slices"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/flow"
)

// advance walks a run's steps until it waits or ends, then stores it.
func (cc *contactCtx) advance(run *smsflow.Run, comp *Compiled) error {
	for run.Step != "" && !run.Ended() {
		run.State.Steps++
		if run.State.Steps > maxStepsPerRun {
			return cc.exitRun(run, "error:too_many_steps")
		}
		step := comp.Step(run.Step)
		if step == nil {
			return cc.exitRun(run, "error:unknown_step")
		}
		switch step.Kind {
		case flow.StepSend:
			deferred, err := cc.send(run, comp, step)
			if err != nil {
				return err
			}
			if deferred {
				run.UpdatedAt = cc.now
				return cc.b.updateRun(run)
			}
			run.Step = comp.Next(step.ID)
		case flow.StepWait:
			waiting, err := cc.startWait(run, comp, step)
			if err != nil {
				return err
			}
			if waiting {
				run.UpdatedAt = cc.now
				return cc.b.updateRun(run)
			}
			run.Step = comp.Next(step.ID)
		case flow.StepIf:
			ok, err := cc.cond(step.If.Cond, run, nil, false, comp.ID, step.ID)
			if err != nil {
				return err
			}
			branch := 1
			if ok {
				branch = 0
			}
			run.Step, _ = comp.Branch(step.ID, branch)
		case flow.StepSwitch:
			taken := -1
			for i, c := range step.Switch {
				if c.When == nil {
					taken = i
					break
				}
				ok, err := cc.cond(c.When, run, nil, false, comp.ID, step.ID)
				if err != nil {
					return err
				}
				if ok {
					taken = i
					break
				}
			}
			if taken < 0 {
				run.Step = comp.Next(step.ID)
			} else {
				run.Step, _ = comp.Branch(step.ID, taken)
			}
		case flow.StepSplit:
			i := pickVariant(comp.ID, step.ID, cc.contact.ID, step.Split)
			if run.State.Variants == nil {
				run.State.Variants = map[string]string{}
			}
			run.State.Variants[step.ID] = step.Split[i].Name
			run.Variant = step.Split[i].Name
			cc.trace(Trace{FlowID: comp.ID, Step: step.ID, Kind: "split", Variant: run.Variant, RunID: run.ID, Holdout: run.Holdout})
			run.Step, _ = comp.Branch(step.ID, i)
		case flow.StepSet:
			if err := cc.set(run, comp, step); err != nil {
				return err
			}
			run.Step = comp.Next(step.ID)
		case flow.StepEnter:
			if err := cc.exitRun(run, "enter:"+step.Enter); err != nil {
				return err
			}
			target, ok := cc.e.cat.Head(step.Enter)
			if !ok || target.Status != FlowActive {
				return nil
			}
			tc, err := cc.e.cat.Version(cc.tx.Context(), target.ID, target.Version)
			if err != nil {
				return err
			}
			_, err = cc.tryEnter(tc, run.State.Trigger)
			return err
		case flow.StepExit:
			return cc.exitRun(run, step.Exit)
		default:
			return cc.exitRun(run, "error:unknown_step_kind")
		}
	}
	if run.Ended() {
		return nil
	}
	run.Status, run.EndedAt, run.UpdatedAt, run.WakeAt = smsflow.RunCompleted, cc.now, cc.now, time.Time{}
	cc.trace(Trace{FlowID: comp.ID, Kind: "exit", Reason: "completed", RunID: run.ID, Holdout: run.Holdout, Variant: run.Variant})
	return cc.b.updateRun(run)
}

// exitRun ends a run early and cancels what it still had queued.
func (cc *contactCtx) exitRun(run *smsflow.Run, reason string) error {
	run.Status, run.ExitReason, run.EndedAt, run.UpdatedAt, run.WakeAt = smsflow.RunExited, reason, cc.now, cc.now, time.Time{}
	if n, err := cc.b.cancelQueued(run, cc.now); err != nil {
		return err
	} else if n > 0 {
		cc.trace(Trace{FlowID: run.FlowID, Kind: "cancel", Reason: reason, RunID: run.ID})
	}
	cc.trace(Trace{FlowID: run.FlowID, Kind: "exit", Reason: reason, RunID: run.ID, Holdout: run.Holdout, Variant: run.Variant})
	return cc.b.updateRun(run)
}

// set updates contact traits from a set step.
func (cc *contactCtx) set(run *smsflow.Run, comp *Compiled, step *flow.Step) error {
	changed := false
	for _, a := range step.Set {
		v, err := flow.EvalValue(a.Value, cc.vars(run, nil), cc.facts(run))
		if err != nil {
			if err := cc.conditionError(run, comp.ID, step.ID, a.Value, err); err != nil {
				return err
			}
			continue
		}
		if cc.contact.Traits == nil {
			cc.contact.Traits = map[string]any{}
		}
		cc.contact.Traits[a.Trait] = v
		if i := slices.Index(cc.contact.PublicTraits, a.Trait); i >= 0 {
			// The flow wrote this value; its author is trusted.
			cc.contact.PublicTraits = slices.Delete(slices.Clone(cc.contact.PublicTraits), i, i+1)
		}
		changed = true
	}
	if !changed {
		return nil
	}
	cc.contact.UpdatedAt = cc.now
	return cc.tx.UpdateContact(cc.contact)
}
