package flow

import (
	"fmt"
	"slices"
	"strings"

	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"gopkg.in/yaml.v3"
)

// Keys are the top-level keys of a flow file.
func Keys() []string { return slices.Clone(flowKeys) }

// Shape is what a variable of a flow's scope holds: its known fields, each
// with its own Shape. A nil Shape accepts any field: free-form data
// (contact.traits, event.properties, event.context) and plain values.
type Shape map[string]Shape

// EventShape is an event as conditions and templates read it (EventVars):
// its properties and context are free-form.
var EventShape = Shape{"name": nil, "type": nil, "properties": nil, "context": nil, "timestamp": nil, "message_id": nil}

// CELScope is what a flow's CEL expressions can read (Vars, ContactVars,
// EventVars): a name outside it is a mistake the validator reports
// (Options.CheckNames) instead of a condition that fails closed at every
// evaluation.
var CELScope = Shape{
	"contact":   {"id": nil, "phone": nil, "timezone": nil, "timezones": nil, "traits": nil, "consent": nil, "created_at": nil},
	"event":     EventShape,
	"trigger":   EventShape,
	"waited":    {"event": EventShape},
	"reply":     {"text": nil},
	"now":       nil,
	"timed_out": nil,
}

// Check follows names — a variable and the fields read after it — through
// the scope s. It returns -1 when they may exist, else the index of the
// first name that cannot and a message saying so, with the nearest name
// suggested: "unknown field `trait` of contact (did you mean `traits`?)".
func (s Shape) Check(names []string) (int, string) {
	cur := s
	for i, name := range names {
		if cur == nil {
			return -1, ""
		}
		next, ok := cur[name]
		if !ok {
			return i, cur.unknown(names[:i], name)
		}
		cur = next
	}
	return -1, ""
}

// unknown says that name is not in s, which path (nil: the scope itself)
// leads to.
func (s Shape) unknown(path []string, name string) string {
	known := make([]string, 0, len(s))
	for k := range s {
		known = append(known, k)
	}
	slices.Sort(known)
	what, list := "variable `"+name+"`", "; the variables are "
	if len(path) > 0 {
		of := strings.Join(path, ".")
		what, list = fmt.Sprintf("field `%s` of %s", name, of), "; the fields of "+of+" are "
	}
	if sug := Suggest(name, known); sug != "" {
		return fmt.Sprintf("unknown %s (did you mean `%s`?)", what, sug)
	}
	if len(known) == 1 {
		return fmt.Sprintf("unknown %s; %s has one field: %s", what, strings.Join(path, "."), known[0])
	}
	return "unknown " + what + list + strings.Join(known[:len(known)-1], ", ") + " and " + known[len(known)-1]
}

// checkNames reports the fields an expression reads that its variable
// cannot have (CELScope), at the field's position: the type checker sees
// contact and the other variables as maps of anything, so it accepts them.
func (p *parser) checkNames(e *Expr, n *yaml.Node, what string) {
	native := e.ast.NativeRep()
	info := native.SourceInfo()
	src := []rune(e.Source)
	// A comprehension's variables (exists(c, c.x)) hide the scope's names.
	hidden := map[string]bool{}
	celast.PreOrderVisit(native.Expr(), celast.NewExprVisitor(func(x celast.Expr) {
		if x.Kind() == celast.ComprehensionKind {
			c := x.AsComprehension()
			hidden[c.IterVar()], hidden[c.IterVar2()], hidden[c.AccuVar()] = true, true, true
		}
	}))
	celast.PreOrderVisit(native.Expr(), celast.NewExprVisitor(func(x celast.Expr) {
		names, ok := selection(x)
		if !ok || hidden[names[0]] {
			return
		}
		bad, msg := CELScope.Check(names)
		if bad != len(names)-1 || bad == 0 {
			return // fine, or reported at the select that reads it first; unknown variables are the type checker's
		}
		loc := info.GetStartLocation(x.ID())
		off := valueOffset(e.Source, loc.Line(), loc.Column())
		if i := indexRunes(src, off, []rune(names[bad])); i >= 0 {
			off = i
		}
		line, col := p.valuePos(n, off)
		p.errorAt(line, col, what+": "+msg)
	}))
}

// selection reads a chain of field selections from a variable — contact.a.b,
// contact["a"] — as its names, variable first; ok is false for anything
// else (a function's result, a computed index).
func selection(x celast.Expr) (names []string, ok bool) {
	for {
		switch x.Kind() {
		case celast.SelectKind:
			s := x.AsSelect()
			names = append(names, s.FieldName())
			x = s.Operand()
		case celast.CallKind:
			c := x.AsCall()
			args := c.Args()
			if c.FunctionName() != "_[_]" || len(args) != 2 || args[1].Kind() != celast.LiteralKind {
				return nil, false
			}
			key, isStr := args[1].AsLiteral().(types.String)
			if !isStr {
				return nil, false
			}
			names = append(names, string(key))
			x = args[0]
		case celast.IdentKind:
			if len(names) == 0 {
				return nil, false
			}
			names = append(names, x.AsIdent())
			slices.Reverse(names)
			return names, true
		default:
			return nil, false
		}
	}
}

// indexRunes finds needle in s at or after off, -1 when absent.
func indexRunes(s []rune, off int, needle []rune) int {
	for i := max(off, 0); i+len(needle) <= len(s); i++ {
		if slices.Equal(s[i:i+len(needle)], needle) {
			return i
		}
	}
	return -1
}
