package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/smsflow/smsflow/flow"
	"gopkg.in/yaml.v3"
)

// position is where a key or value was written: 1-based line and column.
type position struct{ line, col int }

// origin records where a configuration's keys were set: the file (with
// each key's position) or the environment (with the variable). It tells a
// key left at its default from one written (Senders) and places problems
// (Locate). It is written only while loading.
type origin struct {
	file string
	keys map[string]position // "brand.name", "caps[0].per" → where the key is in file
	env  map[string]string   // key → the SMSFLOW_* variable that set it
}

// written reports whether the file or the environment set key.
func (c Config) written(key string) bool {
	if c.src == nil {
		return false
	}
	_, inFile := c.src.keys[key]
	_, inEnv := c.src.env[key]
	return inFile || inEnv
}

// named is key for messages, with the variable that set it when it came
// from the environment: "twilio.from (SMSFLOW_TWILIO_FROM)".
func (c Config) named(key string) string {
	if c.src != nil && c.src.env[key] != "" {
		return key + " (" + c.src.env[key] + ")"
	}
	return key
}

// source returns c's origin, creating it.
func (c *Config) source() *origin {
	if c.src == nil {
		c.src = &origin{keys: map[string]position{}, env: map[string]string{}}
	}
	return c.src
}

// maxNodes bounds the work of checking one file, YAML aliases expanded: far
// above any real configuration, far below what a "billion laughs" file
// expands to.
const maxNodes = 100_000

// decode checks the YAML document b against the keys and types of Config —
// every problem at its line and column, with the nearest key suggested for
// an unknown one, in words rather than Go types — and, when there is none,
// decodes it into cfg. file names the file in problems.
func decode(file string, b []byte, cfg *Config) error {
	src := cfg.source()
	src.file = file
	at := func(line, col int, format string, args ...any) Problems {
		return Problems{{File: file, Line: line, Col: col, Message: fmt.Sprintf(format, args...)}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file: the defaults
		}
		return syntaxProblem(file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return at(extra.Line, 1, "a configuration file holds one YAML document: remove the second one (after ---)")
	} else if !errors.Is(err, io.EOF) {
		return syntaxProblem(file, err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	w := &walker{file: file, keys: src.keys}
	w.value(doc.Content[0], reflect.TypeOf(Config{}), "")
	if len(w.problems) > 0 {
		w.problems.Sort()
		return w.problems
	}
	if err := doc.Decode(cfg); err != nil {
		// The walk above accepts only what decodes; should yaml.v3 still
		// refuse, say where without its Go type names.
		return at(errorLine(err), 1, "this value does not fit its key (%s)", goTypes.ReplaceAllString(err.Error(), "a value"))
	}
	return nil
}

// yamlLine finds "line N" in a yaml.v3 error.
var (
	yamlLine = regexp.MustCompile(`line (\d+)`)
	goTypes  = regexp.MustCompile(`(into|in type) \S+`)
)

func errorLine(err error) int {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// syntaxProblem is a YAML syntax error at its line (yaml.v3 gives no
// column).
func syntaxProblem(file string, err error) Problems {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := regexp.MustCompile(`^line (\d+): (.*)$`).FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	col := 0
	if line > 0 {
		col = 1
	}
	return Problems{{File: file, Line: line, Col: col, Message: "YAML syntax error: " + msg}}
}

// walker checks a YAML node tree against a Go type through its yaml tags,
// recording the position of every key it meets.
type walker struct {
	file     string
	keys     map[string]position
	problems Problems
	nodes    int
}

func (w *walker) report(n *yaml.Node, key, format string, args ...any) {
	if len(w.problems) < 100 {
		w.problems = append(w.problems, Problem{File: w.file, Line: n.Line, Col: n.Column, Key: key, Message: fmt.Sprintf(format, args...)})
	}
}

// value checks node n, written for key (a path like "twilio.senders[0]"),
// against type t.
func (w *walker) value(n *yaml.Node, t reflect.Type, key string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if w.nodes++; w.nodes > maxNodes {
		if w.nodes == maxNodes+1 {
			w.report(n, key, "the file expands to more than %d values (YAML aliases?); write a plain configuration", maxNodes)
		}
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // an empty value: the default
	}
	what := key
	if what == "" {
		what = "the configuration"
	}
	switch t.Kind() {
	case reflect.Pointer:
		w.value(n, t.Elem(), key)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			w.report(n, key, "%s must be a section of key: value lines (%s), not %s", what, keyList(t), describe(n))
			return
		}
		w.mapping(n, key, func(k *yaml.Node, v *yaml.Node) {
			f, ok := fieldByTag(t, k.Value)
			if !ok {
				w.unknownKey(k, t, key)
				return
			}
			child := join(key, k.Value)
			w.keys[child] = position{k.Line, k.Column}
			w.value(v, f.Type, child)
		})
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			w.report(n, key, "%s must be a mapping of key: value lines, not %s", what, describe(n))
			return
		}
		w.mapping(n, key, func(k *yaml.Node, v *yaml.Node) {
			child := join(key, k.Value)
			w.keys[child] = position{k.Line, k.Column}
			w.value(v, t.Elem(), child)
		})
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.report(n, key, "%s must be a list (lines starting with \"- \", or [a, b]), not %s", what, describe(n))
			return
		}
		for i, item := range n.Content {
			child := fmt.Sprintf("%s[%d]", key, i)
			w.keys[child] = position{item.Line, item.Column}
			w.value(item, t.Elem(), child)
		}
	default:
		if n.Kind != yaml.ScalarNode {
			w.report(n, key, "%s must be a single value, not %s", what, describe(n))
			return
		}
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			switch t.Kind() {
			case reflect.Bool:
				w.report(n, key, "%s must be true or false, not %s", what, describe(n))
			case reflect.Int, reflect.Int64, reflect.Int32:
				w.report(n, key, "%s must be a whole number, not %s", what, describe(n))
			default:
				w.report(n, key, "%s must be text, not %s", what, describe(n))
			}
		}
	}
}

// mapping calls fn for each key and value of mapping n, reporting keys that
// are not plain words or appear twice, and following YAML merge keys (<<):
// a merged key counts unless the mapping has its own.
func (w *walker) mapping(n *yaml.Node, key string, fn func(k, v *yaml.Node)) {
	seen := map[string]*yaml.Node{}
	var merged []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "" || k.ShortTag() == "!!merge") {
			merged = append(merged, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			w.report(k, key, "a key in %s must be a plain word, not %s", orTop(key), describe(k))
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			w.report(k, join(key, k.Value), "`%s` appears twice in %s (first at line %d); keep one", k.Value, orTop(key), prev.Line)
			continue
		}
		seen[k.Value] = k
		fn(k, v)
	}
	// Merged mappings, as yaml.v3 reads them: the first one given wins.
	for depth := 0; len(merged) > 0 && depth < 8; depth++ {
		var next []*yaml.Node
		for _, v := range merged {
			for v.Kind == yaml.AliasNode && v.Alias != nil {
				v = v.Alias
			}
			list := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				list = v.Content
			}
			for _, m := range list {
				for m.Kind == yaml.AliasNode && m.Alias != nil {
					m = m.Alias
				}
				if m.Kind != yaml.MappingNode {
					continue
				}
				for i := 0; i+1 < len(m.Content); i += 2 {
					k, v := m.Content[i], m.Content[i+1]
					switch {
					case k.Kind == yaml.ScalarNode && k.Value == "<<":
						next = append(next, v)
					case k.Kind != yaml.ScalarNode || seen[k.Value] != nil:
					default:
						seen[k.Value] = k
						fn(k, v)
					}
				}
			}
		}
		merged = next
	}
}

// unknownKey reports key k, not one of struct t's, in section key.
func (w *walker) unknownKey(k *yaml.Node, t reflect.Type, key string) {
	keys := tags(t)
	in := ""
	if key != "" {
		in = " in " + key
	}
	if s := flow.Suggest(k.Value, keys); s != "" {
		w.report(k, join(key, k.Value), "unknown key `%s`%s (did you mean `%s`?)", k.Value, in, s)
		return
	}
	w.report(k, join(key, k.Value), "unknown key `%s`%s; the keys%s are %s", k.Value, in, in, keyList(t))
}

// orTop names a section in messages.
func orTop(key string) string {
	if key == "" {
		return "the configuration"
	}
	return key
}

func join(key, child string) string {
	if key == "" {
		return child
	}
	return key + "." + child
}

// describe names a node's value for messages, never a Go type.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	v := n.Value
	if r := []rune(v); len(r) > 40 {
		v = string(r[:40]) + "…"
	}
	return strconv.Quote(v)
}

// fieldByTag finds the field of struct t whose yaml tag is name.
func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		if tagName(t.Field(i)) == name {
			return t.Field(i), true
		}
	}
	return reflect.StructField{}, false
}

// tags are the yaml keys of struct t, in declaration order.
func tags(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if name := tagName(t.Field(i)); name != "" {
			out = append(out, name)
		}
	}
	return out
}

func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// keyList writes the keys of struct t for people: "name, help and footer".
func keyList(t reflect.Type) string {
	keys := tags(t)
	if len(keys) < 2 {
		return strings.Join(keys, "")
	}
	return strings.Join(keys[:len(keys)-1], ", ") + " and " + keys[len(keys)-1]
}

// Keys are the top-level keys of a configuration file.
func Keys() []string { return tags(reflect.TypeOf(Config{})) }

// LooksLikeConfig reports whether a YAML file is a configuration rather
// than a flow, by its content: its top level is a mapping with more
// configuration keys (provider, brand, quiet_hours, …) than flow keys (id,
// category, trigger, steps, …). Keys of neither kind — typos — do not count,
// so a configuration with a mistyped key is still recognized and its typo
// reported as such.
func LooksLikeConfig(src []byte) bool {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return false
	}
	cfgKeys, flowKeys := map[string]bool{}, map[string]bool{}
	for _, k := range Keys() {
		cfgKeys[k] = true
	}
	for _, k := range flow.Keys() {
		flowKeys[k] = true
	}
	score := 0
	top := doc.Content[0].Content
	for i := 0; i+1 < len(top); i += 2 {
		switch k := top[i].Value; {
		case cfgKeys[k]:
			score++
		case flowKeys[k]:
			score--
		}
	}
	return score > 0
}
