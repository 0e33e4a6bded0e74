package flow

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
)

// The static check of names (issue 17): a field a variable cannot have is
// an error at the field, with the nearest field suggested; free-form parts
// stay free.
func TestCheckNames(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // nil: valid
	}{
		{"contact.trait", head + "  - if: 'contact.trait.first_name == \"Ana\"'\n    then: [exit: done]\n",
			[]string{"t.yaml:6:18: if: unknown field `trait` of contact (did you mean `traits`?)"}},
		{"reply.txt", head + "  - wait: {reply: true, timeout: 1d}\n  - if: 'reply.txt == \"YES\"'\n    then: [exit: done]\n",
			[]string{"t.yaml:7:16: if: unknown field `txt` of reply (did you mean `text`?)"}},
		{"waited.evnt", head + "  - wait: {event: Clicked, timeout: 1d}\n  - if: 'waited.evnt.name == \"x\"'\n    then: [exit: done]\n",
			[]string{"t.yaml:7:17: if: unknown field `evnt` of waited (did you mean `event`?)"}},
		{"the one field of reply", head + "  - wait: {reply: true, timeout: 1d}\n  - if: 'reply.body == \"YES\"'\n    then: [exit: done]\n",
			[]string{"t.yaml:7:16: if: unknown field `body` of reply; reply has one field: text"}},
		{"event field misspelt", "id: t\ncategory: service\ntrigger: {event: E, where: 'event.propertes.value > 0'}\nsteps:\n  - send: hi\n",
			[]string{"t.yaml:3:35: trigger where: unknown field `propertes` of event (did you mean `properties`?)"}},
		{"no suggestion lists the fields", head + "  - if: 'contact.email == \"a\"'\n    then: [exit: done]\n",
			[]string{"t.yaml:6:18: if: unknown field `email` of contact; the fields of contact are consent, created_at, id, phone, timezone, timezones and traits"}},
		{"index with a literal", head + "  - if: 'contact[\"trait\"].x == 1'\n    then: [exit: done]\n",
			[]string{"t.yaml:6:19: if: unknown field `trait` of contact (did you mean `traits`?)"}},
		{"has() of a misspelt field", head + "  - if: 'has(contact.trait)'\n    then: [exit: done]\n",
			[]string{"t.yaml:6:22: if: unknown field `trait` of contact (did you mean `traits`?)"}},
		{"one report per chain, in set", head + "  - set: {x: 'trigger.propertis.a.b'}\n",
			[]string{"t.yaml:6:23: set x: unknown field `propertis` of trigger (did you mean `properties`?)"}},
		{"goal value", "id: t\ncategory: service\ntrigger: {event: E}\ngoal: {event: O, within: 5d, value: 'double(event.revenue)'}\nsteps:\n  - send: hi\n",
			[]string{"t.yaml:4:51: goal value: unknown field `revenue` of event; the fields of event are context, message_id, name, properties, timestamp and type"}},
		{"free-form parts stay free", head + "  - if: 'contact.traits.anything.deeper == 1 && event.properties.x.y == 2 && event.context.ip != \"\" && trigger.properties[\"a b\"] == 3 && has(contact.traits.vip)'\n    then: [exit: done]\n",
			nil},
		{"every known field", head + "  - wait: {event: X, timeout: 1d}\n  - if: 'contact.id + contact.phone + contact.timezone + contact.consent != \"\" && size(contact.timezones) > 0 && contact.created_at < now && waited.event.name == event.name && reply.text != trigger.message_id && event.timestamp < now && event.type != \"\" && !timed_out'\n    then: [exit: done]\n",
			nil},
		{"a comprehension's variable hides the scope's name", head + "  - if: 'contact.traits.kids.exists(contact, contact.age > 3)'\n    then: [exit: done]\n",
			nil},
		{"computed index is not checked", head + "  - if: 'contact[contact.id] == 1'\n    then: [exit: done]\n",
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, problems := Parse("t.yaml", []byte(tt.src), Options{CheckNames: true})
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			if tt.want == nil {
				if f == nil || len(got) > 0 {
					t.Fatalf("want valid; problems:\n%s", strings.Join(got, "\n"))
				}
				return
			}
			if f != nil || !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			// Stored versions compile as they were accepted.
			if f, ps := Parse("t.yaml", []byte(tt.src), Options{}); f == nil {
				t.Errorf("without CheckNames: %v", ps)
			}
		})
	}
}

// CELScope is what the engine binds: a field added to ContactVars,
// EventVars or the activation without CELScope (or the reverse) fails here.
func TestCELScopeMatchesTheVariables(t *testing.T) {
	keys := func(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
	shape := func(s Shape) []string { return slices.Sorted(maps.Keys(s)) }
	if got, want := keys(ContactVars(smsflow.Contact{}, "")), shape(CELScope["contact"]); !slices.Equal(got, want) {
		t.Errorf("ContactVars %v, CELScope contact %v", got, want)
	}
	if got, want := keys(EventVars(&smsflow.Event{})), shape(EventShape); !slices.Equal(got, want) {
		t.Errorf("EventVars %v, EventShape %v", got, want)
	}
	if got, want := keys(activation(Vars{Now: time.Now()})), shape(CELScope); !slices.Equal(got, want) {
		t.Errorf("activation %v, CELScope %v", got, want)
	}
	env, err := celEnv()
	if err != nil {
		t.Fatal(err)
	}
	for name := range CELScope {
		if _, iss := env.Compile(name); iss != nil && iss.Err() != nil {
			t.Errorf("CELScope names %s, which the environment does not declare: %v", name, iss.Err())
		}
	}
}
