package template

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/osteele/liquid/parser"
	"github.com/osteele/liquid/render"
	"github.com/smsflow/smsflow"
)

// Scope is what a template can read. Each field is exposed to Liquid under
// its lower-case name: contact (id, phone, timezone, traits), event (the
// trigger event: name, properties, timestamp …), reply and waited (after a
// wait step), brand (from configuration), flow (id, name) and now.
type Scope struct {
	Contact map[string]any
	Event   map[string]any
	Reply   map[string]any
	Waited  map[string]any
	Brand   map[string]any
	Flow    map[string]any
	// Now is the engine's clock reading for this send. Dates, `now` and
	// `"now" | date` are shown in Contact["timezone"] when it names an IANA
	// zone, otherwise in Now's own location.
	Now time.Time
}

// LinkTracker turns a destination URL into a tracked short link
// ({public_url}/l/{code}) and records it; the engine supplies it per send.
// An error is treated as transient: Render returns it wrapped, not as a
// *RenderError, so the send can be retried.
type LinkTracker interface {
	Track(url string) (string, error)
}

// Variable is one output of a template that reads the scope, for the flow
// validator's "variable without a fallback" warning.
type Variable struct {
	// Path as written, normalized: "contact.traits.first_name",
	// `event.properties["order id"]`.
	Path string
	// HasFallback says the output is piped through `default`.
	HasFallback bool
	// Line and Col (1-based, Col in Unicode code points) of the path in the template.
	Line, Col int
}

// Template is a compiled message template; it is immutable and safe for
// concurrent use.
type Template struct {
	src  string
	root render.Node // the instrumented copy, see instrument.go
	vars []Variable
	refs []Reference
	// checked maps the index passed to varFilter to the variable's Path.
	checked []string
	// instrumented holds the rendered source of each {{ }} / {% %} with
	// the user's original, to put the user's text back into error messages.
	instrumented [][2]string
}

// Compile parses a template once, for use by many sends. Any error is a
// *SyntaxError (with the line and column inside the template when known).
func Compile(src string) (*Template, error) {
	c, err := newCompilation(src)
	if err != nil {
		return nil, err
	}
	// The instrumented copy is what renders; the user's own source is
	// compiled only to explain a failure in the user's terms.
	root, instErr := safeCompile(c.out.String())
	if c.issue != nil || instErr != nil {
		first := c.issue
		if _, libErr := safeCompile(src); libErr != nil {
			// A library error without position (off -1) loses to ours.
			if li := c.libraryIssue(libErr); first == nil || li.off >= 0 && li.off < first.off {
				first = li
			}
		}
		if first == nil {
			// The rewrite broke a template the library accepts: a bug here.
			return nil, &SyntaxError{Message: fmt.Sprintf("internal error preparing the template: %v", instErr)}
		}
		return nil, c.syntaxError(first)
	}
	return &Template{
		src:          src,
		root:         root,
		vars:         c.vars,
		refs:         c.refs,
		checked:      c.checked,
		instrumented: c.instrumented,
	}, nil
}

// safeCompile runs the library's compiler, which panics on some inputs (an
// integer literal too large for int64); Compile reports those itself with a
// position, this keeps the panic from escaping meanwhile.
func safeCompile(src string) (root render.Node, err parser.Error) {
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, parser.Errorf(parser.Token{SourceLoc: parser.SourceLoc{}}, "%v", r)
		}
	}()
	return std.cfg.Compile(src, parser.SourceLoc{LineNo: 1})
}

// Source returns the template as written.
func (t *Template) Source() string { return t.src }

// Variables lists every {{ }} output that prints a scope variable, in source
// order, including those inside {% if %} and loops. Outputs of variables the
// template defines itself (assign, capture, for) are not listed, nor outputs
// that are not a plain `path | filter …` chain (a literal, a comparison).
func (t *Template) Variables() []Variable { return slices.Clone(t.vars) }

// Render produces the message body, cleaned by smsflow.CleanText (values
// from events and traits may carry NUL and other control characters, which
// no provider should be handed and PostgreSQL cannot store) and trimmed of
// surrounding whitespace. It
// returns a *RenderError when the result must not be sent, and a wrapped
// LinkTracker error when tracking a link failed. The tracker may have been
// called even when Render then fails.
func (t *Template) Render(scope Scope, links LinkTracker) (string, error) {
	st := &renderState{links: links, now: scope.Now, loc: scope.Now.Location()}
	if tz, ok := scope.Contact["timezone"].(string); ok {
		if loc := loadLocation(tz); loc != nil {
			st.loc = loc
			st.now = scope.Now.In(loc)
		}
	}
	bindings := map[string]any{
		"contact": orEmpty(scope.Contact),
		"event":   orEmpty(scope.Event),
		"reply":   orEmpty(scope.Reply),
		"waited":  orEmpty(scope.Waited),
		"brand":   orEmpty(scope.Brand),
		"flow":    orEmpty(scope.Flow),
		"now":     st.now,
		stateVar:  st,
	}
	w := &boundedWriter{max: MaxValueBytes}
	renderErr := safeRender(t.root, w, bindings)

	switch {
	case st.linkErr != nil:
		return "", fmt.Errorf("render template: track link: %w", st.linkErr)
	case st.missing > 0:
		return "", &RenderError{Reason: "missing variable " + t.checked[st.missing-1]}
	case st.limit != "":
		return "", &RenderError{Reason: st.limit}
	case renderErr != nil:
		return "", &RenderError{Reason: "liquid error: " + t.renderMessage(renderErr)}
	case w.overflow:
		return "", &RenderError{Reason: fmt.Sprintf("too large: the message is over %d bytes", MaxValueBytes)}
	}
	out := strings.TrimSpace(smsflow.CleanText(w.buf.String()))
	switch {
	case out == "":
		return "", &RenderError{Reason: "empty"}
	case strings.Contains(out, "{{") || strings.Contains(out, "{%"):
		return "", &RenderError{Reason: "unrendered markup"}
	}
	return out, nil
}

// safeRender renders, turning a panic inside the library (which happens on
// some spoofed inputs, e.g. reading an unexported field of a time value)
// into an error.
func safeRender(root render.Node, w *boundedWriter, bindings map[string]any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	if e := render.Render(root, w, bindings, std.cfg); e != nil {
		return e
	}
	return nil
}

// renderMessage is a library render error without its "Liquid error" prefix
// and with the user's own text of the failing tag instead of the
// instrumented one.
func (t *Template) renderMessage(err error) string {
	msg := err.Error()
	line := 0
	if e, ok := err.(render.Error); ok {
		line = e.LineNumber()
	}
	msg = anyLibraryPrefix.ReplaceAllString(msg, "")
	for _, pair := range t.instrumented {
		found := false
		for _, context := range pair {
			for strings.HasSuffix(msg, " in "+context) {
				msg, found = strings.TrimSuffix(msg, " in "+context), true
			}
		}
		if found {
			msg += " in " + pair[1]
			break
		}
	}
	if line > 0 {
		return fmt.Sprintf("line %d: %s", line, msg)
	}
	return msg
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// boundedWriter keeps at most max bytes and notes that there was more. It
// never fails a write: the library panics when flushing to a failing writer.
type boundedWriter struct {
	buf      bytes.Buffer
	max      int
	overflow bool
}

func (w *boundedWriter) Write(p []byte) (int, error) {
	if room := w.max - w.buf.Len(); len(p) > room {
		w.overflow = true
		if room > 0 {
			w.buf.Write(p[:room])
		}
		return len(p), nil
	}
	return w.buf.Write(p)
}

var locations sync.Map // zone name → *time.Location; only names that loaded

func loadLocation(name string) *time.Location {
	if name == "" || name == "Local" {
		return nil // "Local" would be the server's zone, not the contact's
	}
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	locations.Store(name, loc)
	return loc
}
