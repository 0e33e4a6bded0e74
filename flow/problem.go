package flow

import (
	"fmt"
	"slices"
	"strings"

	"github.com/smsflow/smsflow"
)

// MaxFileSize is the largest flow file accepted, in bytes.
const MaxFileSize = 256 << 10

// Severity says whether a problem makes a flow invalid.
type Severity string

// Severities.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Problem is one finding of validation, at a position of a flow file.
// Line and Col are 1-based (Col counts characters); both are 0 when the
// problem is about the file as a whole (it cannot be read).
type Problem struct {
	File     string
	Line     int
	Col      int
	Severity Severity
	Message  string
}

// String formats the problem the way `smsflow validate` prints it:
// "file:line:col: message", with "warning: " before the message of a warning.
func (p Problem) String() string {
	msg := p.Message
	if p.Severity == SeverityWarning {
		msg = "warning: " + msg
	}
	if p.Line <= 0 {
		return p.File + ": " + msg
	}
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, msg)
}

// TemplateProblem is a problem found in a message template, positioned
// relative to the template text (1-based line and character column; 0 when
// unknown). Parse moves it onto the flow file.
type TemplateProblem struct {
	Line, Col int
	Severity  Severity
	Message   string
}

// Options tune Parse and ValidateFiles.
type Options struct {
	// CheckTemplate checks one send template (Liquid syntax, segment count,
	// encoding, fallbacks) and returns its problems; nil skips template checks.
	CheckTemplate func(src string) []TemplateProblem
	// CheckFrom checks a send step's from: against the configured senders
	// and says why it is refused ("" when it names one); nil accepts any.
	CheckFrom func(from string) string
	// CheckNames refuses a CEL expression that reads a variable's field
	// that cannot exist (contact.trait, reply.txt; see CELScope); the
	// free-form parts (contact.traits, event.properties, event.context)
	// stay free. Off for stored versions, which compile as they were
	// accepted.
	CheckNames bool
}

// HasErrors reports whether any problem is an error (not a warning).
func HasErrors(problems []Problem) bool {
	return slices.ContainsFunc(problems, func(p Problem) bool { return p.Severity != SeverityWarning })
}

// ProblemsError returns nil when problems hold no error, else an
// *smsflow.Error (EINVALID) whose message lists the errors one per line, for
// the HTTP API.
func ProblemsError(problems []Problem) error {
	var lines []string
	for _, p := range problems {
		if p.Severity != SeverityWarning {
			lines = append(lines, p.String())
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return smsflow.Errorf(smsflow.EINVALID, "%s", strings.Join(lines, "\n"))
}

func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Col - b.Col
	})
}

// suggest returns the option closest to word when it is close enough to be
// a likely typo, else "".
func suggest(word string, options []string) string {
	if len(options) > maxSuggestOptions {
		return ""
	}
	best, bestD := "", 3
	lw := strings.ToLower(word)
	for _, o := range options {
		if o == word || abs(len(o)-len(word)) >= bestD {
			continue
		}
		d := editDistance(lw, strings.ToLower(o))
		if d < bestD && d*3 <= len([]rune(o))+1 {
			best, bestD = o, d
		}
	}
	return best
}

// maxSuggestOptions bounds the work of one suggestion.
const maxSuggestOptions = 500

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// didYouMean returns "; did you mean \"x\"?" or "".
func didYouMean(word string, options []string) string {
	if s := suggest(word, options); s != "" {
		return fmt.Sprintf("; did you mean %q?", s)
	}
	return ""
}

// editDistance is the optimal-string-alignment distance (Levenshtein plus
// adjacent transpositions), so "wiat" is one edit from "wait".
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return 99
	}
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range rb {
		d[0][j+1] = j + 1
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

func quoteList[T ~string](xs []T) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = string(x)
	}
	if len(parts) <= 1 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

// Suggest returns the option closest to word when it is close enough to be
// a likely typo ("nam" → "name"), else "": the one "did you mean" rule of
// flow files and the configuration.
func Suggest(word string, options []string) string { return suggest(word, options) }
