package flow

import (
	"fmt"
	"slices"
)

// finish assigns and checks step ids, links the steps and checks
// reachability and references to steps.
func (p *parser) finish(f *Flow) {
	f.order = p.order
	explicit := map[string]*Step{}
	for _, s := range p.order {
		if s.Generated {
			continue
		}
		if prev, dup := explicit[s.ID]; dup {
			p.errorf(p.idNodes[s], "duplicate step id %q (first used at line %d)", s.ID, prev.Line)
			continue
		}
		explicit[s.ID] = s
	}
	for _, s := range p.order {
		if !s.Generated {
			continue
		}
		if named, clash := explicit[s.ID]; clash {
			p.errorf(p.idNodes[named], "step id %q is also the id generated for the step without id at line %d (step-N means the N-th step); choose another id", s.ID, s.Line)
		}
	}
	f.link()
	p.reach(f.Steps)
	var sendIDs []string
	for _, s := range p.order {
		if s.Kind == StepSend {
			sendIDs = append(sendIDs, s.ID)
		}
	}
	for _, r := range p.stepRefs {
		st := f.index[r.id]
		switch {
		case st == nil:
			p.errorAt(r.line, r.col, fmt.Sprintf("%s(%q): no step has this id%s", r.fn, r.id, didYouMean(r.id, sendIDs)))
		case st.Kind != StepSend && st.Kind != "":
			p.errorAt(r.line, r.col, fmt.Sprintf("%s(%q): that is a %s step; %s() looks at the message of a send step", r.fn, r.id, st.Kind, r.fn))
		}
	}
}

// ends reports whether a step always ends the run.
func ends(s *Step) bool {
	switch s.Kind {
	case StepExit, StepEnter:
		return true
	case StepIf:
		return listEnds(s.If.Then) && listEnds(s.If.Else)
	case StepSwitch:
		if len(s.Switch) == 0 || s.Switch[len(s.Switch)-1].When != nil {
			return false // no else: a contact may match no case
		}
		for _, c := range s.Switch {
			if !listEnds(c.Then) {
				return false
			}
		}
		return true
	case StepSplit:
		for _, v := range s.Split {
			if !listEnds(v.Then) {
				return false
			}
		}
		return len(s.Split) > 0
	}
	return false
}

func listEnds(list []*Step) bool { return slices.ContainsFunc(list, ends) }

// reach reports the first unreachable step of every list.
func (p *parser) reach(list []*Step) {
	for i, s := range list {
		for _, b := range s.Branches() {
			p.reach(b)
		}
		if i+1 < len(list) && ends(s) {
			var why string
			switch s.Kind {
			case StepExit:
				why = fmt.Sprintf("the run exits before it (exit: %s at line %d)", s.Exit, s.Line)
			case StepEnter:
				why = fmt.Sprintf("the run leaves this flow before it (enter: %s at line %d)", s.Enter, s.Line)
			default:
				why = fmt.Sprintf("every branch of the %s at line %d ends the run", s.Kind, s.Line)
			}
			next := list[i+1]
			p.errorAt(next.Line, next.Col, "unreachable step: "+why)
			return
		}
	}
}
