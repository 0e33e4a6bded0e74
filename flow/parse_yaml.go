package flow

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/smsflow/smsflow"
)

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
