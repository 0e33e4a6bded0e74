package engine

import (
	"hash/fnv"
	"strings"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/policy"
)

// tryEnter applies the entry rules and starts a run.
func (cc *contactCtx) tryEnter(comp *Compiled, trigger *smsflow.Event) (*smsflow.Run, error) {
	run, err := cc.checkEntry(comp, trigger)
	if err != nil || run == nil {
		return nil, err
	}
	if err := cc.b.insertRun(run); err != nil {
		return nil, err
	}
	cc.trace(Trace{FlowID: comp.ID, Kind: "enter", RunID: run.ID, Holdout: run.Holdout, Reason: triggerReason(trigger)})
	return run, cc.advance(run, comp)
}

// checkEntry applies the entry rules in the order docs/flows.md gives (trigger where,
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
		return nil, cc.b.decide(&smsflow.Decision{StepID: "entry", FlowID: comp.ID, ContactID: cc.contact.ID, Reason: reason, At: cc.now})
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
	last, open, err := cc.b.lastEntry(comp.ID, cc.contact.ID)
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

// refuseEntry records why a pending entry (a local-time segment) never
// started, and removes it.
func (cc *contactCtx) refuseEntry(run *smsflow.Run, comp *Compiled, reason string) error {
	cc.trace(Trace{FlowID: comp.ID, Step: "entry", Kind: "skip", Reason: reason})
	if err := cc.b.decide(&smsflow.Decision{StepID: "entry", FlowID: comp.ID, ContactID: cc.contact.ID, Reason: reason, At: cc.now}); err != nil {
		return err
	}
	return cc.b.deleteRun(run)
}
