package engine

import (
	"maps"
	"slices"
	"testing"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/sms/template"
)

// TemplateScope is what a send's template is given: a variable or field
// added to scopeWith (or the template package's bindings) without
// TemplateScope, or the reverse, fails here.
func TestTemplateScopeMatchesTheSendScope(t *testing.T) {
	cc := &contactCtx{e: &Engine{}, contact: &smsflow.Contact{ID: "c", Traits: map[string]any{"x": 1}}}
	ev := &smsflow.Event{Name: "E"}
	run := &smsflow.Run{State: smsflow.RunState{Trigger: ev, Waited: ev, Reply: "YES"}}
	s := cc.scope(run, &Compiled{Flow: &flow.Flow{ID: "f", Name: "F"}})
	keys := func(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
	shape := func(s flow.Shape) []string { return slices.Sorted(maps.Keys(s)) }
	for _, c := range []struct {
		root string
		got  map[string]any
	}{
		{"contact", s.Contact}, {"event", s.Event}, {"reply", s.Reply}, {"waited", s.Waited}, {"flow", s.Flow},
		{"waited.event", s.Waited["event"].(map[string]any)},
	} {
		want := TemplateScope[c.root]
		if c.root == "waited.event" {
			want = TemplateScope["waited"]["event"]
		}
		if got, want := keys(c.got), shape(want); !slices.Equal(got, want) {
			t.Errorf("scope %s has %v; TemplateScope says %v", c.root, got, want)
		}
	}
	if got, want := shape(TemplateScope), template.Roots(); !slices.Equal(got, want) {
		t.Errorf("TemplateScope roots %v; the template package binds %v", got, want)
	}
}
