package flow

import (
	"bytes"
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/smsflow/smsflow"
)

// flow checks the top-level mapping.
func (p *parser) flow(root *yaml.Node) *Flow {
	f := &Flow{File: p.file, Source: bytes.Clone(p.src), Exit: nil}
	m := p.fields(root, "flow", flowKeys)
	if m == nil {
		return nil
	}
	if v := m.vals["id"]; v == nil {
		p.errorf(root, "missing id: give the flow an id: line, like id: cart-recovery")
	} else if s, ok := p.text(v, "id"); ok {
		if msg, ok := checkID(s, "flow id"); !ok {
			p.errorf(v, "%s", msg)
		} else {
			f.ID, f.idLine, f.idCol = s, v.Line, v.Column
			if s == ReservedID {
				p.warnf(v, "the flow id %q is reserved: the web UI's /flows/%s is the page that creates a flow, so this flow cannot be opened there; give it another id", s, s)
			}
		}
	}
	if v := m.has("name"); v != nil {
		f.Name, _ = p.text(v, "name")
	}
	if f.Name == "" {
		f.Name = f.ID
	}
	var catNode *yaml.Node
	if v := m.vals["category"]; v == nil {
		p.errorf(root, "missing category: add category: with one of %s", quoteList(Categories))
	} else if s, ok := p.text(v, "category"); ok {
		catNode = v
		if c := Category(s); slices.Contains(Categories, c) {
			f.Category = c
		} else {
			names := make([]string, len(Categories))
			for i, c := range Categories {
				names[i] = string(c)
			}
			hint := didYouMean(s, names)
			if hint == "" {
				hint = "; use " + quoteList(Categories)
			}
			p.errorf(v, "unknown category %q%s", clip(s), hint)
		}
	}
	f.Priority = f.Category.DefaultPriority()
	if v := m.has("priority"); v != nil {
		if n, ok := p.integer(v, "priority", 0, 1000); ok {
			f.Priority = n
		}
	}
	if v := m.has("trigger"); v == nil {
		p.errorf(root, "missing trigger: say what starts the flow, with one of %s", quoteList(triggerKinds))
	} else {
		f.Trigger = p.trigger(v)
	}
	if v := m.has("entry"); v != nil {
		f.Entry = p.entry(v)
	}
	if v := m.has("exit"); v != nil {
		f.Exit = p.exitRules(v)
	}
	if v := m.has("goal"); v != nil {
		f.Goal = p.goal(v)
	}
	if v := m.has("steps"); v == nil || (v.Kind == yaml.SequenceNode && len(v.Content) == 0) {
		at := root
		if v != nil {
			at = v
		} else if k := m.keys["steps"]; k != nil {
			at = k
		}
		p.errorf(at, "a flow needs at least one step under steps:")
	} else {
		f.Steps = p.steps(v, "steps", 0)
	}
	p.finish(f)
	if f.Category == CategoryPromo && catNode != nil && len(f.Exit) == 0 && (f.Goal == nil || !f.Goal.Exit) {
		p.warnf(catNode, "promo flow without an exit: add an exit: rule (like - event: Order Completed) or a goal, so people who convert stop getting promos")
	}
	return f
}

func (p *parser) trigger(n *yaml.Node) Trigger {
	var t Trigger
	m := p.fields(n, "trigger", triggerKeys)
	if m == nil {
		return t
	}
	var kinds []string
	for _, k := range triggerKinds {
		if m.vals[k] != nil {
			kinds = append(kinds, k)
		}
	}
	switch {
	case len(kinds) == 0:
		if !m.unknown {
			p.errorf(n, "trigger needs one of %s", quoteList(triggerKinds))
		}
		return t
	case len(kinds) > 1:
		p.errorf(m.keys[kinds[1]], "a flow has one trigger, but this one has both %q and %q; make a second flow for the other", kinds[0], kinds[1])
		return t
	}
	v := m.vals[kinds[0]]
	switch kinds[0] {
	case "event":
		t.Kind = TriggerEvent
		t.Event, _ = p.text(v, "trigger event")
	case "consent":
		t.Kind = TriggerConsent
		if s, ok := p.text(v, "consent"); ok {
			if s != string(smsflow.ConsentSubscribed) {
				p.errorf(v, "consent trigger must be \"subscribed\" (the flow starts when a contact opts in), not %q", clip(s))
			} else {
				t.Consent = smsflow.ConsentSubscribed
			}
		}
	case "inactivity":
		t.Kind = TriggerInactivity
		t.Inactivity = &Inactivity{}
		if im := p.fields(v, "inactivity", inactivityKeys); im != nil {
			if e := im.vals["event"]; e == nil {
				p.errorf(v, "inactivity needs event: (the event whose absence starts the flow, like Order Completed)")
			} else {
				t.Inactivity.Event, _ = p.text(e, "inactivity event")
			}
			if d := im.vals["for"]; d == nil {
				p.errorf(v, "inactivity needs for: (how long without the event, like 60d)")
			} else {
				t.Inactivity.For, _ = p.duration(d, "inactivity for")
			}
		}
	case "segment":
		t.Kind = TriggerSegment
		t.Segment = p.segment(v)
	case "date":
		t.Kind = TriggerDate
		t.Date = p.date(v)
	}
	if w := m.vals["where"]; w != nil {
		if t.Kind == TriggerSegment {
			p.errorf(m.keys["where"], "a segment trigger has its condition inside it: segment: {where: …, at: …}")
		} else {
			t.Where = p.expr(w, "trigger where", wantBool, false)
		}
	}
	return t
}

func (p *parser) segment(n *yaml.Node) *Segment {
	s := &Segment{}
	m := p.fields(n, "segment", segmentKeys)
	if m == nil {
		return s
	}
	if w := m.vals["where"]; w == nil {
		p.errorf(n, "segment needs where: (the condition contacts must match)")
	} else {
		s.Where = p.expr(w, "segment where", wantBool, false)
	}
	if l := m.vals["local"]; l != nil {
		s.Local, _ = p.boolean(l, "local")
	}
	a := m.vals["at"]
	if a == nil {
		p.errorf(n, "segment needs at: (when contacts enter, like 2025-11-28T10:00:00-05:00, or 10:00 with local: true)")
		return s
	}
	at, ok := p.text(a, "at")
	if !ok {
		return s
	}
	if s.Local {
		w, err := parseWallTime(at)
		if err != nil {
			p.errorf(a, "%s", smsflow.ErrorMessage(err))
		}
		s.LocalAt = w
		return s
	}
	t, err := time.Parse(time.RFC3339, at)
	if err != nil {
		p.errorf(a, "at %q must be a time with its UTC offset, like 2025-11-28T10:00:00-05:00; for each contact's own time zone add local: true and write 2025-11-28T10:00 or 10:00", clip(at))
		return s
	}
	s.At = t.UTC()
	return s
}

// date checks a date trigger: property and at are required, offset is 0d
// and every is year when not written.
func (p *parser) date(n *yaml.Node) *DateTrigger {
	d := &DateTrigger{Every: EveryYear}
	m := p.fields(n, "date", dateKeys)
	if m == nil {
		return d
	}
	if v := m.vals["property"]; v == nil {
		p.errorf(n, "date needs property: (the contact field holding the date, like contact.traits.birthday)")
	} else if s, ok := p.text(v, "date property"); ok {
		if msg, ok := checkDateProperty(s); !ok {
			p.errorf(v, "%s", msg)
		} else {
			d.Property = s
		}
	}
	if v := m.has("offset"); v != nil {
		if s, ok := p.text(v, "offset"); ok {
			days, err := parseDayOffset(s)
			if err != nil {
				p.errorf(v, "%s", smsflow.ErrorMessage(err))
			}
			d.Offset = days
		}
	}
	if v := m.vals["at"]; v == nil {
		p.errorf(n, "date needs at: (the time of day contacts enter, in their own time zone, like \"10:00\")")
	} else if s, ok := p.text(v, "at"); ok {
		c, err := parseClock(s)
		if err != nil {
			p.errorf(v, "at: %s", smsflow.ErrorMessage(err))
		}
		d.At = c
	}
	if v := m.has("every"); v != nil {
		if s, ok := p.text(v, "every"); ok {
			if e := DateEvery(s); slices.Contains(dateEveries, e) {
				d.Every = e
			} else {
				names := make([]string, len(dateEveries))
				for i, e := range dateEveries {
					names[i] = string(e)
				}
				hint := didYouMean(s, names)
				if hint == "" {
					hint = "; use " + quoteList(dateEveries)
				}
				p.errorf(v, "unknown every %s%s (year: on the date's month and day, month: on its day of the month, once: on the full date only)", quoteValue(s), hint)
			}
		}
	}
	return d
}

func (p *parser) entry(n *yaml.Node) Entry {
	var e Entry
	m := p.fields(n, "entry", entryKeys)
	if m == nil {
		return e
	}
	if v := m.vals["reentry"]; v != nil {
		if s, ok := p.text(v, "reentry"); ok {
			if s == "never" {
				e.Reentry.Never = true
			} else if d, err := ParseDuration(s); err != nil || d <= 0 {
				p.errorf(v, "invalid reentry %q: write a duration like 7d (at most one entry per 7 days) or never (once ever); leave it out for \"not while a run is active\"", clip(s))
			} else {
				e.Reentry.After = d
			}
		}
	}
	if v := m.vals["unless"]; v != nil {
		e.Unless = p.expr(v, "unless", wantBool, false)
	}
	if v := m.vals["holdout"]; v != nil {
		if s, ok := p.text(v, "holdout"); ok {
			h, err := parsePercent(s)
			if err != nil {
				p.errorf(v, "%s", smsflow.ErrorMessage(err))
			}
			e.Holdout = h
		}
	}
	return e
}

func (p *parser) exitRules(n *yaml.Node) []ExitRule {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "exit must be a list of rules, each on a line starting with -, like - event: Order Completed (to end the run in a step, use a step - exit: reason)")
		return nil
	}
	var out []ExitRule
	for _, item := range n.Content {
		m := p.fields(item, "exit rule", exitKeys)
		if m == nil {
			continue
		}
		var r ExitRule
		if v := m.vals["event"]; v == nil {
			if !m.unknown {
				p.errorf(item, "exit rule needs event: (the event that ends the run)")
			}
		} else {
			r.Event, _ = p.text(v, "exit event")
		}
		if v := m.vals["where"]; v != nil {
			r.Where = p.expr(v, "exit where", wantBool, true)
		}
		out = append(out, r)
	}
	return out
}

func (p *parser) goal(n *yaml.Node) *Goal {
	g := &Goal{Exit: true}
	m := p.fields(n, "goal", goalKeys)
	if m == nil {
		return g
	}
	if v := m.vals["event"]; v == nil {
		p.errorf(n, "goal needs event: (the conversion event, like Order Completed)")
	} else {
		g.Event, _ = p.text(v, "goal event")
	}
	if v := m.vals["where"]; v != nil {
		g.Where = p.expr(v, "goal where", wantBool, true)
	}
	if v := m.vals["within"]; v == nil {
		p.errorf(n, "goal needs within: (the attribution window from entry, like 5d)")
	} else {
		g.Within, _ = p.duration(v, "goal within")
	}
	if v := m.vals["value"]; v != nil {
		g.Value = p.expr(v, "goal value", wantDouble, true)
	}
	if v := m.vals["exit"]; v != nil {
		g.Exit, _ = p.boolean(v, "goal exit")
	}
	return g
}
