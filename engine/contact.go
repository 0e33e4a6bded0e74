package engine

import (
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/sms/segments"
	"github.com/smsflow/smsflow/sms/template"
	"github.com/smsflow/smsflow/store"
)

// maxStepsPerRun guards against a runaway run (flows have no loops, so only
// enter chains could get long).
const maxStepsPerRun = 500

// contactCtx is the engine's view of one contact inside one transaction:
// everything it decides for the contact goes through here.
type contactCtx struct {
	e       *Engine
	tx      *store.Tx
	w       *work
	now     time.Time
	contact *smsflow.Contact
	consent smsflow.ConsentStatus

	recent       []policy.Recent // counted sends, loaded by recentSends
	recentLoaded bool
	usState      string
	stateKnown   bool
}

// newContactCtx locks the contact (on PostgreSQL) and loads it with its
// consent status.
func (e *Engine) newContactCtx(tx *store.Tx, w *work, contactID string) (*contactCtx, error) {
	c, consent, err := tx.ContactForUpdate(contactID)
	if err != nil {
		return nil, err
	}
	return &contactCtx{e: e, tx: tx, w: w, now: e.clock.Now(), contact: c, consent: consent}, nil
}

func (cc *contactCtx) trace(t Trace) {
	t.Time, t.ContactID = cc.now, cc.contact.ID
	t.Timezone = cc.contact.Timezone
	cc.w.traces = append(cc.w.traces, t)
}

func (cc *contactCtx) contactVars() map[string]any { return flow.ContactVars(*cc.contact, cc.consent) }

// vars builds the CEL variables of a run; candidate is the event being
// tested (exit, goal, wait.where), else the trigger.
func (cc *contactCtx) vars(run *smsflow.Run, candidate *smsflow.Event) flow.Vars {
	v := flow.Vars{Contact: cc.contactVars(), Now: cc.now}
	if run != nil {
		v.Trigger = flow.EventVars(run.State.Trigger)
		v.Event = v.Trigger
		v.TimedOut = run.State.TimedOut
		if run.State.Waited != nil {
			v.Waited = map[string]any{"event": flow.EventVars(run.State.Waited)}
		}
		if run.State.Reply != "" || run.State.Waited != nil {
			v.Reply = map[string]any{"text": run.State.Reply}
		}
	}
	if candidate != nil {
		v.Event = flow.EventVars(candidate)
		if run == nil {
			v.Trigger = v.Event
		}
	}
	return v
}

// cond evaluates a boolean condition, failing closed to closedValue on an
// error, which is logged and recorded in the contact's timeline.
func (cc *contactCtx) cond(e *flow.Expr, run *smsflow.Run, candidate *smsflow.Event, closedValue bool, flowID, where string) (bool, error) {
	if e == nil {
		return !closedValue, nil
	}
	ok, err := flow.EvalBool(e, cc.vars(run, candidate), cc.facts(run))
	if err == nil {
		return ok, nil
	}
	return closedValue, cc.conditionError(run, flowID, where, e, err)
}

func (cc *contactCtx) conditionError(run *smsflow.Run, flowID, where string, e *flow.Expr, err error) error {
	cc.e.log.Warn("condition failed; failing closed", "contact", cc.contact.ID, "flow", flowID, "where", where, "expr", e.String(), "err", err)
	cc.trace(Trace{FlowID: flowID, Step: where, Kind: "error", Reason: fmt.Sprintf("error:condition(%s: %v)", e.String(), err)})
	var runID int64
	if run != nil {
		runID = run.ID
	}
	return cc.tx.InsertDecision(&smsflow.Decision{RunID: runID, StepID: where, FlowID: flowID, ContactID: cc.contact.ID,
		Reason: "error:condition", Detail: fmt.Sprintf("%s: %v", e.String(), err), At: cc.now})
}

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
	runs, err := cc.tx.OpenRuns(cc.contact.ID)
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
			if _, err := cc.tryEnter(comp, ev); err != nil {
				return err
			}
		}
	}
	return nil
}

// optOut applies an unsubscribe: every message a flow queued for the
// contact is canceled (canceled:opt_out) and every open run ends. Automatic
// replies (the STOP confirmation) are left to go out.
func (cc *contactCtx) optOut() error {
	canceled, err := cc.tx.CancelContactQueued(cc.contact.ID, "opt_out", cc.now)
	if err != nil {
		return err
	}
	for _, m := range canceled {
		cc.trace(Trace{FlowID: m.FlowID, Step: m.StepID, Kind: "cancel", Reason: smsflow.DecisionCanceledOptOut, RunID: m.RunID})
		if err := cc.tx.InsertDecision(&smsflow.Decision{RunID: m.RunID, StepID: m.StepID, FlowID: m.FlowID, ContactID: cc.contact.ID,
			Reason: smsflow.DecisionCanceledOptOut, At: cc.now}); err != nil {
			return err
		}
	}
	runs, err := cc.tx.OpenRuns(cc.contact.ID)
	if err != nil {
		return err
	}
	for _, run := range runs {
		if !run.Ended() && run.Step != "" { // a pending segment entry is refused at its moment
			if run.Status == smsflow.RunWaiting && !run.State.DeferredSince.IsZero() {
				// A send parked by a deferral will never go: say why, as for a queued one.
				cc.trace(Trace{FlowID: run.FlowID, Step: run.Step, Kind: "cancel", Reason: smsflow.DecisionCanceledOptOut, RunID: run.ID})
				if err := cc.tx.InsertDecision(&smsflow.Decision{RunID: run.ID, StepID: run.Step, FlowID: run.FlowID, ContactID: cc.contact.ID,
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

// replyRun picks the run an inbound reply belongs to (spec §4): among the
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
		last, err := cc.tx.LastRunMessage(run.ID)
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
	cc.trace(Trace{FlowID: comp.ID, Step: step.ID, Kind: "wait", Reason: "resumed:" + ev.Name, RunID: run.ID})
	return cc.continueAfterWait(run, comp, step)
}

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
	runs, err := cc.tx.RunsAwaitingGoal(cc.contact.ID, since)
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
		if err := cc.tx.UpdateRun(run); err != nil {
			return err
		}
	}
	return nil
}

// tryEnter applies the entry rules and starts a run.
func (cc *contactCtx) tryEnter(comp *Compiled, trigger *smsflow.Event) (*smsflow.Run, error) {
	run, err := cc.checkEntry(comp, trigger)
	if err != nil || run == nil {
		return nil, err
	}
	if err := cc.tx.InsertRun(run); err != nil {
		return nil, err
	}
	cc.trace(Trace{FlowID: comp.ID, Kind: "enter", RunID: run.ID, Holdout: run.Holdout, Reason: triggerReason(trigger)})
	return run, cc.advance(run, comp)
}

// checkEntry applies the entry rules in the order of spec §4 (trigger where,
// consent class, unless, reentry, then holdout) and returns the run to start,
// or nil (with the refusal recorded as a decision).
func (cc *contactCtx) checkEntry(comp *Compiled, trigger *smsflow.Event) (*smsflow.Run, error) {
	if h, ok := cc.e.cat.Head(comp.ID); !ok || h.Status != FlowActive {
		return nil, nil
	}
	ok, err := cc.cond(comp.Trigger.Where, nil, trigger, false, comp.ID, "trigger")
	if err != nil || !ok {
		return nil, err
	}
	skip := func(reason string) (*smsflow.Run, error) {
		cc.trace(Trace{FlowID: comp.ID, Step: "entry", Kind: "skip", Reason: reason})
		return nil, cc.tx.InsertDecision(&smsflow.Decision{StepID: "entry", FlowID: comp.ID, ContactID: cc.contact.ID, Reason: reason, At: cc.now})
	}
	if !policy.CanEnter(string(comp.Category), cc.consent) {
		return skip(smsflow.DecisionNoConsent)
	}
	suppressed, err := cc.cond(comp.Entry.Unless, nil, trigger, true, comp.ID, "entry.unless")
	if err != nil {
		return nil, err
	}
	if comp.Entry.Unless != nil && suppressed {
		return skip(smsflow.DecisionSuppressed + "(rule=unless)")
	}
	last, open, err := cc.tx.LastEntry(comp.ID, cc.contact.ID)
	if err != nil {
		return nil, err
	}
	switch {
	case open:
		return skip(smsflow.DecisionReentry)
	case !last.IsZero() && comp.Entry.Reentry.Never:
		return skip(smsflow.DecisionReentry)
	case !last.IsZero() && comp.Entry.Reentry.After > 0 && cc.sinceEntry(comp, trigger, last) < comp.Entry.Reentry.After:
		return skip(smsflow.DecisionReentry)
	}
	run := &smsflow.Run{
		FlowID: comp.ID, FlowVersion: comp.Version, ContactID: cc.contact.ID, Status: smsflow.RunActive,
		Step: comp.Start(), Holdout: inHoldout(comp.ID, cc.contact.ID, comp.Entry.Holdout),
		State: smsflow.RunState{Trigger: trigger}, EnteredAt: cc.now, UpdatedAt: cc.now,
	}
	return run, nil
}

func triggerReason(ev *smsflow.Event) string {
	if ev == nil {
		return ""
	}
	return "trigger:" + ev.Name
}

// stableHash maps a key to [0, 1) the same way on every node and version.
func stableHash(parts ...string) float64 {
	h := fnv.New64a()
	h.Write([]byte(strings.Join(parts, "\x00")))
	return float64(h.Sum64()%1_000_000) / 1_000_000
}

// inHoldout assigns the control group by a stable hash of (flow, contact),
// sticky across versions.
func inHoldout(flowID, contactID string, percent float64) bool {
	return percent > 0 && stableHash("holdout", flowID, contactID)*100 < percent
}

// pickVariant chooses a split arm by weight, sticky per (flow, step, contact).
func pickVariant(flowID, stepID, contactID string, variants []flow.Variant) int {
	total := 0
	for _, v := range variants {
		total += v.Weight
	}
	x := stableHash("split", flowID, stepID, contactID) * float64(total)
	acc := 0.0
	for i, v := range variants {
		acc += float64(v.Weight)
		if x < acc {
			return i
		}
	}
	return len(variants) - 1
}

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
				return cc.tx.UpdateRun(run)
			}
			run.Step = comp.Next(step.ID)
		case flow.StepWait:
			waiting, err := cc.startWait(run, comp, step)
			if err != nil {
				return err
			}
			if waiting {
				run.UpdatedAt = cc.now
				return cc.tx.UpdateRun(run)
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
	return cc.tx.UpdateRun(run)
}

// exitRun ends a run early and cancels what it still had queued.
func (cc *contactCtx) exitRun(run *smsflow.Run, reason string) error {
	run.Status, run.ExitReason, run.EndedAt, run.UpdatedAt, run.WakeAt = smsflow.RunExited, reason, cc.now, cc.now, time.Time{}
	if n, err := cc.tx.CancelQueued(run.ID, cc.now); err != nil {
		return err
	} else if n > 0 {
		cc.trace(Trace{FlowID: run.FlowID, Kind: "cancel", Reason: reason, RunID: run.ID})
	}
	cc.trace(Trace{FlowID: run.FlowID, Kind: "exit", Reason: reason, RunID: run.ID, Holdout: run.Holdout, Variant: run.Variant})
	return cc.tx.UpdateRun(run)
}

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
		if err := cc.tx.DeleteRun(run.ID); err != nil {
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

// refuseEntry records why a pending entry (a local-time segment) never
// started, and removes it.
func (cc *contactCtx) refuseEntry(run *smsflow.Run, comp *Compiled, reason string) error {
	cc.trace(Trace{FlowID: comp.ID, Step: "entry", Kind: "skip", Reason: reason})
	if err := cc.tx.InsertDecision(&smsflow.Decision{StepID: "entry", FlowID: comp.ID, ContactID: cc.contact.ID, Reason: reason, At: cc.now}); err != nil {
		return err
	}
	return cc.tx.DeleteRun(run.ID)
}

// PauseRecheck is how often a send held by a paused or held flow looks
// again whether the flow is live.
const PauseRecheck = time.Minute

// release retries a deferred send when its moment has come: rendered and
// checked again (consent, caps, quiet hours, max_deferral); a paused or
// held flow holds it again (send).
func (cc *contactCtx) release(run *smsflow.Run, comp *Compiled, step *flow.Step) error {
	run.Status, run.WakeAt = smsflow.RunActive, time.Time{}
	run.State.Steps-- // the step runs again; it is not a new one
	return cc.advance(run, comp)
}

// holdSend parks a run on its send step while the flow is paused or held
// on this node: nothing of the flow reaches a provider, and the send is
// decided afresh (rendered, policy) when the flow is live again, looked at
// every PauseRecheck. The first hold is a decision (deferred:flow_paused or
// deferred:flow_held, with why); a send held past max_deferral is left to
// the policy, which skips it as expired. An archived flow's run ends.
func (cc *contactCtx) holdSend(run *smsflow.Run, comp *Compiled, step *flow.Step) (held bool, err error) {
	h, _ := cc.e.cat.Head(comp.ID)
	var reason, detail string
	switch h.Status {
	case FlowArchived:
		return true, cc.exitRun(run, "flow_archived")
	case FlowPaused:
		reason = smsflow.DecisionDeferredFlowPaused
	case FlowHeld:
		reason, detail = smsflow.DecisionDeferredFlowHeld, cc.e.cat.HeldReason(comp.ID)
	default:
		return false, nil
	}
	first := run.State.DeferredSince.IsZero()
	if !first && cc.now.Sub(run.State.DeferredSince) > cc.e.cfg.Policy.MaxDeferral {
		return false, nil
	}
	if first {
		run.State.DeferredSince = cc.now
	}
	run.Status, run.WakeAt = smsflow.RunWaiting, cc.now.Add(PauseRecheck)
	tr := Trace{FlowID: comp.ID, Step: step.ID, Kind: "defer", Reason: reason, RunID: run.ID, Holdout: run.Holdout, Variant: run.Variant}
	if !first {
		tr.Reason = "held:flow_" + h.Status // looked at again: no new decision
		cc.trace(tr)
		return true, nil
	}
	cc.trace(tr)
	return true, cc.tx.InsertDecision(&smsflow.Decision{RunID: run.ID, StepID: step.ID, FlowID: comp.ID, ContactID: cc.contact.ID,
		Reason: reason, Detail: detail, At: cc.now})
}

func (cc *contactCtx) continueAfterWait(run *smsflow.Run, comp *Compiled, step *flow.Step) error {
	run.Status, run.WakeAt, run.State.WaitStarted = smsflow.RunActive, time.Time{}, time.Time{}
	run.Step = comp.Next(step.ID)
	return cc.advance(run, comp)
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

// send renders a send step, asks the policy and, when it says "sent", writes
// the message to the outbox — in the same transaction as the run step. It
// returns true when the send was deferred: the run stays parked on the step
// until the policy's moment, then send runs again (render and check anew).
func (cc *contactCtx) send(run *smsflow.Run, comp *Compiled, step *flow.Step) (deferred bool, err error) {
	if held, err := cc.holdSend(run, comp, step); held || err != nil {
		return held, err
	}
	tmpl := comp.Templates[step.ID]
	links := &linkCollector{cc: cc, run: run, stepID: step.ID}
	body, renderErr := tmpl.Render(cc.scope(run, comp), links)
	tmplReason := ""
	if renderErr != nil {
		if re, ok := renderErr.(*template.RenderError); ok {
			tmplReason = re.Reason
		} else {
			return false, fmt.Errorf("render %s/%s: %w", comp.ID, step.ID, renderErr)
		}
	}
	untrustedSource := publicCause(run) && !cc.contact.Verified(cc.consent)
	untrustedLink := ""
	if renderErr == nil && !untrustedSource && cc.publicInput(run) {
		untrustedLink = cc.untrustedLink(run, comp, tmpl, body, links.urls)
	}
	pol := cc.e.cfg.Policy
	recent, err := cc.recentSends()
	if err != nil {
		return false, err
	}
	out := pol.Decide(policy.Send{Now: cc.now, Category: string(comp.Category), FlowID: comp.ID,
		Phone: cc.contact.Phone, PhoneType: cc.contact.PhoneType, Consent: cc.consent, Holdout: run.Holdout,
		TemplateError: tmplReason, Zones: cc.zones(), State: cc.state(), Recent: recent, DeferredSince: run.State.DeferredSince,
		UntrustedSource: untrustedSource, UntrustedLink: untrustedLink})
	reason := out.Reason
	d := &smsflow.Decision{RunID: run.ID, StepID: step.ID, FlowID: comp.ID, ContactID: cc.contact.ID, Reason: reason, At: cc.now}
	switch reason {
	case smsflow.DecisionUntrustedSource:
		d.Detail = "an event sent with the public write key started or resumed this run, and the number is not verified (it never texted in or opted in, and no trusted source gave it): send the event with the server key"
	case smsflow.DecisionUntrustedLink:
		d.Detail = fmt.Sprintf("the link to %s came from an event or trait sent with the public write key; allow the host in links.allowed_domains if it is yours", untrustedLink)
	case smsflow.DecisionServiceLimit:
		d.Detail = fmt.Sprintf("limits.service_per_number: at most %d service messages from flows per %s", pol.ServicePerNumber.Max, strings.TrimSuffix(strings.TrimSuffix(pol.ServicePerNumber.Per.String(), "0s"), "0m"))
	}
	tr := Trace{FlowID: comp.ID, Step: step.ID, RunID: run.ID, Holdout: run.Holdout, Variant: run.Variant, Reason: reason}
	if out.Deferred() {
		if run.State.DeferredSince.IsZero() {
			run.State.DeferredSince = cc.now
		}
		run.Status, run.WakeAt = smsflow.RunWaiting, out.Until
		tr.Kind = "defer"
		cc.trace(tr)
		return true, cc.tx.InsertDecision(d)
	}
	run.State.DeferredSince = time.Time{}
	if !out.Sent() {
		tr.Kind, tr.Body = "skip", bodyIf(reason, body)
		cc.trace(tr)
		return false, cc.tx.InsertDecision(d)
	}
	body, d.Detail, err = cc.finish(comp, body)
	if err != nil {
		return false, err
	}
	info := segments.Measure(body)
	sender := cc.e.senderFor(comp, step, d)
	m := &smsflow.Message{Direction: "out", RunID: run.ID, StepID: step.ID, FlowID: comp.ID, Category: string(comp.Category), ContactID: cc.contact.ID,
		Phone: cc.contact.Phone, Body: body, Encoding: info.Encoding, Characters: info.Characters, Segments: info.Segments,
		Status: smsflow.MessageQueued, Provider: cc.e.cfg.Provider, Sender: sender, SendBefore: out.SendBefore, CreatedAt: cc.now, UpdatedAt: cc.now}
	inserted, err := cc.tx.InsertMessage(m)
	if err != nil {
		return false, err
	}
	if !inserted {
		return false, nil // this step already produced its message: never twice
	}
	cc.recent = append(cc.recent, policy.Recent{At: cc.now, Category: m.Category, FlowID: comp.ID})
	if err := links.flush(); err != nil {
		return false, err
	}
	cc.w.queued++
	tr.Kind, tr.Body = "send", body
	tr.Holdout = false
	cc.trace(tr)
	return false, cc.tx.InsertDecision(d)
}

// finish applies what a body needs on its way out, after the policy said
// "sent" and before segments are counted: the compliance footer (brand name
// and opt-out language) on the contact's first marketing message since it
// subscribed, then smart encoding when configured. detail says what changed,
// for the decision log ("compliance footer: opt-out footer; smart_encoding
// applied: UCS-2 → GSM-7").
func (cc *contactCtx) finish(comp *Compiled, body string) (out, detail string, err error) {
	var notes []string
	if cc.e.cfg.Footer != "" && policy.Marketing(string(comp.Category)) {
		if withFooter, added := policy.ApplyFooter(body, cc.e.cfg.brandName(), cc.e.cfg.Footer); len(added) > 0 {
			had, err := cc.tx.HadMarketing(cc.contact.ID, cc.contact.Phone)
			if err != nil {
				return "", "", err
			}
			if !had {
				body = withFooter
				notes = append(notes, "compliance footer: "+strings.Join(added, ", "))
			}
		}
	}
	if cc.e.cfg.SmartEncoding {
		if enc, changed := segments.SmartEncode(body); changed {
			notes = append(notes, "smart_encoding applied: "+segments.Measure(body).Encoding+" → "+segments.Measure(enc).Encoding)
			body = enc
		}
	}
	return body, strings.Join(notes, "; "), nil
}

// recentSends loads, once per contact and transaction, the contact's
// messages the caps count; sends queued later in the transaction are
// appended as they happen.
func (cc *contactCtx) recentSends() ([]policy.Recent, error) {
	if cc.recentLoaded {
		return cc.recent, nil
	}
	rows, err := cc.tx.RecentSends(cc.contact.ID, cc.now.Add(-cc.e.cfg.Policy.Lookback()))
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		cc.recent = append(cc.recent, policy.Recent{At: r.At, Category: r.Category, FlowID: r.FlowID})
	}
	cc.recentLoaded = true
	return cc.recent, nil
}

// zones are the recipient's time zones for quiet hours: the explicit zone
// alone when it has one, else every zone its number may be in.
func (cc *contactCtx) zones() []string {
	if z := explicitZone(cc.contact); z != "" {
		return []string{z}
	}
	if len(cc.contact.Timezones) > 0 {
		return cc.contact.Timezones
	}
	if cc.contact.Timezone != "" {
		return []string{cc.contact.Timezone}
	}
	return nil
}

// state is the US state of the contact's number (area code), "" if none.
func (cc *contactCtx) state() string {
	if !cc.stateKnown {
		cc.usState, cc.stateKnown = policy.StateForNumber(cc.contact.Phone), true
	}
	return cc.usState
}

// bodyIf shows the would-be body of a holdout skip (simulate shows what the
// control group did not get); other skips show none.
func bodyIf(reason, body string) string {
	if reason == smsflow.DecisionHoldout {
		return body
	}
	return ""
}

// publicCause reports whether an event from the public write key started
// the run or resumed it from its last wait (its values are in the scope).
func publicCause(run *smsflow.Run) bool {
	return run.State.Trigger != nil && run.State.Trigger.Trust.Public() ||
		run.State.Waited != nil && run.State.Waited.Trust.Public()
}

// publicInput reports whether the run's template scope holds any value
// from the public write key: its trigger's or waited event's, or a trait
// the write key set.
func (cc *contactCtx) publicInput(run *smsflow.Run) bool {
	if publicCause(run) {
		return true
	}
	for _, k := range cc.contact.PublicTraits {
		if _, ok := cc.contact.Traits[k]; ok {
			return true
		}
	}
	return false
}

// scope is a send's template scope, values from the public write key as
// plain text (template.Plain).
func (cc *contactCtx) scope(run *smsflow.Run, comp *Compiled) template.Scope {
	return cc.scopeWith(run, comp, template.PlainValue)
}

// scopeWith builds a send's template scope with public applied to every
// value that came from the public write key.
func (cc *contactCtx) scopeWith(run *smsflow.Run, comp *Compiled, public func(any) any) template.Scope {
	traits := cc.contact.Traits
	if len(cc.contact.PublicTraits) > 0 {
		traits = maps.Clone(traits)
		for _, k := range cc.contact.PublicTraits {
			if v, ok := traits[k]; ok {
				traits[k] = public(v)
			}
		}
	}
	eventVars := func(ev *smsflow.Event) map[string]any {
		v := flow.EventVars(ev)
		if ev != nil && ev.Trust.Public() {
			v = public(v).(map[string]any)
		}
		return v
	}
	s := template.Scope{
		Contact: map[string]any{"id": cc.contact.ID, "phone": cc.contact.Phone, "timezone": cc.contact.Timezone, "traits": traits},
		Event:   eventVars(run.State.Trigger),
		Brand:   cc.e.cfg.Brand,
		Flow:    map[string]any{"id": comp.ID, "name": comp.Name},
		Now:     cc.now,
	}
	if run.State.Waited != nil {
		s.Waited = map[string]any{"event": eventVars(run.State.Waited)}
	}
	if run.State.Reply != "" {
		s.Reply = map[string]any{"text": run.State.Reply}
	}
	return s
}
