package engine

import (
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/flow"
)

// handleEvent applies one stored event: exits and goals of the contact's
// runs, waits it satisfies, then the flows it triggers.
func (cc *contactCtx) handleEvent(ev *smsflow.Event) error {
	if ev.ReceivedAt.Sub(ev.Timestamp) > cc.e.cfg.TriggerMaxAge {
		return nil // history: stored, triggers nothing
	}
	if ev.Trust.Public() {
		// An order a trusted source (the server key, Shopify) reported
		// counts once, as that source said it: the write key's copy
		// triggers, exits and converts nothing.
		if key := smsflow.OrderDedupeKey(ev.Name, ev.Properties); key != "" {
			if twin, err := cc.tx.TrustedEventWithKey(key); err != nil || twin {
				return err
			}
		}
	}
	if ev.Type == smsflow.EventIdentify || ev.Type == smsflow.EventAlias || ev.Type == smsflow.EventGroup {
		// Traits may have changed: reload them for later conditions.
		c, err := cc.tx.ContactByID(cc.contact.ID)
		if err != nil {
			return err
		}
		if c != nil {
			cc.contact = c
		}
		if cc.consent, err = cc.tx.ContactConsent(cc.contact.Phone); err != nil {
			return err
		}
		return nil
	}
	if ev.Type == smsflow.EventConsent {
		var err error
		if cc.consent, err = cc.tx.ContactConsent(cc.contact.Phone); err != nil {
			return err
		}
		if cc.consent == smsflow.ConsentUnsubscribed {
			if err := cc.optOut(); err != nil {
				return err
			}
		}
	}
	if err := cc.goals(ev); err != nil {
		return err
	}
	if err := cc.armInactivity(ev); err != nil {
		return err
	}
	runs, err := cc.b.openRuns(cc.contact.ID)
	if err != nil {
		return err
	}
	cc.e.byPriority(runs)
	replyTo, err := cc.replyRun(runs, ev)
	if err != nil {
		return err
	}
	for _, run := range runs {
		if run.Ended() {
			continue
		}
		comp, err := cc.e.cat.Version(cc.tx.Context(), run.FlowID, run.FlowVersion)
		if err != nil {
			return err
		}
		if err := cc.eventForRun(run, comp, ev, run.ID == replyTo); err != nil {
			return err
		}
	}
	for _, comp := range cc.e.cat.Active() {
		if triggeredBy(comp, ev) {
			run, err := cc.tryEnter(comp, ev)
			if err != nil {
				return err
			}
			if run != nil {
				cc.b.consumeReply(ev, comp.ID, "")
			}
		}
	}
	return nil
}

// optOut applies an unsubscribe: every message a flow queued for the
// contact is canceled (canceled:opt_out) and every open run ends. Automatic
// replies (the STOP confirmation) are left to go out.
func (cc *contactCtx) optOut() error {
	canceled, err := cc.b.cancelContactQueued(cc.contact.ID, "opt_out", cc.now)
	if err != nil {
		return err
	}
	for _, m := range canceled {
		cc.trace(Trace{FlowID: m.FlowID, Step: m.StepID, Kind: "cancel", Reason: smsflow.DecisionCanceledOptOut, RunID: m.RunID})
		if err := cc.b.decide(&smsflow.Decision{RunID: m.RunID, StepID: m.StepID, FlowID: m.FlowID, ContactID: cc.contact.ID,
			Reason: smsflow.DecisionCanceledOptOut, At: cc.now}); err != nil {
			return err
		}
	}
	runs, err := cc.b.openRuns(cc.contact.ID)
	if err != nil {
		return err
	}
	for _, run := range runs {
		if !run.Ended() && run.Step != "" { // a pending segment entry is refused at its moment
			if run.Status == smsflow.RunWaiting && !run.State.DeferredSince.IsZero() {
				// A send parked by a deferral will never go: say why, as for a queued one.
				cc.trace(Trace{FlowID: run.FlowID, Step: run.Step, Kind: "cancel", Reason: smsflow.DecisionCanceledOptOut, RunID: run.ID})
				if err := cc.b.decide(&smsflow.Decision{RunID: run.ID, StepID: run.Step, FlowID: run.FlowID, ContactID: cc.contact.ID,
					Reason: smsflow.DecisionCanceledOptOut, Detail: "deferred send canceled", At: cc.now}); err != nil {
					return err
				}
			}
			if err := cc.exitRun(run, "opt_out"); err != nil {
				return err
			}
		}
	}
	return nil
}

// replyRun picks the run an inbound reply belongs to (docs/flows.md): among the
// runs waiting for a reply, the one whose last outbound message is the most
// recent. 0 when none waits.
func (cc *contactCtx) replyRun(runs []*smsflow.Run, ev *smsflow.Event) (int64, error) {
	if ev.Type != smsflow.EventInbound {
		return 0, nil
	}
	var best, bestMsg int64
	for _, run := range runs {
		if run.Status != smsflow.RunWaiting {
			continue
		}
		comp, err := cc.e.cat.Version(cc.tx.Context(), run.FlowID, run.FlowVersion)
		if err != nil {
			return 0, err
		}
		step := comp.Step(run.Step)
		if step == nil || step.Kind != flow.StepWait || step.Wait.Kind != flow.WaitReply {
			continue
		}
		last, err := cc.b.lastRunMessage(run.ID)
		if err != nil {
			return 0, err
		}
		if best == 0 || last > bestMsg {
			best, bestMsg = run.ID, last
		}
	}
	return best, nil
}

// triggeredBy reports whether an event starts a flow (before its where).
func triggeredBy(c *Compiled, ev *smsflow.Event) bool {
	switch c.Trigger.Kind {
	case flow.TriggerEvent:
		return ev.Type != smsflow.EventIdentify && ev.Name == c.Trigger.Event
	case flow.TriggerConsent:
		return ev.Type == smsflow.EventConsent && ev.Name == smsflow.EventSubscribed
	}
	return false
}

// eventForRun applies an event to one open run: exit rules first, then a
// wait the event satisfies.
func (cc *contactCtx) eventForRun(run *smsflow.Run, comp *Compiled, ev *smsflow.Event, takesReply bool) error {
	if run.State.Trigger != nil && run.State.Trigger.Seq == ev.Seq {
		return nil // a run's own trigger neither exits nor resumes it
	}
	for _, rule := range comp.Exit {
		if rule.Event != ev.Name {
			continue
		}
		ok, err := cc.cond(rule.Where, run, ev, false, comp.ID, "exit")
		if err != nil {
			return err
		}
		if ok {
			return cc.exitRun(run, "event:"+ev.Name)
		}
	}
	if run.Status != smsflow.RunWaiting {
		return nil
	}
	step := comp.Step(run.Step)
	if step == nil || step.Kind != flow.StepWait {
		return nil
	}
	switch step.Wait.Kind {
	case flow.WaitEvent:
		if ev.Name != step.Wait.Event || !ev.Timestamp.After(run.State.WaitStarted.Add(-time.Second)) {
			return nil
		}
		ok, err := cc.cond(step.Wait.Where, run, ev, false, comp.ID, step.ID)
		if err != nil || !ok {
			return err
		}
		run.State.Waited, run.State.TimedOut = ev, false
	case flow.WaitReply:
		if ev.Name != smsflow.EventMessageReplied || ev.Type != smsflow.EventInbound || !takesReply {
			return nil // only a real inbound text answers a reply wait, and only one run's
		}
		text, _ := ev.Properties["text"].(string)
		run.State.Reply, run.State.Waited, run.State.TimedOut = text, ev, false
	default:
		return nil
	}
	cc.b.consumeReply(ev, comp.ID, step.ID)
	cc.trace(Trace{FlowID: comp.ID, Step: step.ID, Kind: "wait", Reason: "resumed:" + ev.Name, RunID: run.ID})
	return cc.continueAfterWait(run, comp, step)
}
