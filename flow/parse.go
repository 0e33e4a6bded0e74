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
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

const (
	// maxYAMLDepth bounds the nesting of the YAML document; deep enough for
	// maxStepDepth levels of branches.
	maxYAMLDepth = 100
	// maxStepDepth bounds how deeply branching steps may nest.
	maxStepDepth = 16
	maxIDLength  = 64
)

// ReservedID is the one valid flow id a flow should not have: the web UI's
// /flows/new is its new-flow page (D100). The API refuses it for a new
// flow; in a flow file it is a warning (a file that has it keeps loading).
const ReservedID = "new"

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
