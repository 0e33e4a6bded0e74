package engine

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/sms/segments"
	"github.com/smsflow/smsflow/sms/template"
)

// TemplateScope is what a send's template can read (contactCtx.scopeWith):
// a variable or field outside it renders nothing (or the fallback) for every
// contact, so the validator refuses it. contact.traits and the properties
// and context of events are free-form.
var TemplateScope = flow.Shape{
	"contact": {"id": nil, "phone": nil, "timezone": nil, "traits": nil},
	"event":   flow.EventShape,
	"reply":   {"text": nil},
	"waited":  {"event": flow.EventShape},
	"brand":   {"name": nil, "help": nil},
	"flow":    {"id": nil, "name": nil},
	"now":     nil,
}

// CheckTemplate reports Liquid syntax errors of a send template and the
// variables and fields it reads that are not in TemplateScope, positioned
// inside the template, for the flow validator, and warns about what makes a
// text cost more or fail: a variable without a fallback, more than 3
// segments with sample data, a single character forcing UCS-2.
func CheckTemplate(src string) []flow.TemplateProblem {
	t, err := template.Compile(src)
	if err != nil {
		p := flow.TemplateProblem{Severity: flow.SeverityError, Message: err.Error()}
		if se, ok := err.(*template.SyntaxError); ok {
			p.Line, p.Col, p.Message = se.Line, se.Col, se.Message
		}
		return []flow.TemplateProblem{p}
	}
	var out []flow.TemplateProblem
	unknown := map[[2]int]bool{} // where a reference with an unknown name starts
	for _, r := range t.References() {
		if bad, msg := TemplateScope.Check(r.Names); bad >= 0 {
			out = append(out, flow.TemplateProblem{Line: r.Lines[bad], Col: r.Cols[bad], Severity: flow.SeverityError, Message: msg})
			unknown[[2]int{r.Lines[0], r.Cols[0]}] = true
		}
	}
	warn := func(line, col int, format string, args ...any) {
		out = append(out, flow.TemplateProblem{Line: line, Col: col, Severity: flow.SeverityWarning, Message: fmt.Sprintf(format, args...)})
	}
	for _, v := range t.Variables() {
		if !v.HasFallback && !alwaysPresent(v.Path) && !unknown[[2]int{v.Line, v.Col}] {
			warn(v.Line, v.Col, "%s has no fallback: a contact without it would not get this text; add | default: \"…\"", v.Path)
		}
	}
	body, err := t.Render(template.SampleScope(), sampleLinks{})
	if err != nil {
		return out
	}
	info := segments.Measure(body)
	if info.Segments > 3 {
		warn(1, 1, "renders to %d segments with sample data (%d characters, %s); each segment is billed — keep texts to 3 or fewer", info.Segments, info.Characters, info.Encoding)
	}
	if info.Encoding == segments.UCS2 && len(info.NonGSM) == 1 {
		ch := info.NonGSM[0].Char
		gsm := segments.Measure(strings.Replace(body, ch, "", 1))
		line, col := positionOf(src, ch)
		if info.Segments > gsm.Segments {
			warn(line, col, "the single character %q forces UCS-2: %s instead of %d; replace it (or turn on smart_encoding)", ch, segmentCount(info.Segments), gsm.Segments)
		} else { // one segment either way (UCS-2 never needs fewer), but less room for the values filled in
			warn(line, col, "the single character %q forces UCS-2 (70 characters per segment instead of 160); replace it (or turn on smart_encoding)", ch)
		}
	}
	return out
}

// segmentCount says "1 segment", "2 segments".
func segmentCount(n int) string {
	if n == 1 {
		return "1 segment"
	}
	return fmt.Sprintf("%d segments", n)
}

// alwaysPresent says whether a template variable always has a value.
func alwaysPresent(path string) bool {
	switch {
	case strings.HasPrefix(path, "brand."), strings.HasPrefix(path, "flow."), path == "now",
		path == "contact.id", path == "contact.phone", path == "contact.timezone":
		return true
	}
	return false
}

// positionOf finds the 1-based line and column of s in src (1:1 if absent).
func positionOf(src, s string) (int, int) {
	i := strings.Index(src, s)
	if i < 0 {
		return 1, 1
	}
	line := strings.Count(src[:i], "\n") + 1
	col := utf8.RuneCountInString(src[strings.LastIndex(src[:i], "\n")+1:i]) + 1
	return line, col
}

// sampleLinks shortens links as the real tracker would (same length).
type sampleLinks struct{}

func (sampleLinks) Track(string) (string, error) { return "https://sms.example/l/AbC2dE3", nil }
