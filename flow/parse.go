package flow

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"gopkg.in/yaml.v3"

	"github.com/smsflow/smsflow"
)

const (
	// maxYAMLDepth bounds the nesting of the YAML document; deep enough for
	// maxStepDepth levels of branches.
	maxYAMLDepth = 100
	// maxStepDepth bounds how deeply branching steps may nest.
	maxStepDepth = 16
	maxIDLength  = 64
)

var (
	idPattern     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	reasonPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	traitPattern  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	variantPatt   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)
	yamlErrLine   = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

var (
	flowKeys       = []string{"id", "name", "category", "priority", "trigger", "entry", "exit", "goal", "steps"}
	triggerKeys    = []string{"event", "consent", "inactivity", "segment", "date", "where"}
	triggerKinds   = []string{"event", "consent", "inactivity", "segment", "date"}
	inactivityKeys = []string{"event", "for"}
	segmentKeys    = []string{"where", "at", "local"}
	dateKeys       = []string{"property", "offset", "at", "every"}
	dateEveries    = []DateEvery{EveryYear, EveryMonth, EveryOnce}
	entryKeys      = []string{"reentry", "unless", "holdout"}
	exitKeys       = []string{"event", "where"}
	goalKeys       = []string{"event", "where", "within", "value", "exit"}
	stepKeys       = []string{"id", "send", "wait", "if", "then", "else", "switch", "split", "set", "enter", "exit"}
	sendKeys       = []string{"template", "from"}
	waitKeys       = []string{"until", "until_local", "event", "where", "reply", "timeout"}
	waitForms      = []string{"until", "until_local", "event", "reply"}
	caseKeys       = []string{"when", "then", "else"}
	variantKeys    = []string{"variant", "weight", "then"}
	allowedTags    = []string{"", "!!str", "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq", "!!timestamp"}
)

// want is the type an expression must have.
type want int

const (
	wantAny want = iota
	wantBool
	wantTime
	wantDouble
)

// parser holds the state of checking one file.
type parser struct {
	file     string
	src      []byte
	opts     Options
	lines    [][]rune
	problems []Problem

	stepN    int
	order    []*Step
	idNodes  map[*Step]*yaml.Node
	stepRefs []stepRef
}

// stepRef is a clicked("id") or delivered("id") found in an expression,
// checked once every step id is known.
type stepRef struct {
	fn, id    string
	line, col int
}

// Parse checks one flow file and compiles it. The flow is nil when any
// problem is an error; warnings come with a valid flow. Problems are sorted
// by position. filename is used in problems and Flow.File only; Parse reads
// nothing but src. Parse never panics.
func Parse(filename string, src []byte, opts Options) (*Flow, []Problem) {
	f, problems := parseFile(filename, src, opts)
	if HasErrors(problems) {
		return nil, problems
	}
	return f, problems
}

// parseFile is Parse that also returns the partial flow of an invalid file
// (whatever was understood: at least its id when valid), for checks across
// files.
func parseFile(filename string, src []byte, opts Options) (f *Flow, problems []Problem) {
	p := &parser{file: filename, src: src, opts: opts, idNodes: map[*Step]*yaml.Node{}}
	defer func() {
		if r := recover(); r != nil {
			f = nil
			p.errorAt(1, 1, fmt.Sprintf("internal error while checking this file (please report it): %v", r))
		}
		problems = p.problems
		sortProblems(problems)
	}()
	return p.parse(), nil
}

// maxProblems bounds the problems reported for one file, so a hostile file
// cannot make validation slow or its output huge.
const maxProblems = 100

func (p *parser) add(sev Severity, line, col int, msg string) {
	switch {
	case len(p.problems) < maxProblems:
		p.problems = append(p.problems, Problem{File: p.file, Line: line, Col: col, Severity: sev, Message: msg})
	case len(p.problems) == maxProblems:
		p.problems = append(p.problems, Problem{File: p.file, Line: line, Col: col, Severity: SeverityError,
			Message: fmt.Sprintf("too many problems (more than %d); fix these first", maxProblems)})
	}
}

func (p *parser) errorAt(line, col int, msg string) { p.add(SeverityError, line, col, msg) }

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.add(SeverityError, n.Line, n.Column, fmt.Sprintf(format, args...))
}

func (p *parser) warnf(n *yaml.Node, format string, args ...any) {
	p.add(SeverityWarning, n.Line, n.Column, fmt.Sprintf(format, args...))
}

// parse runs every check of one file and returns the (possibly partial) flow.
func (p *parser) parse() *Flow {
	if len(p.src) > MaxFileSize {
		p.errorAt(1, 1, fmt.Sprintf("file is %d KB; a flow file may be at most %d KB", (len(p.src)+1023)>>10, MaxFileSize>>10))
		return nil
	}
	if !utf8.Valid(p.src) {
		p.errorAt(1, 1, "file is not UTF-8 text")
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(p.src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errorAt(1, 1, "file is empty; a flow needs at least id, category, trigger and steps")
		} else {
			p.yamlError(err)
		}
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.errorAt(extra.Line, 1, "a file holds one flow: remove the second YAML document (after ---) or move it to its own file")
		return nil
	} else if !errors.Is(err, io.EOF) {
		p.yamlError(err)
		return nil
	}
	if !p.screen(&doc) {
		return nil
	}
	if len(doc.Content) != 1 {
		p.errorAt(1, 1, "file is empty; a flow needs at least id, category, trigger and steps")
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "a flow file is a mapping of key: value lines (id:, name:, category:, trigger:, steps: …), not %s", kindName(root))
		return nil
	}
	f := p.flow(root)
	if !HasErrors(p.problems) {
		f.Hash = canonicalHash(root)
	}
	return f
}

func (p *parser) yamlError(err error) {
	msg := err.Error()
	if m := yamlErrLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		p.errorAt(max(line, 1), 1, "YAML syntax error: "+m[2])
		return
	}
	p.errorAt(1, 1, "YAML syntax error: "+strings.TrimPrefix(msg, "yaml: "))
}

// screen rejects what a flow never needs and an attacker might use: anchors
// and aliases (billion-laughs expansion), custom tags and deep nesting. It
// walks without recursion.
func (p *parser) screen(doc *yaml.Node) bool {
	type item struct {
		n     *yaml.Node
		depth int
	}
	ok := true
	stack := []item{{doc, 0}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := it.n
		switch {
		case it.depth > maxYAMLDepth:
			p.errorf(n, "nested too deeply (more than %d levels)", maxYAMLDepth)
			return false
		case n.Kind == yaml.AliasNode:
			p.errorf(n, "YAML aliases (*%s) are not supported in flow files; write the value out", n.Value)
			ok = false
			continue
		case n.Anchor != "":
			p.errorf(n, "YAML anchors (&%s) are not supported in flow files; write the value out where it is used", n.Anchor)
			ok = false
		case n.Kind != yaml.DocumentNode && !slices.Contains(allowedTags, n.ShortTag()):
			p.errorf(n, "YAML tag %s is not supported in flow files", n.Tag)
			ok = false
		}
		for _, c := range n.Content {
			stack = append(stack, item{c, it.depth + 1})
		}
	}
	return ok
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "empty"
		}
		return fmt.Sprintf("the value %q", clip(n.Value))
	}
	return "this"
}

func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// fields is one checked mapping: known keys with their value and key nodes.
type fields struct {
	node    *yaml.Node
	vals    map[string]*yaml.Node
	keys    map[string]*yaml.Node
	unknown bool // an unknown key was reported
}

// has returns the value of key when present and not null (an empty `key:`
// line counts as absent for optional parts).
func (f *fields) has(key string) *yaml.Node {
	if v := f.vals[key]; v != nil && !isNull(v) {
		return v
	}
	return nil
}

// fields checks that n is a mapping whose keys are all allowed and unique.
// what names the mapping in messages ("step", "trigger", …). It returns nil
// (and reports) when n is not a mapping.
func (p *parser) fields(n *yaml.Node, what string, allowed []string) *fields {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping of key: value lines, not %s", what, kindName(n))
		return nil
	}
	f := &fields{node: n, vals: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "a key in %s must be a plain word, not %s", what, kindName(k))
			f.unknown = true
			continue
		}
		name := k.Value
		if !slices.Contains(allowed, name) {
			hint := didYouMean(name, allowed)
			if hint == "" {
				hint = "; expected " + quoteList(allowed)
			}
			p.errorf(k, "unknown key %q in %s%s", name, what, hint)
			f.unknown = true
			continue
		}
		if _, dup := f.vals[name]; dup {
			p.errorf(k, "%q appears twice in this %s; keep one", name, what)
			continue
		}
		f.vals[name] = v
		f.keys[name] = k
	}
	return f
}

// text returns the value of a scalar that must not be empty.
func (p *parser) text(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, "%s must be a single value, not %s", what, kindName(n))
		return "", false
	}
	if isNull(n) || strings.TrimSpace(n.Value) == "" {
		p.errorf(n, "%s is empty", what)
		return "", false
	}
	return n.Value, true
}

func (p *parser) boolean(n *yaml.Node, what string) (bool, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		b, err := strconv.ParseBool(strings.ToLower(n.Value))
		if err == nil {
			return b, true
		}
	}
	p.errorf(n, "%s must be true or false, not %s", what, kindName(n))
	return false, false
}

func (p *parser) integer(n *yaml.Node, what string, lo, hi int) (int, bool) {
	s, ok := p.text(n, what)
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		p.errorf(n, "%s must be a whole number from %d to %d, not %q", what, lo, hi, clip(s))
		return 0, false
	}
	return v, true
}

// duration parses a positive duration value.
func (p *parser) duration(n *yaml.Node, what string) (time.Duration, bool) {
	s, ok := p.text(n, what)
	if !ok {
		return 0, false
	}
	d, err := ParseDuration(s)
	if err != nil {
		p.errorf(n, "%s: %s", what, smsflow.ErrorMessage(err))
		return 0, false
	}
	if d <= 0 {
		p.errorf(n, "%s must be longer than zero", what)
		return 0, false
	}
	return d, true
}

// checkID reports whether s is a valid flow or step id, with the message.
func checkID(s, what string) (string, bool) {
	if len(s) <= maxIDLength && idPattern.MatchString(s) {
		return "", true
	}
	if len(s) > maxIDLength {
		return fmt.Sprintf("%s %q is too long; use at most %d characters", what, clip(s), maxIDLength), false
	}
	msg := fmt.Sprintf("invalid %s %q: use lowercase letters, digits and dashes", what, clip(s))
	if slug := slugify(s); slug != "" && len(slug) <= maxIDLength {
		msg += fmt.Sprintf(", like %q", slug)
	}
	return msg, false
}

func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

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
