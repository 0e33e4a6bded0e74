package flow

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"gopkg.in/yaml.v3"
)

// want is the type an expression must have.
type want int

const (
	wantAny want = iota
	wantBool
	wantTime
	wantDouble
)

// expr compiles and type-checks one CEL expression. inRun says a run exists
// where it is evaluated, so clicked, delivered and replied make sense.
func (p *parser) expr(n *yaml.Node, what string, w want, inRun bool) *Expr {
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, "%s must be a CEL expression (text), not %s", what, kindName(n))
		return nil
	}
	src := n.Value
	if isNull(n) || strings.TrimSpace(src) == "" {
		p.errorf(n, "%s is empty; write an expression or remove the line", what)
		return nil
	}
	e, issues := compile(src)
	if len(issues) > 0 {
		for i, is := range issues {
			if i == 3 {
				break
			}
			line, col := p.valuePos(n, valueOffset(src, is.line, is.col))
			p.errorAt(line, col, what+": "+celMessage(is.msg, src, w))
		}
		return nil
	}
	e.Line, e.Col = n.Line, n.Column
	if t := e.ast.OutputType(); !typeFits(t.Kind(), w) {
		p.errorf(n, "%s must be %s, but this expression gives %s", what, wantName(w), typeName(t.Kind(), t.String()))
		return nil
	}
	p.checkCalls(e, n, what, inRun)
	if p.opts.CheckNames {
		p.checkNames(e, n, what)
	}
	return e
}

func typeFits(k types.Kind, w want) bool {
	if k == types.DynKind || k == types.AnyKind {
		return true
	}
	switch w {
	case wantBool:
		return k == types.BoolKind
	case wantTime:
		return k == types.TimestampKind
	case wantDouble:
		return k == types.DoubleKind || k == types.IntKind || k == types.UintKind
	}
	return true
}

func wantName(w want) string {
	switch w {
	case wantBool:
		return "a condition (true or false)"
	case wantTime:
		return `a timestamp (like now + duration("2h"))`
	case wantDouble:
		return "a number"
	}
	return "a value"
}

func typeName(k types.Kind, s string) string {
	switch k {
	case types.BoolKind:
		return "true or false"
	case types.IntKind, types.UintKind:
		return "a whole number (int)"
	case types.DoubleKind:
		return "a number (double)"
	case types.StringKind:
		return "text (string)"
	case types.BytesKind:
		return "bytes"
	case types.TimestampKind:
		return "a timestamp"
	case types.DurationKind:
		return "a duration"
	case types.ListKind:
		return "a list"
	case types.MapKind:
		return "a map"
	case types.NullTypeKind:
		return "null"
	}
	return s
}

var undeclared = regexp.MustCompile(`^undeclared reference to '([^']*)'`)

// celMessage makes a cel-go issue read well in a flow file.
func celMessage(msg, src string, w want) string {
	msg = strings.ReplaceAll(msg, " (in container '')", "")
	if m := undeclared.FindStringSubmatch(msg); m != nil {
		if !strings.Contains(msg, "did you mean") {
			msg += didYouMean(m[1], celNames)
		}
		if w == wantAny && strings.TrimSpace(src) == m[1] {
			msg += fmt.Sprintf(`; to store the text %s, quote it inside the YAML quotes: '"%s"'`, m[1], m[1])
		}
	}
	return msg
}

// checkCalls checks what the type checker cannot: literal durations and
// timestamps, run-only functions, and step ids named by clicked/delivered
// (recorded here, checked in finish).
func (p *parser) checkCalls(e *Expr, n *yaml.Node, what string, inRun bool) {
	native := e.ast.NativeRep()
	info := native.SourceInfo()
	src := []rune(e.Source)
	pos := func(x celast.Expr, fn string) (int, int) {
		loc := info.GetStartLocation(x.ID())
		off := valueOffset(e.Source, loc.Line(), loc.Column())
		if fn != "" && off >= len(fn) && off <= len(src) && string(src[off-len(fn):off]) == fn {
			off -= len(fn)
		}
		return p.valuePos(n, off)
	}
	literal := func(args []celast.Expr) (celast.Expr, string, bool) {
		if len(args) != 1 || args[0].Kind() != celast.LiteralKind {
			return nil, "", false
		}
		s, ok := args[0].AsLiteral().(types.String)
		return args[0], string(s), ok
	}
	celast.PreOrderVisit(native.Expr(), celast.NewExprVisitor(func(x celast.Expr) {
		if x.Kind() != celast.CallKind {
			return
		}
		call := x.AsCall()
		fn := call.FunctionName()
		if call.IsMemberFunction() {
			return
		}
		switch fn {
		case "duration":
			if arg, s, ok := literal(call.Args()); ok {
				if _, err := time.ParseDuration(s); err != nil {
					line, col := pos(arg, "")
					if d, err2 := ParseDuration(s); err2 == nil {
						p.errorAt(line, col, fmt.Sprintf("%s: duration(%q): CEL durations have no d or w unit; write days(%d) or duration(\"%dh\")", what, s, int64(d/(24*time.Hour)), int64(d/time.Hour)))
					} else {
						p.errorAt(line, col, fmt.Sprintf("%s: duration(%q) is not a valid duration; write it like duration(\"90m\") or duration(\"24h\")", what, s))
					}
				}
			}
		case "timestamp":
			if arg, s, ok := literal(call.Args()); ok {
				if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
					line, col := pos(arg, "")
					p.errorAt(line, col, fmt.Sprintf("%s: timestamp(%q) is not a valid time; write it like timestamp(\"2025-11-28T10:00:00-05:00\")", what, s))
				}
			}
		case "clicked", "delivered", "replied":
			if !inRun {
				line, col := pos(x, fn)
				p.errorAt(line, col, fmt.Sprintf("%s: %s() looks at the current run, and there is no run yet in %s", what, fn, what))
				return
			}
			if fn == "replied" {
				return
			}
			arg, s, ok := literal(call.Args())
			if !ok {
				line, col := pos(x, fn)
				p.errorAt(line, col, fmt.Sprintf("%s: %s() needs a step id in quotes, like %s(\"reminder\")", what, fn, fn))
				return
			}
			line, col := pos(arg, "")
			p.stepRefs = append(p.stepRefs, stepRef{fn: fn, id: s, line: line, col: col})
		}
	}))
}
