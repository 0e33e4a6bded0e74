package template

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/osteele/liquid/filters"
	"github.com/osteele/liquid/render"
	"github.com/osteele/liquid/tags"
	"github.com/osteele/liquid/values"
)

// Limits that keep one template from costing more than a message is worth.
// osteele/liquid has no iteration or size limits of its own, so the package
// enforces these itself (see instrument.go).
const (
	// MaxSourceBytes is the largest template Compile accepts.
	MaxSourceBytes = 10 << 10
	// MaxValueBytes is the largest string a filter, a {{ }} output or the
	// rendered message may be; far above any SMS (10 segments ≈ 1.6 KB).
	MaxValueBytes = 16 << 10
	// MaxItems is the longest list a filter may take or return.
	MaxItems = 1000
	// MaxLoopIterations is the total number of {% for %} iterations one
	// Render may run, all loops together.
	MaxLoopIterations = 1000
	// maxWorkBytes is the total of all strings filters and outputs may
	// produce in one Render (captures and assigns included).
	maxWorkBytes = 1 << 20
)

// Names the instrumented copy of a template uses. User templates may not
// contain reservedPrefix anywhere.
const (
	reservedPrefix = "__smsflow"
	stateVar       = "__smsflow__"    // binding that holds the *renderState
	varFilter      = "__smsflow_var"  // notes a printed variable that is missing
	outFilter      = "__smsflow_out"  // accounts every {{ }} output
	tickTag        = "__smsflow_tick" // counts loop iterations
)

// scopeRoots are the names Render binds; templates may not assign to them.
var scopeRoots = map[string]bool{
	"contact": true, "event": true, "reply": true, "waited": true,
	"brand": true, "flow": true, "now": true,
}

var (
	errNoState = errors.New("internal error: filter called without render state")
	anyType    = reflect.TypeOf((*any)(nil)).Elem()
	errorType  = reflect.TypeOf((*error)(nil)).Elem()
)

// renderState is what one Render shares with its filters and tags through the
// stateVar binding: the filters of osteele/liquid receive only their
// arguments, so the instrumented template passes this as the first one.
type renderState struct {
	links      LinkTracker
	now        time.Time
	loc        *time.Location // where dates are shown: the contact's zone, else Now's
	work       int
	iterations int
	missing    int    // 1 + index of the first printed variable that was missing; 0 for none
	limit      string // the first limit exceeded, "" for none
	linkErr    error  // the first LinkTracker error
}

func stateOf(v any) (*renderState, error) {
	st, ok := v.(*renderState)
	if !ok || st == nil {
		return nil, errNoState
	}
	return st, nil
}

func (st *renderState) exceed(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if st.limit == "" {
		st.limit = msg
	}
	return errors.New(msg)
}

// checkValue enforces MaxValueBytes / MaxItems on a value going into or out
// of a filter; produced says whether it counts towards the work budget.
func (st *renderState) checkValue(v reflect.Value, produced bool) error {
	for v.IsValid() && v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if !v.IsValid() {
		return nil
	}
	n := -1
	switch {
	case v.Kind() == reflect.String:
		n = v.Len()
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8:
		n = v.Len()
	case v.Kind() == reflect.Slice || v.Kind() == reflect.Array || v.Kind() == reflect.Map:
		if v.Len() > MaxItems {
			return st.exceed("too large: a list of %d items (the limit is %d)", v.Len(), MaxItems)
		}
	}
	if n < 0 {
		return nil
	}
	if n > MaxValueBytes {
		return st.exceed("too large: a value of %d bytes (the limit is %d)", n, MaxValueBytes)
	}
	if produced {
		st.work += n
		if st.work > maxWorkBytes {
			return st.exceed("too large: the template produced more than %d bytes", maxWorkBytes)
		}
	}
	return nil
}

// engine is the one osteele/liquid configuration every template uses. It is
// written only by newEngine; afterwards render.Config is read-only, which is
// what makes concurrent Render calls safe.
type engine struct {
	cfg render.Config
	// maxArgs is, for every filter a template may use, how many arguments
	// it takes at most (-1: any number).
	maxArgs map[string]int
}

var std = newEngine()

// filterSet collects the library's standard filters so they can be wrapped.
type filterSet map[string]any

func (s filterSet) AddFilter(name string, fn any) { s[name] = fn }

func newEngine() *engine {
	e := &engine{cfg: render.NewConfig(), maxArgs: map[string]int{}}
	tags.AddStandardTags(e.cfg)
	e.cfg.AddTag(tickTag, func(string) (func(io.Writer, render.Context) error, error) {
		return tick, nil
	})

	standard := filterSet{}
	filters.AddStandardFilters(standard)
	for name, fn := range corrected {
		standard[name] = fn
	}
	for name, fn := range standard {
		ft := reflect.TypeOf(fn)
		if name == "date" {
			continue
		}
		e.maxArgs[name] = ft.NumIn() - 1
		if ft.IsVariadic() {
			e.maxArgs[name] = -1
		}
		e.cfg.AddFilter(name, wrapFilter(name, fn, preChecks[name]))
	}
	e.cfg.AddFilter("date", dateFilter(reflect.ValueOf(standard["date"])))
	e.maxArgs["date"] = 1
	e.cfg.AddFilter("track", trackFilter)
	e.maxArgs["track"] = 0
	e.cfg.AddFilter(varFilter, missingFilter)
	e.cfg.AddFilter(outFilter, outputFilter)
	return e
}

// corrected replace standard filters whose library versions are wrong on
// text a recipient sees: capitalize upper-cased the first byte (so "élodie"
// came out broken), truncate counted its ellipsis in bytes ("…" as 3), and
// divided_by cut a decimal dividend to a whole number before dividing by a
// whole number (49.5 / 2 gave 24; Liquid gives 24.75). Same signatures, so
// arguments are converted as for the originals.
var corrected = map[string]any{
	"capitalize": func(s, suffix string) string {
		r, n := utf8.DecodeRuneInString(s)
		if n == 0 || r == utf8.RuneError {
			return s
		}
		return string(unicode.ToTitle(r)) + s[n:]
	},
	"truncate": func(s string, length func(int) int, ellipsis func(string) string) string {
		n, el := length(50), ellipsis("...")
		if utf8.RuneCountInString(s) <= n {
			return s
		}
		keep := max(n-utf8.RuneCountInString(el), 0)
		i := 0
		for j := range s {
			if keep == 0 {
				i = j
				break
			}
			keep--
		}
		return s[:i] + el
	},
	"divided_by": func(a float64, b any) (any, error) {
		switch d := b.(type) {
		case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
			n := reflect.ValueOf(d).Convert(reflect.TypeFor[int64]()).Int()
			if n == 0 {
				return nil, fmt.Errorf("division by zero")
			}
			if a == math.Trunc(a) && math.Abs(a) < 1<<53 {
				return int64(a) / n, nil // both whole numbers: whole-number division, as in Liquid
			}
			return a / float64(n), nil
		}
		f, err := values.Convert(b, reflect.TypeFor[float64]())
		if err != nil {
			return nil, fmt.Errorf("divided_by: %v is not a number", b)
		}
		if f.(float64) == 0 {
			return nil, fmt.Errorf("division by zero")
		}
		return a / f.(float64), nil
	},
}

// tick runs as the first thing of every loop iteration; it writes nothing, so
// whitespace control around {% for -%} is unaffected.
func tick(_ io.Writer, ctx render.Context) error {
	st, err := stateOf(ctx.Get(stateVar))
	if err != nil {
		return err
	}
	st.iterations++
	if st.iterations > MaxLoopIterations {
		return st.exceed("too many loop iterations (the limit is %d)", MaxLoopIterations)
	}
	return nil
}

// wrapFilter turns a standard filter f(x, args…) into f(x, state, args…) that
// checks the size of its inputs and output, turns a panic into an error (some
// standard filters panic on nil list items) and always returns an error as its
// second result. Argument types are kept, so the library converts arguments
// for the wrapper exactly as it would for the original.
func wrapFilter(name string, fn any, pre func([]reflect.Value) error) any {
	fv := reflect.ValueOf(fn)
	ft := fv.Type()
	in := []reflect.Type{ft.In(0), anyType}
	for i := 1; i < ft.NumIn(); i++ {
		in = append(in, ft.In(i))
	}
	wt := reflect.FuncOf(in, []reflect.Type{ft.Out(0), errorType}, ft.IsVariadic())
	return reflect.MakeFunc(wt, func(args []reflect.Value) (results []reflect.Value) {
		fail := func(err error) []reflect.Value {
			return []reflect.Value{reflect.Zero(ft.Out(0)), errorValue(fmt.Errorf("%s: %w", name, err))}
		}
		st, err := stateOf(args[1].Interface())
		if err != nil {
			return fail(err)
		}
		call := append([]reflect.Value{args[0]}, args[2:]...)
		for _, a := range call {
			if err := st.checkValue(a, false); err != nil {
				return fail(err)
			}
		}
		defer func() {
			if r := recover(); r != nil {
				results = fail(fmt.Errorf("%v", r))
			}
		}()
		if pre != nil {
			if err := pre(call); err != nil {
				return fail(st.exceed("%s", err))
			}
		}
		var out []reflect.Value
		if ft.IsVariadic() {
			out = fv.CallSlice(call)
		} else {
			out = fv.Call(call)
		}
		if len(out) == 2 && !out[1].IsNil() {
			if err, ok := out[1].Interface().(error); ok {
				return fail(err)
			}
			return fail(fmt.Errorf("%v", out[1].Interface()))
		}
		if err := st.checkValue(out[0], true); err != nil {
			return fail(err)
		}
		return []reflect.Value{out[0], reflect.Zero(errorType)}
	}).Interface()
}

func errorValue(err error) reflect.Value {
	v := reflect.New(errorType).Elem()
	v.Set(reflect.ValueOf(err))
	return v
}

// preChecks refuse, before the work is done, the standard filters whose
// output can be the product of their input sizes.
var preChecks = map[string]func([]reflect.Value) error{
	"replace": func(a []reflect.Value) error {
		s, old, repl := a[0].String(), a[1].String(), a[2].String()
		if grow := len(repl) - len(old); grow > 0 {
			if n := len(s) + strings.Count(s, old)*grow; n > MaxValueBytes {
				return fmt.Errorf("too large: replace would produce %d bytes (the limit is %d)", n, MaxValueBytes)
			}
		}
		return nil
	},
	"join": func(a []reflect.Value) error {
		sep := ""
		if a[1].IsValid() && !a[1].IsNil() {
			sep = a[1].Call([]reflect.Value{reflect.ValueOf(" ")})[0].String()
		}
		n := a[0].Len() * len(sep)
		for i := 0; i < a[0].Len(); i++ {
			if s, ok := a[0].Index(i).Interface().(string); ok {
				n += len(s)
			}
		}
		if n > MaxValueBytes {
			return fmt.Errorf("too large: join would produce %d bytes (the limit is %d)", n, MaxValueBytes)
		}
		return nil
	},
}

// dateFilter is the standard date filter with these changes: "now" and
// "today" mean Scope.Now (the library would read the wall clock); numbers are
// Unix seconds; every date is shown in the render's location (the contact's
// time zone when known); a nil or empty input gives nil, so
// `| date: "%b %d" | default: "soon"` works; a format that is not a string
// (a missing variable) is an error instead of the text "<nil>".
// zoneOr is loc, or UTC when the render has no zone.
func zoneOr(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

func dateFilter(orig reflect.Value) any {
	return func(v any, state any, format any) (out any, err error) {
		st, err := stateOf(state)
		if err != nil {
			return nil, err
		}
		layout := "%a, %b %d, %y" // the library's default
		if format != nil {
			s, ok := format.(string)
			if !ok {
				return nil, fmt.Errorf("date: the format must be a string, not a %T", format)
			}
			layout = s
		}
		var t time.Time
		switch v := v.(type) {
		case nil:
			return nil, nil
		case time.Time:
			t = v
		case int:
			t = time.Unix(int64(v), 0)
		case int64:
			t = time.Unix(v, 0)
		case float64:
			t = time.Unix(int64(v), 0)
		case string:
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "":
				return nil, nil
			case "now", "today":
				t = st.now
			default:
				if d, derr := time.ParseInLocation("2006-01-02", strings.TrimSpace(v), zoneOr(st.loc)); derr == nil {
					t = d // a calendar date: that day where the text is read, not midnight UTC moved into the zone
					break
				}
				if t, err = values.ParseDate(strings.TrimSpace(v)); err != nil {
					return nil, fmt.Errorf("date: %q is not a date", v)
				}
			}
		default:
			return nil, fmt.Errorf("date: a %T is not a date", v)
		}
		if st.loc != nil {
			t = t.In(st.loc)
		}
		defer func() {
			if r := recover(); r != nil {
				out, err = nil, fmt.Errorf("date: %v", r)
			}
		}()
		formatFn := func(string) string { return layout }
		res := orig.Call([]reflect.Value{reflect.ValueOf(t), reflect.ValueOf(formatFn)})
		if e, ok := res[1].Interface().(error); ok && e != nil {
			return nil, fmt.Errorf("date: %w", e)
		}
		if err := st.checkValue(res[0], true); err != nil {
			return nil, fmt.Errorf("date: %w", err)
		}
		return res[0].String(), nil
	}
}

// trackFilter shortens an http(s) URL through the render's LinkTracker, or
// returns it unchanged when there is none (previews, validation).
func trackFilter(v any, state any) (any, error) {
	st, err := stateOf(state)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, errors.New("track: no URL to track")
	}
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("track: a %T is not a URL", v)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("track: no URL to track")
	}
	if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("track: %q is not an http(s) URL", s)
	}
	if st.links == nil {
		return s, nil
	}
	short, err := st.links.Track(s)
	if err != nil {
		if st.linkErr == nil {
			st.linkErr = err
		}
		return nil, fmt.Errorf("track: %w", err)
	}
	return short, nil
}

// missingFilter sits right after a printed variable that has no default
// filter and notes it when it is nil or "".
func missingFilter(v any, state any, index int) (any, error) {
	st, err := stateOf(state)
	if err != nil {
		return nil, err
	}
	if s, ok := v.(string); v == nil || ok && s == "" {
		if st.missing == 0 {
			st.missing = index + 1
		}
	}
	return v, nil
}

// outputFilter ends every {{ }}: it counts what the output prints, including
// inside {% capture %}, whose buffer the package cannot bound otherwise.
func outputFilter(v any, state any) (any, error) {
	st, err := stateOf(state)
	if err != nil {
		return nil, err
	}
	if err := st.checkValue(reflect.ValueOf(v), true); err != nil {
		return nil, err
	}
	return v, nil
}
