package template

import (
	"strconv"
	"strings"
)

// The osteele/liquid AST keeps each {{ }} and {% %} as source text plus an
// opaque closure, so the structure Compile needs (which variable is printed,
// which filters follow it and where) comes from this small lexer. It mirrors
// the library's Ragel scanner (expressions/scanner.rl) for the tokens that
// matter here: strings without escapes, identifiers with '-' and a trailing
// '?', "name:" keywords, ".name" properties, numbers and "..".

type lexKind int

const (
	lexIdent    lexKind = iota // identifier, including the words and/or/contains/in/true/false/nil
	lexKeyword                 // identifier immediately followed by ':' (filter with parameters, loop modifier)
	lexProperty                // .name
	lexString                  // "…" or '…'
	lexNumber                  // -?digits(.digits)?
	lexDotDot                  // ..
	lexOp                      // == != >= <=
	lexPunct                   // any other single byte
)

// lexeme is one token of a Liquid expression; start and end are byte offsets
// in the lexed text. For keywords, text excludes the ':'.
type lexeme struct {
	kind       lexKind
	text       string
	start, end int
}

func (l lexeme) is(kind lexKind, text string) bool { return l.kind == kind && l.text == text }

// reservedWords lex as identifiers here but are operators or literals for the
// library, so they never name a variable.
var reservedWords = map[string]bool{
	"and": true, "or": true, "contains": true, "in": true,
	"true": true, "false": true, "nil": true,
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isWordByte(c byte) bool {
	return isAlpha(c) || isDigit(c) || c == '-'
}
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// lex splits a Liquid expression into lexemes.
func lex(s string) []lexeme {
	var out []lexeme
	for p := 0; p < len(s); {
		c := s[p]
		start := p
		switch {
		case isSpace(c):
			p++
			continue
		case c == '"' || c == '\'':
			if q := strings.IndexByte(s[p+1:], c); q >= 0 {
				p += q + 2
				out = append(out, lexeme{lexString, s[start+1 : p-1], start, p})
				continue
			}
			p++
			out = append(out, lexeme{lexPunct, s[start:p], start, p})
			continue
		case isDigit(c) || c == '-' && p+1 < len(s) && isDigit(s[p+1]):
			p++
			for p < len(s) && isDigit(s[p]) {
				p++
			}
			if p+1 < len(s) && s[p] == '.' && isDigit(s[p+1]) {
				p++
				for p < len(s) && isDigit(s[p]) {
					p++
				}
			}
			out = append(out, lexeme{lexNumber, s[start:p], start, p})
			continue
		case isAlpha(c):
			p = scanWord(s, p)
			if p < len(s) && s[p] == ':' {
				out = append(out, lexeme{lexKeyword, s[start:p], start, p + 1})
				p++
				continue
			}
			out = append(out, lexeme{lexIdent, s[start:p], start, p})
			continue
		case c == '.' && p+1 < len(s) && s[p+1] == '.':
			p += 2
			out = append(out, lexeme{lexDotDot, "..", start, p})
			continue
		case c == '.' && p+1 < len(s) && isAlpha(s[p+1]):
			p = scanWord(s, p+1)
			out = append(out, lexeme{lexProperty, s[start+1 : p], start, p})
			continue
		case p+1 < len(s) && s[p+1] == '=' && (c == '=' || c == '!' || c == '>' || c == '<'):
			p += 2
			out = append(out, lexeme{lexOp, s[start:p], start, p})
			continue
		}
		p++
		out = append(out, lexeme{lexPunct, s[start:p], start, p})
	}
	return out
}

// scanWord returns the end of the identifier that starts at p.
func scanWord(s string, p int) int {
	p++
	for p < len(s) && isWordByte(s[p]) {
		p++
	}
	if p < len(s) && s[p] == '?' {
		p++
	}
	return p
}

// filterUse is one `| name` or `| name: args` in an expression.
type filterUse struct {
	name       string
	start, end int  // the name lexeme (for a keyword, end is after the ':')
	keyword    bool // written with ':' (takes parameters)
	params     int  // number of parameters written
}

// expression is what the package knows about one Liquid expression.
type expression struct {
	lexemes []lexeme
	filters []filterUse
	// head is the variable an output starts with, when the expression is
	// a plain `path | filter …` chain; headOK says whether it is.
	head               string
	headStart, headEnd int
	headOK             bool
	headRoot           string
	rangeAt            int // offset of a ".." range operator, -1 if none
}

func analyze(s string) expression {
	e := expression{lexemes: lex(s), rangeAt: -1}
	lx := e.lexemes
	for i, l := range lx {
		switch {
		case l.kind == lexDotDot && e.rangeAt < 0:
			e.rangeAt = l.start
		case l.is(lexPunct, "|") && i+1 < len(lx) && (lx[i+1].kind == lexIdent || lx[i+1].kind == lexKeyword):
			n := lx[i+1]
			f := filterUse{name: n.text, start: n.start, end: n.end, keyword: n.kind == lexKeyword}
			if f.keyword {
				f.params = countParams(lx[i+2:])
			}
			e.filters = append(e.filters, f)
		}
	}
	e.head, e.headStart, e.headEnd, e.headOK = headPath(s, lx)
	if e.headOK {
		e.headRoot = lx[0].text
	}
	return e
}

// countParams counts the comma-separated parameters of a filter whose
// parameters start at lx[0], stopping at the next filter, a boolean operator,
// a loop modifier or a bracket that closes an enclosing group.
func countParams(lx []lexeme) int {
	n, depth := 0, 0
	for i, l := range lx {
		switch {
		case l.kind == lexPunct && (l.text == "(" || l.text == "["):
			depth++
		case l.kind == lexPunct && (l.text == ")" || l.text == "]"):
			if depth == 0 {
				return n
			}
			depth--
		case depth > 0:
		case l.is(lexPunct, "|"), l.is(lexIdent, "and"), l.is(lexIdent, "or"), l.kind == lexKeyword:
			return n
		case l.is(lexPunct, ","):
			n++
			continue
		}
		if i == 0 {
			n = 1
		}
	}
	return n
}

// headPath reads the variable path an expression starts with
// ("contact.traits.first_name", `event.properties["order id"]`) and whether
// the rest of the expression is only a filter chain.
func headPath(s string, lx []lexeme) (path string, start, end int, ok bool) {
	if len(lx) == 0 || lx[0].kind != lexIdent || reservedWords[lx[0].text] {
		return "", 0, 0, false
	}
	var b strings.Builder
	b.WriteString(lx[0].text)
	start, end = lx[0].start, lx[0].end
	i := 1
	for i < len(lx) {
		l := lx[i]
		if l.kind == lexProperty {
			b.WriteString("." + l.text)
			end = l.end
			i++
			continue
		}
		if !l.is(lexPunct, "[") {
			break
		}
		depth, j := 0, i
		for ; j < len(lx); j++ {
			if lx[j].is(lexPunct, "[") {
				depth++
			} else if lx[j].is(lexPunct, "]") {
				depth--
				if depth == 0 {
					break
				}
			}
		}
		if j == len(lx) {
			return "", 0, 0, false
		}
		inner := lx[i+1 : j]
		switch {
		case len(inner) == 1 && inner[0].kind == lexString && isPlainKey(inner[0].text):
			b.WriteString("." + inner[0].text)
		case len(inner) == 1 && inner[0].kind == lexString:
			b.WriteString("[" + strconv.Quote(inner[0].text) + "]")
		default:
			b.WriteString(s[l.start:lx[j].end])
		}
		end = lx[j].end
		i = j + 1
	}
	if i < len(lx) && !lx[i].is(lexPunct, "|") {
		return "", 0, 0, false
	}
	return b.String(), start, end, true
}

func isPlainKey(k string) bool {
	if k == "" || !isAlpha(k[0]) {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !isWordByte(k[i]) {
			return false
		}
	}
	return true
}
