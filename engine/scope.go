package engine

import (
	"maps"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/sms/template"
)

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
