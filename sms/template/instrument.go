package template

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/osteele/liquid/parser"
)

// Compile reads the template token by token with the library's own scanner
// (parser.Scan), mirroring its parser's handling of {% comment %} and
// {% raw %}, and does three things the library cannot:
//
//   - find errors with a precise position: unclosed {{ or {%, unknown
//     filters, too many filter arguments, ranges, unsupported tags,
//     assignments to scope names;
//   - list the output variables (Template.Variables);
//   - write an instrumented copy of the source, which is what gets rendered:
//     every filter call gets the render state as its first argument
//     (`x | upcase` → `x | upcase: __smsflow__`), a printed variable without
//     `default` is followed by `| __smsflow_var: __smsflow__, N` (missing
//     variable detection), every {{ }} ends in `| __smsflow_out: …` (size
//     budget) and every {% for %} body starts with {% __smsflow_tick %}
//     (iteration budget). The rewrite adds no newline, so line numbers in
//     render errors are those of the original.

// tokenPattern is the library's token matcher for the default delimiters
// (parser.formTokenMatcher); matching it on one token's source gives the
// exact offset of the token's arguments.
var tokenPattern = regexp.MustCompile(`\{\{-?\s*(.+?)\s*-?\}\}|\{%-?\s*(\w+)(?:\s+((?:[^%]|%[^}])+?))?\s*-?%\}`)

// libraryPrefix is how osteele/liquid starts its error messages.
var (
	libraryPrefix    = regexp.MustCompile(`^Liquid error(?: \(line -?\d+\))?: `)
	anyLibraryPrefix = regexp.MustCompile(`Liquid error(?: \(line -?\d+\))?: `)
)

// expressionTags are the standard tags whose arguments are Liquid
// expressions (and so may call filters).
var expressionTags = map[string]bool{
	"assign": true, "for": true, "if": true, "elsif": true, "unless": true,
	"case": true, "when": true, "cycle": true,
}

// unsupportedTags exist in the library but have no place in a text message:
// include reads files from the server's disk, tablerow writes HTML.
var unsupportedTags = map[string]string{
	"include":  "the include tag is not supported in message templates",
	"tablerow": "the tablerow tag writes HTML and is not supported in message templates",
}

// segment is one token of the template with its byte offset.
type segment struct {
	tok     parser.Token
	off     int
	argsOff int  // offset of tok.Args inside tok.Source, -1 when there are none
	inert   bool // inside {% comment %} or {% raw %}: left exactly as written
}

// issue is a compile error at a byte offset of the source (-1: no position).
type issue struct {
	off int
	msg string
}

type compilation struct {
	src          string
	segs         []segment
	locals       map[string]bool
	issue        *issue // the earliest one
	vars         []Variable
	refs         []Reference
	checked      []string
	instrumented [][2]string
	out          strings.Builder
}

func newCompilation(src string) (*compilation, error) {
	if len(src) > MaxSourceBytes {
		return nil, &SyntaxError{Message: fmt.Sprintf("template is %d bytes; the limit is %d", len(src), MaxSourceBytes)}
	}
	c := &compilation{src: src, locals: map[string]bool{}}
	if !utf8.ValidString(src) {
		off := 0
		for off < len(src) {
			r, n := utf8.DecodeRuneInString(src[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return nil, c.syntaxError(&issue{off, "template is not valid UTF-8"})
	}
	if i := strings.Index(src, reservedPrefix); i >= 0 {
		return nil, c.syntaxError(&issue{i, fmt.Sprintf("names starting with %q are reserved", reservedPrefix)})
	}
	if err := c.scan(); err != nil {
		return nil, err
	}
	c.collectLocals()
	for i := range c.segs {
		c.rewrite(&c.segs[i])
	}
	return c, nil
}

func (c *compilation) report(off int, format string, args ...any) {
	if c.issue == nil || off < c.issue.off {
		c.issue = &issue{off, fmt.Sprintf(format, args...)}
	}
}

func (c *compilation) scan() error {
	off := 0
	inComment, inRaw := false, false
	for _, tok := range parser.Scan(c.src, parser.SourceLoc{LineNo: 1}, nil) {
		if tok.Type == parser.TrimLeftTokenType || tok.Type == parser.TrimRightTokenType {
			continue
		}
		if !strings.HasPrefix(c.src[off:], tok.Source) {
			return &SyntaxError{Message: "internal error: template tokens do not match the source"}
		}
		s := segment{tok: tok, off: off, argsOff: -1}
		off += len(tok.Source)
		isTag := tok.Type == parser.TagTokenType
		switch {
		case inComment:
			s.inert = true
			inComment = !(isTag && tok.Name == "endcomment")
		case inRaw:
			s.inert = true
			inRaw = !(isTag && tok.Name == "endraw")
		case isTag && tok.Name == "comment":
			s.inert, inComment = true, true
		case isTag && tok.Name == "raw":
			s.inert, inRaw = true, true
		}
		if m := tokenPattern.FindStringSubmatchIndex(tok.Source); m != nil && m[0] == 0 && m[1] == len(tok.Source) {
			switch {
			case tok.Type == parser.ObjTokenType && m[2] >= 0 && tok.Source[m[2]:m[3]] == tok.Args:
				s.argsOff = m[2]
			case isTag && m[6] >= 0 && tok.Source[m[6]:m[7]] == tok.Args:
				s.argsOff = m[6]
			}
		}
		if tok.Type == parser.ObjTokenType && s.argsOff < 0 {
			return &SyntaxError{Message: "internal error: cannot locate an output's expression"}
		}
		c.segs = append(c.segs, s)
	}
	if off != len(c.src) {
		return &SyntaxError{Message: "internal error: template tokens do not cover the source"}
	}
	return nil
}

// collectLocals finds the names the template defines itself, and refuses
// definitions that would hide the scope or the loop variable.
func (c *compilation) collectLocals() {
	for _, s := range c.segs {
		if s.inert || s.tok.Type != parser.TagTokenType {
			continue
		}
		var name string
		var at int
		switch s.tok.Name {
		case "assign", "for":
			lx := lex(s.tok.Args)
			if len(lx) == 0 || lx[0].kind != lexIdent {
				continue
			}
			name, at = lx[0].text, s.off+s.argsOff+lx[0].start
		case "capture":
			if s.argsOff < 0 {
				continue
			}
			name, at = strings.TrimSpace(s.tok.Args), s.off+s.argsOff
		default:
			continue
		}
		switch {
		case scopeRoots[name]:
			c.report(at, "cannot assign to %q: it is part of the message scope", name)
		case name == "forloop":
			c.report(at, "cannot assign to \"forloop\": it is the loop variable")
		}
		c.locals[name] = true
	}
	c.locals["forloop"] = true
}

// rewrite checks one segment and writes its instrumented form to c.out.
func (c *compilation) rewrite(s *segment) {
	src := s.tok.Source
	switch {
	case s.inert:
	case s.tok.Type == parser.TextTokenType:
		c.checkText(s)
	case s.tok.Type == parser.ObjTokenType:
		src = c.rewriteOutput(s)
	case s.tok.Type == parser.TagTokenType:
		src = c.rewriteTag(s)
	}
	if !s.inert && s.tok.Type != parser.TextTokenType {
		c.instrumented = append(c.instrumented, [2]string{src, s.tok.Source})
	}
	c.out.WriteString(src)
}

func (c *compilation) checkText(s *segment) {
	text := s.tok.Source
	if i := strings.Index(text, "{{"); i >= 0 {
		c.report(s.off+i, "unclosed {{: an output must be closed by }} on the same line")
	}
	if i := strings.Index(text, "{%"); i >= 0 {
		c.report(s.off+i, "unclosed or malformed tag: {%% must be followed by a tag name and closed by %%}")
	}
}

// checkExpression reports the problems of one expression that starts at
// byte offset base of the source, and returns the edits that pass the render
// state to its filters.
func (c *compilation) checkExpression(e expression, base int) []edit {
	if e.rangeAt >= 0 {
		c.report(base+e.rangeAt, "ranges (a..b) are not supported in message templates")
	}
	for _, l := range e.lexemes {
		if l.kind == lexNumber && !numberFits(l.text) {
			c.report(base+l.start, "number %s is too large", l.text)
		}
	}
	var edits []edit
	for _, f := range e.filters {
		max, known := std.maxArgs[f.name]
		switch {
		case !known:
			c.report(base+f.start, "unknown filter %q", f.name)
		case max == 0 && f.params > 0:
			c.report(base+f.start, "filter %q takes no arguments", f.name)
		case max >= 0 && f.params > max:
			c.report(base+f.start, "filter %q takes at most %d argument(s), not %d", f.name, max, f.params)
		}
		if f.keyword {
			edits = append(edits, edit{f.end, " " + stateVar + ","})
		} else {
			edits = append(edits, edit{f.end, ": " + stateVar})
		}
	}
	return edits
}

func (c *compilation) rewriteOutput(s *segment) string {
	args := s.tok.Args
	base := s.off + s.argsOff
	e := analyze(args)
	edits := c.checkExpression(e, base)
	c.collectReferences(e.lexemes, base, "")
	if e.headOK && !c.locals[e.headRoot] {
		fallback := slices.ContainsFunc(e.filters, func(f filterUse) bool { return f.name == "default" })
		line, col := c.position(base + e.headStart)
		c.vars = append(c.vars, Variable{Path: e.head, HasFallback: fallback, Line: line, Col: col})
		if !fallback {
			edits = append(edits, edit{e.headEnd, " | " + varFilter + ": " + stateVar + ", " + strconv.Itoa(len(c.checked))})
			c.checked = append(c.checked, e.head)
		}
	}
	wrapped := "(" + applyEdits(args, edits) + ") | " + outFilter + ": " + stateVar
	return s.tok.Source[:s.argsOff] + wrapped + s.tok.Source[s.argsOff+len(args):]
}

func (c *compilation) rewriteTag(s *segment) string {
	if msg, bad := unsupportedTags[s.tok.Name]; bad {
		c.report(s.off, "%s", msg)
	}
	src := s.tok.Source
	if expressionTags[s.tok.Name] && s.argsOff >= 0 {
		args := s.tok.Args
		e := analyze(args)
		edits := c.checkExpression(e, s.off+s.argsOff)
		c.collectReferences(e.lexemes, s.off+s.argsOff, s.tok.Name)
		src = src[:s.argsOff] + applyEdits(args, edits) + src[s.argsOff+len(args):]
	}
	if s.tok.Name == "for" {
		src += "{% " + tickTag + " %}"
	}
	return src
}

// numberFits says whether the library can read a number literal: it panics
// on one that does not fit an int64 or a float64.
func numberFits(text string) bool {
	var err error
	if strings.Contains(text, ".") {
		_, err = strconv.ParseFloat(text, 64)
	} else {
		_, err = strconv.ParseInt(text, 10, 64)
	}
	return err == nil
}

// edit inserts text at a byte offset.
type edit struct {
	at   int
	text string
}

func applyEdits(s string, edits []edit) string {
	slices.SortStableFunc(edits, func(a, b edit) int { return a.at - b.at })
	var b strings.Builder
	last := 0
	for _, e := range edits {
		b.WriteString(s[last:e.at])
		b.WriteString(e.text)
		last = e.at
	}
	b.WriteString(s[last:])
	return b.String()
}

// position is the 1-based line and code-point column of a byte offset.
func (c *compilation) position(off int) (line, col int) {
	if off < 0 {
		return 0, 0
	}
	off = min(off, len(c.src))
	before := c.src[:off]
	line = 1 + strings.Count(before, "\n")
	col = 1 + utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:])
	return line, col
}

func (c *compilation) syntaxError(is *issue) *SyntaxError {
	line, col := c.position(is.off)
	return &SyntaxError{Line: line, Col: col, Message: is.msg}
}

// libraryIssue places an osteele/liquid compile error: the library gives the
// line and quotes the source of the offending tag ("… in {% if x %}"), which
// identifies the token and so the column.
func (c *compilation) libraryIssue(err parser.Error) *issue {
	msg := libraryPrefix.ReplaceAllString(err.Error(), "")
	line := err.LineNumber()
	found := -1
	for i, s := range c.segs {
		if s.tok.Type == parser.TextTokenType || !strings.HasSuffix(msg, " in "+s.tok.Source) {
			continue
		}
		if l, _ := c.position(s.off); found < 0 || l == line {
			found = i
			if l == line {
				break
			}
		}
	}
	off := -1
	if found >= 0 {
		s := c.segs[found]
		msg = strings.TrimSuffix(msg, " in "+s.tok.Source)
		off = s.off
	} else if line > 0 {
		off = lineStart(c.src, line)
	}
	return &issue{off, friendlier(msg)}
}

func lineStart(src string, line int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(src[off:], '\n')
		if i < 0 {
			return off
		}
		off += i + 1
	}
	return off
}

var (
	unterminatedBlock = regexp.MustCompile(`^unterminated "(\w+)" block$`)
	undefinedTag      = regexp.MustCompile(`^undefined tag "(\w+)"$`)
	strayEndTag       = regexp.MustCompile(`^end(\w+) not inside $`)
)

// friendlier rewords the library messages a template author meets most.
func friendlier(msg string) string {
	if m := unterminatedBlock.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("unclosed {%% %s %%}: add {%% end%s %%}", m[1], m[1])
	}
	if m := undefinedTag.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("unknown tag %q", m[1])
	}
	if m := strayEndTag.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("{%% end%s %%} without a matching {%% %s %%}", m[1], m[1])
	}
	return msg
}
