package template

import (
	"slices"
	"sort"
)

// Reference is one read of a scope variable anywhere in a template — an
// output, a tag's condition, a filter's argument — for the flow validator's
// check of names (a misspelt variable or field renders nothing, or the
// fallback, for every contact). Variables the template defines itself
// (assign, capture, for) are not references.
type Reference struct {
	// Names are the variable and the fields read after it, as far as they
	// are written as names (.field or ["field"]); a computed index
	// (x[y]) ends them.
	Names []string
	// Lines and Cols (1-based, Col in Unicode code points) locate each
	// name in the template.
	Lines, Cols []int
}

// References lists every read of a scope variable, in source order.
func (t *Template) References() []Reference {
	out := make([]Reference, len(t.refs))
	for i, r := range t.refs {
		out[i] = Reference{Names: slices.Clone(r.Names), Lines: slices.Clone(r.Lines), Cols: slices.Clone(r.Cols)}
	}
	return out
}

// Roots are the names Render binds, sorted: contact, event, reply, waited,
// brand, flow and now.
func Roots() []string {
	out := make([]string, 0, len(scopeRoots))
	for k := range scopeRoots {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// collectReferences records the variable reads of one expression that
// starts at byte offset base of the source; tag is the tag it belongs to
// ("" for an output), whose own words are not reads: the name an assign or
// a for defines, a for's "reversed".
func (c *compilation) collectReferences(lx []lexeme, base int, tag string) {
	for i := 0; i < len(lx); i++ {
		l := lx[i]
		switch {
		case l.kind != lexIdent || reservedWords[l.text] || c.locals[l.text]:
			continue
		case i > 0 && lx[i-1].is(lexPunct, "|"): // a filter
			continue
		case i > 0 && (lx[i-1].kind == lexProperty || lx[i-1].is(lexPunct, "]")):
			continue // not a variable: malformed, the parser reports it
		case (tag == "assign" || tag == "for") && i == 0:
			continue
		case tag == "for" && l.text == "reversed" && i > 2:
			continue
		}
		var r Reference
		add := func(name string, off int) {
			line, col := c.position(base + off)
			r.Names = append(r.Names, name)
			r.Lines = append(r.Lines, line)
			r.Cols = append(r.Cols, col)
		}
		add(l.text, l.start)
		for i+1 < len(lx) {
			next := lx[i+1]
			if next.kind == lexProperty {
				add(next.text, next.start+1)
				i++
				continue
			}
			if next.is(lexPunct, "[") && i+3 < len(lx) && lx[i+2].kind == lexString && lx[i+3].is(lexPunct, "]") {
				add(lx[i+2].text, lx[i+2].start+1)
				i += 3
				continue
			}
			break
		}
		c.refs = append(c.refs, r)
	}
}
