package flow

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/smsflow/smsflow"
)

// steps checks a list of steps at the given branch depth.
func (p *parser) steps(n *yaml.Node, what string, depth int) []*Step {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s must be a list of steps, each on a line starting with -", what)
		return nil
	}
	if depth > maxStepDepth {
		p.errorf(n, "steps are nested more than %d levels deep; split the flow with enter:", maxStepDepth)
		return nil
	}
	out := make([]*Step, 0, len(n.Content))
	for _, item := range n.Content {
		out = append(out, p.step(item, depth))
	}
	return out
}

// branch checks the steps of a then/else/case/variant.
func (p *parser) branch(n *yaml.Node, what string, depth int, mayBeEmpty bool) []*Step {
	if isNull(n) || (n.Kind == yaml.SequenceNode && len(n.Content) == 0) {
		if !mayBeEmpty {
			p.errorf(n, "%s is empty; add at least one step", what)
		}
		return nil
	}
	return p.steps(n, what, depth+1)
}

func (p *parser) step(n *yaml.Node, depth int) *Step {
	p.stepN++
	s := &Step{ID: fmt.Sprintf("step-%d", p.stepN), Generated: true, Line: n.Line, Col: n.Column}
	p.order = append(p.order, s)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "each step is one key: value, like wait: 1h or send: Hello; got %s", kindName(n))
		return s
	}
	m := p.fields(n, "step", stepKeys)
	var kinds []string
	for _, k := range StepKinds {
		if m.vals[string(k)] != nil {
			kinds = append(kinds, string(k))
		}
	}
	switch {
	case len(kinds) == 0:
		if !m.unknown {
			p.errorf(n, "step does nothing; give it one of %s", quoteList(StepKinds))
		}
		return s
	case len(kinds) > 1:
		p.errorf(m.keys[kinds[1]], "a step does one thing, but this one has both %q and %q; put each in its own step (a new line starting with -)", kinds[0], kinds[1])
		return s
	}
	s.Kind = StepKind(kinds[0])
	if v := m.vals["id"]; v != nil {
		if id, ok := p.text(v, "step id"); ok {
			if msg, ok := checkID(id, "step id"); !ok {
				p.errorf(v, "%s", msg)
			} else {
				s.ID, s.Generated = id, false
				p.idNodes[s] = v
			}
		}
	}
	if s.Kind != StepIf {
		for _, k := range []string{"then", "else"} {
			if key := m.keys[k]; key != nil {
				hint := ""
				if s.Kind == StepSwitch {
					hint = "; in a switch, each case has its own then: (- when: … then: …)"
				} else if s.Kind == StepSplit {
					hint = "; in a split, each variant has its own then:"
				}
				p.errorf(key, "%q belongs to an if step%s", k, hint)
			}
		}
	}
	v := m.vals[kinds[0]]
	switch s.Kind {
	case StepSend:
		s.Send = p.send(v)
	case StepWait:
		s.Wait = p.wait(v)
	case StepIf:
		s.If = &If{Cond: p.expr(v, "if", wantBool, true)}
		if t := m.vals["then"]; t == nil {
			p.errorf(n, "if needs then: (the steps to run when the condition is true)")
		} else {
			s.If.Then = p.branch(t, "then", depth, false)
		}
		if e := m.vals["else"]; e != nil {
			s.If.Else = p.branch(e, "else", depth, false)
		}
	case StepSwitch:
		s.Switch = p.switchCases(v, depth)
	case StepSplit:
		s.Split = p.split(v, depth)
	case StepSet:
		s.Set = p.set(v)
	case StepEnter:
		if id, ok := p.text(v, "enter"); ok {
			if msg, ok := checkID(id, "flow id"); !ok {
				p.errorf(v, "enter: %s", msg)
			} else {
				s.Enter = id
			}
		}
	case StepExit:
		if r, ok := p.text(v, "exit reason"); ok {
			if len(r) > maxIDLength || !reasonPattern.MatchString(r) {
				p.errorf(v, "exit reason %q: use lowercase letters, digits, - and _, like %q", clip(r), cmpOr(slugify(r), "done"))
			} else {
				s.Exit = r
			}
		}
	}
	return s
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (p *parser) send(v *yaml.Node) *Send {
	s := &Send{}
	tn := v
	if v.Kind == yaml.MappingNode {
		m := p.fields(v, "send", sendKeys)
		if f := m.vals["from"]; f != nil {
			var ok bool
			if s.From, ok = p.text(f, "from"); ok && p.opts.CheckFrom != nil {
				if msg := p.opts.CheckFrom(s.From); msg != "" {
					p.errorf(f, "send %s", msg)
				}
			}
		}
		if tn = m.vals["template"]; tn == nil {
			p.errorf(v, "send needs template: (the message text)")
			return s
		}
	}
	if tn.Kind != yaml.ScalarNode {
		p.errorf(tn, "send must be the message text (or template: and from:), not %s", kindName(tn))
		return s
	}
	if isNull(tn) || strings.TrimSpace(tn.Value) == "" {
		p.errorf(tn, "send has no message: the template is empty")
		return s
	}
	s.Template = tn.Value
	if p.opts.CheckTemplate != nil {
		for _, tp := range p.opts.CheckTemplate(s.Template) {
			line, col := tn.Line, tn.Column
			if tp.Line > 0 {
				line, col = p.valuePos(tn, valueOffset(s.Template, tp.Line, tp.Col-1))
			}
			sev := SeverityError
			if tp.Severity == SeverityWarning {
				sev = SeverityWarning
			}
			p.add(sev, line, col, tp.Message)
		}
	}
	return s
}

func (p *parser) wait(v *yaml.Node) *Wait {
	w := &Wait{}
	if v.Kind == yaml.ScalarNode {
		w.Kind = WaitDuration
		w.Duration, _ = p.duration(v, "wait")
		return w
	}
	m := p.fields(v, "wait", waitKeys)
	if m == nil {
		return w
	}
	var forms []string
	for _, k := range waitForms {
		if m.vals[k] != nil {
			forms = append(forms, k)
		}
	}
	switch {
	case len(forms) == 0:
		if !m.unknown {
			p.errorf(v, "wait needs a duration (wait: 24h) or one of until, until_local, event or reply")
		}
		return w
	case len(forms) > 1:
		p.errorf(m.keys[forms[1]], "wait has both %q and %q; use one (or two wait steps)", forms[0], forms[1])
		return w
	}
	w.Kind = WaitKind(forms[0])
	f := m.vals[forms[0]]
	switch w.Kind {
	case WaitUntil:
		w.Until = p.expr(f, "wait until", wantTime, true)
	case WaitUntilLocal:
		if s, ok := p.text(f, "until_local"); ok {
			c, err := parseClock(s)
			if err != nil {
				p.errorf(f, "until_local: %s", smsflow.ErrorMessage(err))
			}
			w.UntilLocal = c
		}
	case WaitEvent:
		w.Event, _ = p.text(f, "wait event")
	case WaitReply:
		if b, ok := p.boolean(f, "reply"); ok && !b {
			p.errorf(f, "reply must be true (wait for the contact's reply)")
		}
	}
	if k := m.keys["where"]; k != nil {
		if w.Kind != WaitEvent {
			p.errorf(k, "where belongs to a wait for an event (wait: {event: …, where: …})")
		} else {
			w.Where = p.expr(m.vals["where"], "wait where", wantBool, true)
		}
	}
	timeout := m.vals["timeout"]
	switch {
	case timeout != nil && w.Kind != WaitEvent && w.Kind != WaitReply:
		p.errorf(m.keys["timeout"], "timeout belongs to a wait for an event or a reply")
	case timeout != nil:
		w.Timeout, _ = p.duration(timeout, "timeout")
	case w.Kind == WaitEvent || w.Kind == WaitReply:
		p.errorf(v, "a wait for %s needs timeout: (how long to wait before going on with timed_out true), like timeout: 3d", map[WaitKind]string{WaitEvent: "an event", WaitReply: "a reply"}[w.Kind])
	}
	return w
}

func (p *parser) switchCases(v *yaml.Node, depth int) []Case {
	if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
		p.errorf(v, "switch must be a list of cases, each like - when: <condition> then: [steps], with an optional last - else: [steps]")
		return nil
	}
	var out []Case
	whens := 0
	for i, item := range v.Content {
		m := p.fields(item, "switch case", caseKeys)
		if m == nil {
			continue
		}
		var c Case
		if e := m.vals["else"]; e != nil {
			if m.vals["when"] != nil || m.vals["then"] != nil {
				p.errorf(item, "a switch case has either when: and then:, or only else:")
			}
			if i != len(v.Content)-1 {
				p.errorf(m.keys["else"], "else must be the last case of a switch")
			}
			c.Then = p.branch(e, "else", depth, false)
			out = append(out, c)
			continue
		}
		whens++
		if w := m.vals["when"]; w == nil {
			if !m.unknown {
				p.errorf(item, "each switch case needs when: (a condition) and then: (its steps)")
			}
		} else {
			c.When = p.expr(w, "when", wantBool, true)
		}
		if t := m.vals["then"]; t == nil {
			if !m.unknown {
				p.errorf(item, "this switch case needs then: (the steps to run when it matches)")
			}
		} else {
			c.Then = p.branch(t, "then", depth, false)
		}
		out = append(out, c)
	}
	if whens == 0 {
		p.errorf(v, "switch needs at least one - when: case")
	}
	return out
}

func (p *parser) split(v *yaml.Node, depth int) []Variant {
	if v.Kind != yaml.SequenceNode || len(v.Content) < 2 {
		p.errorf(v, "split must be a list of at least two variants, each like - variant: a weight: 50 then: [steps]")
		if v.Kind != yaml.SequenceNode {
			return nil
		}
	}
	var out []Variant
	seen := map[string]bool{}
	for _, item := range v.Content {
		m := p.fields(item, "split variant", variantKeys)
		if m == nil {
			continue
		}
		var vr Variant
		if n := m.vals["variant"]; n == nil {
			if !m.unknown {
				p.errorf(item, "each split variant needs variant: (its name, like a or control)")
			}
		} else if name, ok := p.text(n, "variant"); ok {
			switch {
			case len(name) > maxIDLength || !variantPatt.MatchString(name):
				p.errorf(n, "variant name %q: use letters, digits, - and _, like %q", clip(name), cmpOr(slugify(name), "a"))
			case seen[name]:
				p.errorf(n, "variant %q appears twice in this split", name)
			default:
				seen[name] = true
				vr.Name = name
			}
		}
		if w := m.vals["weight"]; w == nil {
			if !m.unknown {
				p.errorf(item, "each split variant needs weight: (a positive whole number; shares are weight / total)")
			}
		} else if s, ok := p.text(w, "weight"); ok {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 || n > 1_000_000 {
				p.errorf(w, "weight must be a positive whole number (up to 1000000), not %q", clip(s))
			} else {
				vr.Weight = n
			}
		}
		if t := m.vals["then"]; t != nil {
			vr.Then = p.branch(t, "then", depth, true)
		}
		out = append(out, vr)
	}
	return out
}

func (p *parser) set(v *yaml.Node) []Assignment {
	if v.Kind != yaml.MappingNode || len(v.Content) == 0 {
		p.errorf(v, "set must be a mapping of trait: expression lines, like set: {interest: 'reply.text'}")
		return nil
	}
	var out []Assignment
	seen := map[string]bool{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		name, ok := p.text(k, "trait name")
		if !ok {
			continue
		}
		switch {
		case len(name) > maxIDLength || !traitPattern.MatchString(name):
			p.errorf(k, "trait name %q: use letters, digits and _ (not starting with a digit), like first_name", clip(name))
			continue
		case seen[name]:
			p.errorf(k, "trait %q is set twice in this step; keep one", name)
			continue
		}
		seen[name] = true
		out = append(out, Assignment{Trait: name, Value: p.expr(val, "set "+name, wantAny, true)})
	}
	return out
}
