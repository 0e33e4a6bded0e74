package engine

import (
	"fmt"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/policy"
)

// maxStepsPerRun guards against a runaway run (flows have no loops, so only
// enter chains could get long).
const maxStepsPerRun = 500

// contactCtx is the engine's view of one contact inside one transaction:
// everything it decides for the contact goes through here.
type contactCtx struct {
	e       *Engine
	tx      StepTx
	b       *batch
	now     time.Time
	contact *smsflow.Contact
	consent smsflow.ConsentStatus

	recent       []policy.Recent // counted sends, loaded by recentSends
	recentLoaded bool
	usState      string
	stateKnown   bool
}

// newContactCtx is the engine's view of a contact of the batch, locked
// and loaded (on PostgreSQL the lock is taken when the batch loads it).
func (e *Engine) newContactCtx(b *batch, contactID string) (*contactCtx, error) {
	s, err := b.contact(contactID)
	if err != nil {
		return nil, err
	}
	return &contactCtx{e: e, tx: b.tx, b: b, now: e.clock.Now(), contact: s.Contact, consent: s.Consent}, nil
}

func (cc *contactCtx) trace(t Trace) {
	t.Time, t.ContactID = cc.now, cc.contact.ID
	t.Timezone = cc.contact.Timezone
	cc.b.traces = append(cc.b.traces, t)
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
	return cc.b.decide(&smsflow.Decision{RunID: runID, StepID: where, FlowID: flowID, ContactID: cc.contact.ID,
		Reason: "error:condition", Detail: fmt.Sprintf("%s: %v", e.String(), err), At: cc.now})
}
