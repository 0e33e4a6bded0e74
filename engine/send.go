package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/sms/segments"
	"github.com/smsflow/smsflow/sms/template"
)

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
	return true, cc.b.decide(&smsflow.Decision{RunID: run.ID, StepID: step.ID, FlowID: comp.ID, ContactID: cc.contact.ID,
		Reason: reason, Detail: detail, At: cc.now})
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
		return true, cc.b.decide(d)
	}
	run.State.DeferredSince = time.Time{}
	if !out.Sent() {
		tr.Kind, tr.Body = "skip", bodyIf(reason, body)
		cc.trace(tr)
		return false, cc.b.decide(d)
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
	inserted, err := cc.b.queueMessage(m)
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
	cc.b.queued++
	tr.Kind, tr.Body = "send", body
	tr.Holdout = false
	cc.trace(tr)
	return false, cc.b.decide(d)
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
			had, err := cc.b.hadMarketing(cc.contact.ID, cc.contact.Phone)
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
	recent, err := cc.b.recentSends(cc.contact.ID, cc.now.Add(-cc.e.cfg.Policy.Lookback()))
	if err != nil {
		return nil, err
	}
	cc.recent, cc.recentLoaded = append(cc.recent, recent...), true
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
