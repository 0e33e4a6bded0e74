package config

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/smsflow/smsflow"
)

// Problem is one thing wrong with a configuration, placed where the person
// who wrote it can find it: the file, line and column of the key (or the
// value) it is about, or the SMSFLOW_* variable that set the value.
type Problem struct {
	// File is the configuration file; "" when the value came from no file.
	File string
	// Line and Col (1-based, Col in characters) locate the key or value in
	// File; 0 when the key is not in the file (a missing key, a default).
	Line, Col int
	// Env is the environment variable that set the value, "" when none.
	Env string
	// Key is the key it is about ("brand.name", "caps[0].per"), "" when it
	// is about the file as a whole.
	Key string
	// Message says what is wrong and what to write instead; it names the
	// key.
	Message string
}

// String is the problem as the commands print it: "file:line:col: message",
// "file: message" without a position, "environment SMSFLOW_X: message" for
// a value from the environment.
func (p Problem) String() string {
	switch {
	case p.Env != "":
		return "environment " + p.Env + ": " + p.Message
	case p.File != "" && p.Line > 0:
		return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Message)
	case p.File != "":
		return p.File + ": " + p.Message
	}
	return "configuration: " + p.Message
}

// Problems are every problem one check of a configuration found, in the
// order of the file. As an error it lists them one per line.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Sort orders the problems as a reader meets them: by file, line and
// column; the environment's and those without a position after the file's.
func (ps Problems) Sort() {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if (a.Line == 0) != (b.Line == 0) {
			return cmp.Compare(b.Line, a.Line) // the one with a line first
		}
		return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
}

// OrNil is ps as an error: nil when there are none (a nil Problems in an
// error interface is not a nil error).
func (ps Problems) OrNil() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// Unwrap is the problems as an invalid-input *smsflow.Error, so
// smsflow.ErrorCode reports them as EINVALID wherever they surface.
func (ps Problems) Unwrap() error {
	return smsflow.Errorf(smsflow.EINVALID, "%s", ps.Error())
}

// Locate places an error about this configuration: every *smsflow.Error in
// it (a joined error holds several) becomes a Problem at the key its Field
// names — the environment variable when the value came from there, else the
// key's position in the file, else its section's — with the key named in
// the message. Problems pass through; any other error becomes a Problem at
// the file. nil stays nil.
func (c Config) Locate(err error) Problems {
	if err == nil {
		return nil
	}
	var out Problems
	for _, e := range flatten(err) {
		var ps Problems
		if errors.As(e, &ps) {
			out = append(out, ps...)
			continue
		}
		out = append(out, c.problem(smsflow.ErrorField(e), message(e)))
	}
	return out
}

// flatten lists the errors a joined error holds, recursively.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// message is an error's words for people: an *smsflow.Error's message
// without its code and field suffix.
func message(err error) string {
	var e *smsflow.Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return err.Error()
}

// problem places a message about key (see Locate).
func (c Config) problem(key, msg string) Problem {
	p := Problem{Key: key, Message: msg}
	if key != "" && !strings.Contains(msg, key) {
		p.Message = key + ": " + msg
	}
	if c.src == nil {
		return p
	}
	p.File = c.src.file
	if key == "" {
		return p
	}
	if v, ok := c.src.env[key]; ok {
		p.Env, p.File = v, ""
		return p
	}
	// The key itself, else the closest section written: a missing key is
	// reported at the section that lacks it.
	for k := key; k != ""; k = parent(k) {
		if pos, ok := c.src.keys[k]; ok {
			p.Line, p.Col = pos.line, pos.col
			break
		}
	}
	return p
}

// parent is the key of the section holding key: "caps[0]" for
// "caps[0].per", "caps" for "caps[0]", "" for a top-level key.
func parent(key string) string {
	i := strings.LastIndexAny(key, ".[")
	if i < 0 {
		return ""
	}
	return key[:i]
}
