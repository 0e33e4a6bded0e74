package flow

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/ext"

	"github.com/smsflow/smsflow"
)

// CostLimit bounds the work of one evaluation (cel-go's runtime cost: about
// one unit per operation, more for long strings and lists). An expression
// that exceeds it fails with an error instead of holding up the engine;
// ordinary conditions cost well under a hundred.
const CostLimit = 100_000

// maxExprSize bounds the length of one expression, in characters.
const maxExprSize = 4096

// Expr is one compiled, type-checked CEL expression of a flow. It is
// immutable and safe to evaluate concurrently.
type Expr struct {
	// Source is the expression as written.
	Source string
	// Line and Col locate the expression's value in the flow file.
	Line, Col int

	ast  *cel.Ast
	prog cel.Program
}

// String returns the expression as written.
func (e *Expr) String() string {
	if e == nil {
		return ""
	}
	return e.Source
}

// Facts answers the questions CEL functions ask about one contact and the
// current run. The engine supplies it per evaluation, so one compiled program
// serves every contact: count, within and last read the contact's event
// history; clicked, delivered and replied look at the current run only.
type Facts interface {
	// Count returns how many events name the contact had in the window
	// before now.
	Count(name string, window time.Duration) int
	// Last returns the time of the contact's last event name, false if none.
	Last(name string) (time.Time, bool)
	// Clicked reports whether a link of the message sent by the send step
	// (by id) of this run was clicked.
	Clicked(step string) bool
	// Delivered reports whether the message of that send step was delivered.
	Delivered(step string) bool
	// Replied reports whether the contact replied during this run.
	Replied() bool
}

// Vars are the variables of one evaluation (docs/flows.md, Variables). Nil maps
// are passed as empty maps, so a missing key is a CEL "no such key" error,
// which the interpreter treats as fail closed.
type Vars struct {
	Contact map[string]any // see ContactVars
	Event   map[string]any // see EventVars: the trigger event, or the candidate event in exit, goal and wait.where
	Trigger map[string]any // the event that started the run
	Now     time.Time
	Waited  map[string]any // after an event wait: {"event": EventVars(...)}
	Reply   map[string]any // after a reply wait: {"text": ...}
	// TimedOut is true after an event or reply wait that ended by timeout.
	TimedOut bool
}

// ContactVars returns the CEL `contact` map: id, phone, timezone,
// timezones, traits, consent and created_at.
func ContactVars(c smsflow.Contact, consent smsflow.ConsentStatus) map[string]any {
	traits := c.Traits
	if traits == nil {
		traits = map[string]any{}
	}
	zones := c.Timezones
	if zones == nil {
		zones = []string{}
	}
	return map[string]any{
		"id":         c.ID,
		"phone":      c.Phone,
		"timezone":   c.Timezone,
		"timezones":  zones,
		"traits":     traits,
		"consent":    string(consent),
		"created_at": c.CreatedAt,
	}
}

// EventVars returns the CEL `event` (or `trigger`) map of an event: name,
// type, properties, context, timestamp and message_id. A nil event gives an
// empty map.
func EventVars(e *smsflow.Event) map[string]any {
	if e == nil {
		return map[string]any{}
	}
	props := e.Properties
	if props == nil {
		props = map[string]any{}
	}
	ctx := e.Context
	if ctx == nil {
		ctx = map[string]any{}
	}
	return map[string]any{
		"name":       e.Name,
		"type":       e.Type,
		"properties": props,
		"context":    ctx,
		"timestamp":  e.Timestamp,
		"message_id": e.MessageID,
	}
}

// celNames are the variables and flow functions of the environment, for
// "did you mean" hints.
var celNames = []string{
	"contact", "event", "trigger", "now", "waited", "reply", "timed_out",
	"count", "within", "last", "clicked", "delivered", "replied", "days", "hours",
	"duration", "timestamp", "int", "double", "string", "size", "has", "matches",
	"contains", "startsWith", "endsWith", "lowerAscii", "upperAscii", "trim",
}

// runFunctions look at the current run; they mean nothing before a run exists.
var runFunctions = map[string]bool{"clicked": true, "delivered": true, "replied": true}

var celEnv = sync.OnceValues(func() (*cel.Env, error) {
	obj := cel.MapType(cel.StringType, cel.DynType)
	str, dur := cel.StringType, cel.DurationType
	late := cel.LateFunctionBinding()
	return cel.NewEnv(
		cel.Variable("contact", obj),
		cel.Variable("event", obj),
		cel.Variable("trigger", obj),
		cel.Variable("waited", obj),
		cel.Variable("reply", obj),
		cel.Variable("now", cel.TimestampType),
		cel.Variable("timed_out", cel.BoolType),
		cel.Function("count", cel.Overload("flow_count_string_duration", []*cel.Type{str, dur}, cel.IntType, late)),
		cel.Function("within", cel.Overload("flow_within_string_duration", []*cel.Type{str, dur}, cel.BoolType, late)),
		cel.Function("last", cel.Overload("flow_last_string", []*cel.Type{str}, cel.TimestampType, late)),
		cel.Function("clicked", cel.Overload("flow_clicked_string", []*cel.Type{str}, cel.BoolType, late)),
		cel.Function("delivered", cel.Overload("flow_delivered_string", []*cel.Type{str}, cel.BoolType, late)),
		cel.Function("replied", cel.Overload("flow_replied", []*cel.Type{}, cel.BoolType, late)),
		cel.Function("days", cel.Overload("flow_days_int", []*cel.Type{cel.IntType}, dur,
			cel.UnaryBinding(func(v ref.Val) ref.Val { return durationOf(v, 24*time.Hour) }))),
		cel.Function("hours", cel.Overload("flow_hours_int", []*cel.Type{cel.IntType}, dur,
			cel.UnaryBinding(func(v ref.Val) ref.Val { return durationOf(v, time.Hour) }))),
		ext.Strings(),
		// double(event.properties.value) > 0, as flows write it, compares a double with an int.
		cel.CrossTypeNumericComparisons(true),
		cel.ParserExpressionSizeLimit(maxExprSize),
		cel.ParserRecursionLimit(100),
		cel.ExpressionNodeLimit(5000),
	)
})

// durationOf returns n units as a CEL duration, an error past MaxDuration.
func durationOf(v ref.Val, unit time.Duration) ref.Val {
	n, ok := v.(types.Int)
	if !ok {
		return types.NewErr("days/hours: want an int, got %s", v.Type())
	}
	if n > types.Int(MaxDuration/unit) || n < -types.Int(MaxDuration/unit) {
		return types.NewErr("duration out of range: %d units", int64(n))
	}
	return types.Duration{Duration: time.Duration(n) * unit}
}

// factsBindings binds the flow functions to one evaluation's facts.
func factsBindings(f Facts) map[string]cel.LateBoundFunction {
	if f == nil {
		f = noFacts{}
	}
	name := func(v ref.Val) (string, bool) { s, ok := v.(types.String); return string(s), ok }
	window := func(v ref.Val) (time.Duration, bool) {
		d, ok := v.(types.Duration)
		return d.Duration, ok && d.Duration >= 0
	}
	return map[string]cel.LateBoundFunction{
		"count": func(_ string, args ...ref.Val) ref.Val {
			if len(args) != 2 {
				return types.NewErr("count: want 2 arguments")
			}
			n, ok1 := name(args[0])
			w, ok2 := window(args[1])
			if !ok1 || !ok2 {
				return types.NewErr("count(name, duration): the duration must not be negative")
			}
			return types.Int(f.Count(n, w))
		},
		"within": func(_ string, args ...ref.Val) ref.Val {
			if len(args) != 2 {
				return types.NewErr("within: want 2 arguments")
			}
			n, ok1 := name(args[0])
			w, ok2 := window(args[1])
			if !ok1 || !ok2 {
				return types.NewErr("within(name, duration): the duration must not be negative")
			}
			return types.Bool(f.Count(n, w) > 0)
		},
		"last": func(_ string, args ...ref.Val) ref.Val {
			if len(args) != 1 {
				return types.NewErr("last: want 1 argument")
			}
			n, ok := name(args[0])
			if !ok {
				return types.NewErr("last: want a string")
			}
			t, found := f.Last(n)
			if !found {
				return types.NewErr("last(%q): the contact has no such event", n)
			}
			return types.Timestamp{Time: t}
		},
		"clicked": func(_ string, args ...ref.Val) ref.Val {
			if len(args) != 1 {
				return types.NewErr("clicked: want 1 argument")
			}
			n, ok := name(args[0])
			if !ok {
				return types.NewErr("clicked: want a string")
			}
			return types.Bool(f.Clicked(n))
		},
		"delivered": func(_ string, args ...ref.Val) ref.Val {
			if len(args) != 1 {
				return types.NewErr("delivered: want 1 argument")
			}
			n, ok := name(args[0])
			if !ok {
				return types.NewErr("delivered: want a string")
			}
			return types.Bool(f.Delivered(n))
		},
		"replied": func(_ string, args ...ref.Val) ref.Val { return types.Bool(f.Replied()) },
	}
}

// noFacts stands in when an evaluation has no facts: nothing happened.
type noFacts struct{}

func (noFacts) Count(string, time.Duration) int { return 0 }
func (noFacts) Last(string) (time.Time, bool)   { return time.Time{}, false }
func (noFacts) Clicked(string) bool             { return false }
func (noFacts) Delivered(string) bool           { return false }
func (noFacts) Replied() bool                   { return false }

// Compile compiles and type-checks one expression in the flow environment,
// with no constraint on its type (for tools such as segment previews). The
// error is an *smsflow.Error with cel-go's first issue.
func Compile(src string) (*Expr, error) {
	e, issues := compile(src)
	if len(issues) > 0 {
		return nil, smsflow.Errorf(smsflow.EINVALID, "invalid expression %q: %d:%d: %s", src, issues[0].line, issues[0].col+1, issues[0].msg)
	}
	return e, nil
}

// celIssue is one compile problem, at a 1-based line and 0-based column
// (in characters) of the expression.
type celIssue struct {
	line, col int
	msg       string
}

// compile parses, checks and plans src.
func compile(src string) (*Expr, []celIssue) {
	env, err := celEnv()
	if err != nil {
		return nil, []celIssue{{line: 1, msg: fmt.Sprintf("CEL environment: %v", err)}}
	}
	ast, iss := env.Compile(src)
	if iss != nil && iss.Err() != nil {
		var out []celIssue
		for _, e := range iss.Errors() {
			out = append(out, celIssue{line: e.Location.Line(), col: e.Location.Column(), msg: e.Message})
		}
		return nil, out
	}
	prog, err := env.Program(ast, cel.CostLimit(CostLimit))
	if err != nil {
		return nil, []celIssue{{line: 1, msg: err.Error()}}
	}
	return &Expr{Source: src, ast: ast, prog: prog}, nil
}

var errNoExpr = errors.New("no expression")

func eval(e *Expr, vars Vars, facts Facts) (ref.Val, error) {
	if e == nil || e.prog == nil {
		return nil, errNoExpr
	}
	act, err := cel.FunctionVars(activation(vars), factsBindings(facts))
	if err != nil {
		return nil, fmt.Errorf("eval %q: %w", e.Source, err)
	}
	out, _, err := e.prog.Eval(act)
	if err != nil {
		return nil, fmt.Errorf("eval %q: %w", e.Source, err)
	}
	return out, nil
}

func activation(v Vars) map[string]any {
	orEmpty := func(m map[string]any) map[string]any {
		if m == nil {
			return map[string]any{}
		}
		return m
	}
	return map[string]any{
		"contact":   orEmpty(v.Contact),
		"event":     orEmpty(v.Event),
		"trigger":   orEmpty(v.Trigger),
		"waited":    orEmpty(v.Waited),
		"reply":     orEmpty(v.Reply),
		"now":       v.Now,
		"timed_out": v.TimedOut,
	}
}

// EvalBool evaluates a condition (where, unless, if, when). The error —
// a missing trait, a failed conversion, the cost limit — is for the
// interpreter to log and to fail closed on.
func EvalBool(e *Expr, vars Vars, facts Facts) (bool, error) {
	out, err := eval(e, vars, facts)
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("eval %q: got %s, want a bool", e.Source, out.Type().TypeName())
	}
	return bool(b), nil
}

// EvalTime evaluates a timestamp expression (wait.until).
func EvalTime(e *Expr, vars Vars, facts Facts) (time.Time, error) {
	out, err := eval(e, vars, facts)
	if err != nil {
		return time.Time{}, err
	}
	t, ok := out.(types.Timestamp)
	if !ok {
		return time.Time{}, fmt.Errorf("eval %q: got %s, want a timestamp", e.Source, out.Type().TypeName())
	}
	return t.Time, nil
}

// EvalDouble evaluates a number expression (goal.value); ints and numeric
// strings are converted.
func EvalDouble(e *Expr, vars Vars, facts Facts) (float64, error) {
	out, err := eval(e, vars, facts)
	if err != nil {
		return 0, err
	}
	d, ok := out.ConvertToType(types.DoubleType).(types.Double)
	if !ok {
		return 0, fmt.Errorf("eval %q: got %s, want a number", e.Source, out.Type().TypeName())
	}
	return float64(d), nil
}

// EvalValue evaluates any expression (set values) into plain Go values:
// nil, bool, int64, uint64, float64, string, []byte, time.Time,
// time.Duration, []any and map[string]any.
func EvalValue(e *Expr, vars Vars, facts Facts) (any, error) {
	out, err := eval(e, vars, facts)
	if err != nil {
		return nil, err
	}
	v, err := native(out, 0)
	if err != nil {
		return nil, fmt.Errorf("eval %q: %w", e.Source, err)
	}
	return v, nil
}

// native converts a CEL value into plain Go values, recursively.
func native(v ref.Val, depth int) (any, error) {
	if depth > 64 {
		return nil, errors.New("value nested too deeply")
	}
	switch v := v.(type) {
	case types.Null:
		return nil, nil
	case types.Bool:
		return bool(v), nil
	case types.Int:
		return int64(v), nil
	case types.Uint:
		return uint64(v), nil
	case types.Double:
		return float64(v), nil
	case types.String:
		return string(v), nil
	case types.Bytes:
		return []byte(v), nil
	case types.Timestamp:
		return v.Time, nil
	case types.Duration:
		return v.Duration, nil
	case traits.Mapper:
		out := map[string]any{}
		it := v.Iterator()
		for it.HasNext() == types.True {
			k := it.Next()
			ks, ok := k.(types.String)
			if !ok {
				return nil, fmt.Errorf("map key %v is not a string", k)
			}
			val, _ := v.Find(k)
			nv, err := native(val, depth+1)
			if err != nil {
				return nil, err
			}
			out[string(ks)] = nv
		}
		return out, nil
	case traits.Lister:
		out := []any{}
		it := v.Iterator()
		for it.HasNext() == types.True {
			nv, err := native(it.Next(), depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, nv)
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot store a %s value", v.Type().TypeName())
}
