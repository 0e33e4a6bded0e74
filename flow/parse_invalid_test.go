package flow

import (
	"slices"
	"strings"
	"testing"
)

// head is a valid flow up to "steps:"; steps start on line 6.
const head = "id: t\ncategory: service\ntrigger:\n  event: E\nsteps:\n"

// TestParseInvalid is the table of rejections: each input must produce
// exactly these problems, positions included.
func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		// Unknown keys, at every level, with suggestions.
		{"unknown step key", head + "  - wiat: 1h\n",
			[]string{`t.yaml:6:5: unknown key "wiat" in step; did you mean "wait"?`}},
		{"unknown flow key", "id: t\ncategory: service\ntrigger: {event: E}\nstpes:\n  - wait: 1h\n",
			[]string{
				`t.yaml:1:1: a flow needs at least one step under steps:`,
				`t.yaml:4:1: unknown key "stpes" in flow; did you mean "steps"?`,
			}},
		{"unknown trigger key", "id: t\ncategory: service\ntrigger:\n  event: E\n  wehre: 'true'\nsteps:\n  - wait: 1h\n",
			[]string{`t.yaml:5:3: unknown key "wehre" in trigger; did you mean "where"?`}},
		{"unknown wait key", head + "  - wait: {reply: true, timout: 1d}\n",
			[]string{
				`t.yaml:6:11: a wait for a reply needs timeout: (how long to wait before going on with timed_out true), like timeout: 3d`,
				`t.yaml:6:25: unknown key "timout" in wait; did you mean "timeout"?`,
			}},
		{"unknown goal key", "id: t\ncategory: service\ntrigger: {event: E}\ngoal: {event: O, within: 5d, vaule: '1.0'}\nsteps:\n  - wait: 1h\n",
			[]string{`t.yaml:4:30: unknown key "vaule" in goal; did you mean "value"?`}},
		{"unknown key without suggestion", head + "  - wait: 1h\n    colour: red\n",
			[]string{`t.yaml:7:5: unknown key "colour" in step; expected id, send, wait, if, then, else, switch, split, set, enter or exit`}},
		{"duplicate key", head + "  - wait: 1h\n    wait: 2h\n",
			[]string{`t.yaml:7:5: "wait" appears twice in this step; keep one`}},

		// Flow id and category.
		{"missing id", "category: service\ntrigger: {event: E}\nsteps:\n  - wait: 1h\n",
			[]string{`t.yaml:1:1: missing id: give the flow an id: line, like id: cart-recovery`}},
		{"invalid id", "id: Cart_Recovery\ncategory: service\ntrigger: {event: E}\nsteps:\n  - wait: 1h\n",
			[]string{`t.yaml:1:5: invalid flow id "Cart_Recovery": use lowercase letters, digits and dashes, like "cart-recovery"`}},
		{"missing category", "id: t\ntrigger: {event: E}\nsteps:\n  - wait: 1h\n",
			[]string{`t.yaml:1:1: missing category: add category: with one of service, lifecycle, behavior or promo`}},
		{"unknown category", "id: t\ncategory: promotion\ntrigger: {event: E}\nsteps:\n  - wait: 1h\n",
			[]string{`t.yaml:2:11: unknown category "promotion"; use service, lifecycle, behavior or promo`}},
		{"category typo", "id: t\ncategory: behaviour\ntrigger: {event: E}\nsteps:\n  - wait: 1h\n",
			[]string{`t.yaml:2:11: unknown category "behaviour"; did you mean "behavior"?`}},
		{"bad priority", "id: t\ncategory: service\npriority: high\ntrigger: {event: E}\nsteps:\n  - wait: 1h\n",
			[]string{`t.yaml:3:11: priority must be a whole number from 0 to 1000, not "high"`}},

		// Triggers.
		{"no trigger", "id: t\ncategory: service\nsteps:\n  - wait: 1h\n",
			[]string{`t.yaml:1:1: missing trigger: say what starts the flow, with one of event, consent, inactivity, segment or date`}},
		{"zero triggers", "id: t\ncategory: service\ntrigger: {where: 'true'}\nsteps:\n  - wait: 1h\n",
			[]string{`t.yaml:3:10: trigger needs one of event, consent, inactivity, segment or date`}},
		{"two triggers", "id: t\ncategory: service\ntrigger:\n  event: E\n  consent: subscribed\nsteps:\n  - wait: 1h\n",
			[]string{`t.yaml:5:3: a flow has one trigger, but this one has both "event" and "consent"; make a second flow for the other`}},
		{"bad consent", "id: t\ncategory: service\ntrigger: {consent: unsubscribed}\nsteps:\n  - wait: 1h\n",
			[]string{`t.yaml:3:20: consent trigger must be "subscribed" (the flow starts when a contact opts in), not "unsubscribed"`}},
		{"inactivity without for", "id: t\ncategory: service\ntrigger: {inactivity: {event: Order Completed}}\nsteps:\n  - wait: 1h\n",
			[]string{`t.yaml:3:23: inactivity needs for: (how long without the event, like 60d)`}},
		{"segment where outside", "id: t\ncategory: promo\ntrigger:\n  segment: {where: 'true', at: '10:00', local: true}\n  where: 'true'\nexit: [event: X]\nsteps:\n  - send: hi\n",
			[]string{`t.yaml:5:3: a segment trigger has its condition inside it: segment: {where: …, at: …}`}},
		{"segment at not absolute", "id: t\ncategory: promo\ntrigger:\n  segment: {where: 'true', at: '10:00'}\nexit: [event: X]\nsteps:\n  - send: hi\n",
			[]string{`t.yaml:4:32: at "10:00" must be a time with its UTC offset, like 2025-11-28T10:00:00-05:00; for each contact's own time zone add local: true and write 2025-11-28T10:00 or 10:00`}},
		{"segment local with offset", "id: t\ncategory: promo\ntrigger:\n  segment: {where: 'true', at: '2025-11-28T10:00:00Z', local: true}\nexit: [event: X]\nsteps:\n  - send: hi\n",
			[]string{`t.yaml:4:32: invalid local time "2025-11-28T10:00:00Z": with local: true, at is a wall-clock time without offset, like 2025-11-28T10:00, or 10:00 for every day`}},

		// Durations.
		{"duration words", head + "  - wait: 5 days\n",
			[]string{`t.yaml:6:11: wait: invalid duration "5 days": unknown unit; use a whole number and a unit s, m, h, d or w, like 90s, 30m, 24h, 7d or 2w`}},
		{"duration without unit", head + "  - wait: 60\n",
			[]string{`t.yaml:6:11: wait: invalid duration "60": add a unit (s, m, h, d or w), like 60m or 60d`}},
		{"duration fraction", head + "  - wait: 1.5h\n",
			[]string{`t.yaml:6:11: wait: invalid duration "1.5h": use whole numbers, like 90m rather than 1.5h`}},
		{"zero duration", head + "  - wait: 0s\n",
			[]string{`t.yaml:6:11: wait must be longer than zero`}},
		{"bad reentry", "id: t\ncategory: service\ntrigger: {event: E}\nentry: {reentry: weekly}\nsteps:\n  - wait: 1h\n",
			[]string{`t.yaml:4:18: invalid reentry "weekly": write a duration like 7d (at most one entry per 7 days) or never (once ever); leave it out for "not while a run is active"`}},
		{"goal without within", "id: t\ncategory: service\ntrigger: {event: E}\ngoal: {event: O}\nsteps:\n  - wait: 1h\n",
			[]string{`t.yaml:4:7: goal needs within: (the attribution window from entry, like 5d)`}},
		{"bad until_local", head + "  - wait: {until_local: '25:00'}\n",
			[]string{`t.yaml:6:25: until_local: invalid time "25:00": hours go 00–23 and minutes 00–59`}},

		// Holdout.
		{"holdout over 100", "id: t\ncategory: service\ntrigger: {event: E}\nentry: {holdout: 150%}\nsteps:\n  - wait: 1h\n",
			[]string{`t.yaml:4:18: holdout "150%" is outside 0%–100%`}},
		{"holdout without percent", "id: t\ncategory: service\ntrigger: {event: E}\nentry: {holdout: 10}\nsteps:\n  - wait: 1h\n",
			[]string{`t.yaml:4:18: holdout "10" needs a percent sign, like 10%`}},

		// CEL: syntax (column inside the expression), types, scope.
		{"cel syntax plain", head + "  - if: contact.id ==\n    then: [exit: done]\n",
			[]string{`t.yaml:6:22: if: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}`}},
		{"cel undeclared single-quoted", head + "  - if: 'contact.id == ''a'' && contct.x'\n    then: [exit: done]\n",
			[]string{`t.yaml:6:33: if: undeclared reference to 'contct' (did you mean 'contact'?)`}},
		{"cel undeclared double-quoted", head + "  - if: \"contact.id == \\\"a\\\" && contct.x\"\n    then: [exit: done]\n",
			[]string{`t.yaml:6:33: if: undeclared reference to 'contct' (did you mean 'contact'?)`}},
		{"cel error in block scalar", head + "  - if: |\n      contact.id == \"a\" &&\n        contct.x\n    then: [exit: done]\n",
			[]string{`t.yaml:8:9: if: undeclared reference to 'contct' (did you mean 'contact'?)`}},
		{"cel unknown function", head + "  - if: 'clickd(\"x\")'\n    then: [exit: done]\n",
			[]string{`t.yaml:6:16: if: undeclared reference to 'clickd' (did you mean 'clicked'?)`}},
		{"cel not bool", head + "  - if: 'contact.id'\n    then: [exit: done]\n",
			[]string{}},
		{"cel string is not a condition", head + "  - if: '\"yes\"'\n    then: [exit: done]\n",
			[]string{`t.yaml:6:9: if must be a condition (true or false), but this expression gives text (string)`}},
		{"cel int is not a condition", "id: t\ncategory: service\ntrigger: {event: E, where: 'count(\"x\", days(1))'}\nsteps:\n  - wait: 1h\n",
			[]string{`t.yaml:3:28: trigger where must be a condition (true or false), but this expression gives a whole number (int)`}},
		{"until must be a timestamp", head + "  - wait: {until: 'now > now'}\n",
			[]string{`t.yaml:6:19: wait until must be a timestamp (like now + duration("2h")), but this expression gives true or false`}},
		{"goal value must be a number", "id: t\ncategory: service\ntrigger: {event: E}\ngoal: {event: O, within: 5d, value: '\"x\"'}\nsteps:\n  - wait: 1h\n",
			[]string{`t.yaml:4:37: goal value must be a number, but this expression gives text (string)`}},
		{"cel wrong overload", head + "  - if: 'contact.created_at > 3'\n    then: [exit: done]\n",
			[]string{}},
		{"cel d unit", head + "  - if: 'last(\"x\") < now - duration(\"7d\")'\n    then: [exit: done]\n",
			[]string{`t.yaml:6:37: if: duration("7d"): CEL durations have no d or w unit; write days(7) or duration("168h")`}},
		{"cel bad timestamp", head + "  - wait: {until: 'timestamp(\"tomorrow\")'}\n",
			[]string{`t.yaml:6:30: wait until: timestamp("tomorrow") is not a valid time; write it like timestamp("2025-11-28T10:00:00-05:00")`}},
		{"clicked in trigger", "id: t\ncategory: service\ntrigger: {event: E, where: 'clicked(\"a\")'}\nsteps:\n  - id: a\n    send: hi\n",
			[]string{`t.yaml:3:29: trigger where: clicked() looks at the current run, and there is no run yet in trigger where`}},
		{"replied in unless", "id: t\ncategory: service\ntrigger: {event: E}\nentry: {unless: '!replied()'}\nsteps:\n  - send: hi\n",
			[]string{`t.yaml:4:19: unless: replied() looks at the current run, and there is no run yet in unless`}},
		{"clicked needs a literal", head + "  - if: 'clicked(contact.id)'\n    then: [exit: done]\n",
			[]string{`t.yaml:6:10: if: clicked() needs a step id in quotes, like clicked("reminder")`}},
		{"set unquoted text", head + "  - set: {interest: skincare}\n",
			[]string{`t.yaml:6:21: set interest: undeclared reference to 'skincare'; to store the text skincare, quote it inside the YAML quotes: '"skincare"'`}},
		{"set bad trait", head + "  - set: {first name: 'reply.text'}\n",
			[]string{`t.yaml:6:11: trait name "first name": use letters, digits and _ (not starting with a digit), like first_name`}},
		{"empty expression", head + "  - if:\n    then: [exit: done]\n",
			[]string{`t.yaml:6:8: if is empty; write an expression or remove the line`}},

		// Step ids and references.
		{"duplicate step id", head + "  - id: a\n    send: hi\n  - id: a\n    wait: 1h\n",
			[]string{`t.yaml:8:9: duplicate step id "a" (first used at line 6)`}},
		{"id collides with generated", head + "  - send: hi\n  - id: step-1\n    wait: 1h\n",
			[]string{`t.yaml:7:9: step id "step-1" is also the id generated for the step without id at line 6 (step-N means the N-th step); choose another id`}},
		{"invalid step id", head + "  - id: Reminder 1\n    send: hi\n",
			[]string{`t.yaml:6:9: invalid step id "Reminder 1": use lowercase letters, digits and dashes, like "reminder-1"`}},
		{"dangling clicked", head + "  - id: reminder\n    send: hi\n  - if: '!clicked(\"remider\")'\n    then: [exit: done]\n",
			[]string{`t.yaml:8:19: clicked("remider"): no step has this id; did you mean "reminder"?`}},
		{"delivered on a wait", head + "  - wait: 1h\n  - if: 'delivered(\"step-1\")'\n    then: [exit: done]\n",
			[]string{`t.yaml:7:20: delivered("step-1"): that is a wait step; delivered() looks at the message of a send step`}},

		// Reachability.
		{"after exit", head + "  - exit: done\n  - send: hi\n",
			[]string{`t.yaml:7:5: unreachable step: the run exits before it (exit: done at line 6)`}},
		{"after enter", head + "  - enter: other\n  - send: hi\n  - send: again\n",
			[]string{`t.yaml:7:5: unreachable step: the run leaves this flow before it (enter: other at line 6)`}},
		{"after an if that always ends", head + "  - if: 'true'\n    then: [exit: a]\n    else: [enter: b]\n  - send: hi\n",
			[]string{`t.yaml:9:5: unreachable step: every branch of the if at line 6 ends the run`}},
		{"inside a branch", head + "  - if: 'true'\n    then:\n      - exit: a\n      - send: hi\n",
			[]string{`t.yaml:9:9: unreachable step: the run exits before it (exit: a at line 8)`}},

		// Step shapes.
		{"step is a scalar", head + "  - wait 1h\n",
			[]string{`t.yaml:6:5: each step is one key: value, like wait: 1h or send: Hello; got the value "wait 1h"`}},
		{"step with two actions", head + "  - send: hi\n    wait: 1h\n",
			[]string{`t.yaml:7:5: a step does one thing, but this one has both "send" and "wait"; put each in its own step (a new line starting with -)`}},
		{"step with no action", head + "  - id: a\n",
			[]string{`t.yaml:6:5: step does nothing; give it one of send, wait, if, switch, split, set, enter or exit`}},
		{"empty send", head + "  - send: '  '\n",
			[]string{`t.yaml:6:11: send has no message: the template is empty`}},
		{"send without template", head + "  - send: {from: '+15550100'}\n",
			[]string{`t.yaml:6:11: send needs template: (the message text)`}},
		{"if without then", head + "  - if: 'true'\n",
			[]string{`t.yaml:6:5: if needs then: (the steps to run when the condition is true)`}},
		{"empty then", head + "  - if: 'true'\n    then: []\n",
			[]string{`t.yaml:7:11: then is empty; add at least one step`}},
		{"then on a wait", head + "  - wait: 1h\n    then: [send: hi]\n",
			[]string{`t.yaml:7:5: "then" belongs to an if step`}},
		{"wait event without timeout", head + "  - wait: {event: Order Completed}\n",
			[]string{`t.yaml:6:11: a wait for an event needs timeout: (how long to wait before going on with timed_out true), like timeout: 3d`}},
		{"switch else not last", head + "  - switch:\n      - else: [exit: a]\n      - when: 'true'\n        then: [exit: b]\n",
			[]string{`t.yaml:7:9: else must be the last case of a switch`}},
		{"switch without when", head + "  - switch:\n      - else: [exit: a]\n",
			[]string{`t.yaml:7:7: switch needs at least one - when: case`}},
		{"split weight zero", head + "  - split:\n      - {variant: a, weight: 0, then: [send: hi]}\n      - {variant: b, weight: 1}\n",
			[]string{`t.yaml:7:30: weight must be a positive whole number (up to 1000000), not "0"`}},
		{"split single variant", head + "  - split:\n      - {variant: a, weight: 1, then: [send: hi]}\n",
			[]string{`t.yaml:7:7: split must be a list of at least two variants, each like - variant: a weight: 50 then: [steps]`}},
		{"split duplicate variant", head + "  - split:\n      - {variant: a, weight: 1}\n      - {variant: a, weight: 1}\n",
			[]string{`t.yaml:8:19: variant "a" appears twice in this split`}},
		{"bad exit reason", head + "  - exit: Bought Already\n",
			[]string{`t.yaml:6:11: exit reason "Bought Already": use lowercase letters, digits, - and _, like "bought-already"`}},
		{"exit rules not a list", "id: t\ncategory: service\ntrigger: {event: E}\nexit: {event: O}\nsteps:\n  - wait: 1h\n",
			[]string{`t.yaml:4:7: exit must be a list of rules, each on a line starting with -, like - event: Order Completed (to end the run in a step, use a step - exit: reason)`}},
		{"too deep", head + nestedIfs(20),
			[]string{`t.yaml:40:71: steps are nested more than 16 levels deep; split the flow with enter:`}},

		// Hostile and malformed files.
		{"empty file", "", []string{`t.yaml:1:1: file is empty; a flow needs at least id, category, trigger and steps`}},
		{"comments only", "# nothing\n", []string{`t.yaml:1:1: file is empty; a flow needs at least id, category, trigger and steps`}},
		{"yaml syntax", "id: [t\n", []string{`t.yaml:1:1: YAML syntax error: did not find expected ',' or ']'`}},
		{"second document", "id: a\n---\nid: b\n", []string{`t.yaml:2:1: a file holds one flow: remove the second YAML document (after ---) or move it to its own file`}},
		{"anchor and alias", head + "  - &w wait: 1h\n  - *w\n",
			[]string{
				`t.yaml:6:5: YAML anchors (&w) are not supported in flow files; write the value out where it is used`,
				`t.yaml:7:5: YAML aliases (*w) are not supported in flow files; write the value out`,
			}},
		{"custom tag", head + "  - wait: !secret 1h\n", []string{`t.yaml:6:11: YAML tag !secret is not supported in flow files`}},
		{"yaml bomb", "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n",
			nil}, // many alias/anchor problems; checked below only for not expanding
		{"deep nesting", strings.Repeat("[", 150) + strings.Repeat("]", 150) + "\n",
			[]string{`t.yaml:1:101: nested too deeply (more than 100 levels)`}},
		{"too large", "id: t\n# " + strings.Repeat("x", MaxFileSize) + "\n",
			[]string{`t.yaml:1:1: file is 257 KB; a flow file may be at most 256 KB`}},
		{"not utf-8", "id: t\xff\n", []string{`t.yaml:1:1: file is not UTF-8 text`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, problems := Parse("t.yaml", []byte(tt.src), Options{})
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			if tt.want == nil {
				if !HasErrors(problems) {
					t.Fatalf("no errors; want some")
				}
				return
			}
			if len(tt.want) == 0 { // valid: dyn-typed expressions type-check
				if HasErrors(problems) {
					t.Fatalf("problems:\n%s", strings.Join(got, "\n"))
				}
				return
			}
			if f != nil {
				t.Errorf("Parse returned a flow despite errors")
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// nestedIfs returns n if steps, each inside the previous one's then.
func nestedIfs(n int) string {
	var b strings.Builder
	for i := range n {
		ind := strings.Repeat("    ", i)
		b.WriteString(ind + "  - if: 'true'\n" + ind + "    then:\n")
	}
	b.WriteString(strings.Repeat("    ", n) + "  - exit: deep\n")
	return b.String()
}

func TestTooManyProblems(t *testing.T) {
	src := head + strings.Repeat("  - wiat: 1h\n", 500)
	f, problems := Parse("t.yaml", []byte(src), Options{})
	if f != nil {
		t.Fatalf("flow returned")
	}
	if got, want := len(problems), maxProblems+1; got != want {
		t.Fatalf("%d problems, want %d", got, want)
	}
	last := problems[len(problems)-1]
	if got, want := last.String(), "t.yaml:106:5: too many problems (more than 100); fix these first"; got != want {
		t.Errorf("last problem = %q, want %q", got, want)
	}
}
