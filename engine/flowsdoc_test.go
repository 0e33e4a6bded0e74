package engine

// The flow-language reference, docs/flows.md, is checked here against the
// code so that it cannot drift: every key the parser accepts, every kind of
// trigger, step and wait, every CEL variable, field, function and macro and
// every Liquid filter and template variable must have its row in the
// document's tables — and every row must name something the code has. The
// examples are checked too: each YAML flow (or fragment of one) and each
// key's one-line example passes validation with no problem, each expected
// `smsflow validate` output is what validation prints, each CEL and Liquid
// example gives the result the table shows for the sample contact.
//
// A table is tied to what it documents by an HTML comment on the line
// before it (invisible on GitHub): <!-- keys: trigger -->, <!-- kinds: step -->,
// <!-- cel: functions -->, <!-- liquid: filters --> … (see the checks below).

import (
	"bufio"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/sms/template"
)

const flowsDocPath = "../docs/flows.md"

// docTable is one Markdown table of the document with the marker before it.
type docTable struct {
	marker string // "keys: trigger"
	line   int    // of the header row
	header []string
	rows   []docRow
}

type docRow struct {
	line  int
	cells []string // unescaped (\| → |), trimmed
}

// docBlock is one fenced code block.
type docBlock struct {
	marker string // the marker on the line before the fence, if any
	lang   string
	line   int // of the first line of content
	text   string
}

type flowsDoc struct {
	tables []docTable
	blocks []docBlock
}

var markerPattern = regexp.MustCompile(`^<!--\s*(.+?)\s*-->$`)

func readFlowsDoc(t *testing.T) flowsDoc {
	t.Helper()
	f, err := os.Open(flowsDocPath)
	if err != nil {
		t.Fatalf("the flow-language reference: %v", err)
	}
	defer f.Close()
	var doc flowsDoc
	var marker string // pending marker
	var block *docBlock
	var table *docTable
	var body []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if block != nil {
			if strings.HasPrefix(line, "```") {
				block.text = strings.Join(body, "\n") + "\n"
				doc.blocks = append(doc.blocks, *block)
				block, body = nil, nil
				continue
			}
			body = append(body, line)
			continue
		}
		trimmed := strings.TrimSpace(line)
		if table != nil && !strings.HasPrefix(trimmed, "|") {
			doc.tables = append(doc.tables, *table)
			table = nil
		}
		switch {
		case strings.HasPrefix(line, "```"):
			block = &docBlock{marker: marker, lang: strings.TrimSpace(strings.TrimPrefix(line, "```")), line: n + 1}
			marker = ""
		case strings.HasPrefix(trimmed, "|"):
			cells := splitRow(trimmed)
			switch {
			case table == nil:
				table = &docTable{marker: marker, line: n, header: cells}
				marker = ""
			case isSeparator(cells):
			default:
				table.rows = append(table.rows, docRow{line: n, cells: cells})
			}
		case markerPattern.MatchString(trimmed):
			marker = markerPattern.FindStringSubmatch(trimmed)[1]
		case trimmed != "" && marker != "":
			t.Errorf("%s:%d: the marker <!-- %s --> must be followed by its table or code block", flowsDocPath, n-1, marker)
			marker = ""
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if table != nil {
		doc.tables = append(doc.tables, *table)
	}
	if block != nil {
		t.Fatalf("%s:%d: code block not closed", flowsDocPath, block.line)
	}
	return doc
}

// splitRow splits a table row on the pipes that are not escaped.
func splitRow(row string) []string {
	row = strings.TrimPrefix(strings.TrimSuffix(row, "|"), "|")
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(row); i++ {
		switch {
		case row[i] == '\\' && i+1 < len(row) && row[i+1] == '|':
			cur.WriteByte('|')
			i++
		case row[i] == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(row[i])
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

func isSeparator(cells []string) bool {
	for _, c := range cells {
		if strings.Trim(c, ":- ") != "" {
			return false
		}
	}
	return true
}

var codeSpan = regexp.MustCompile("`([^`]+)`")

// spans returns the code spans of a cell.
func spans(cell string) []string {
	var out []string
	for _, m := range codeSpan.FindAllStringSubmatch(cell, -1) {
		out = append(out, m[1])
	}
	return out
}

// table returns the table with the marker; a missing one fails the test.
func (d flowsDoc) table(t *testing.T, marker string) docTable {
	t.Helper()
	for _, tb := range d.tables {
		if tb.marker == marker {
			return tb
		}
	}
	t.Fatalf("%s has no table marked <!-- %s -->", flowsDocPath, marker)
	return docTable{}
}

// names returns the first code span of each row's first cell, checking
// that every row fills every column.
func (tb docTable) names(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, r := range tb.rows {
		if len(r.cells) != len(tb.header) {
			t.Errorf("%s:%d: the row has %d cells, the table %d columns", flowsDocPath, r.line, len(r.cells), len(tb.header))
			continue
		}
		for i, c := range r.cells {
			if c == "" {
				t.Errorf("%s:%d: the column %q is empty", flowsDocPath, r.line, tb.header[i])
			}
		}
		s := spans(r.cells[0])
		if len(s) == 0 {
			t.Errorf("%s:%d: the first cell must name the thing in backticks", flowsDocPath, r.line)
			continue
		}
		out = append(out, s[0])
	}
	return out
}

// sameNames reports, both ways, what the code has and the table does not
// document, and what the table documents that the code does not have.
func sameNames(t *testing.T, tb docTable, what string, code []string) {
	t.Helper()
	documented := tb.names(t)
	seen := map[string]int{}
	for _, n := range documented {
		seen[n]++
		if seen[n] == 2 {
			t.Errorf("%s:%d (<!-- %s -->): %q is documented twice", flowsDocPath, tb.line, tb.marker, n)
		}
	}
	for _, n := range code {
		if seen[n] == 0 {
			t.Errorf("%s:%d (<!-- %s -->): the code has %s %q, which the table does not document: add a row", flowsDocPath, tb.line, tb.marker, what, n)
		}
	}
	for _, n := range documented {
		if !slices.Contains(code, n) {
			t.Errorf("%s:%d (<!-- %s -->): the table documents %s %q, which the code does not have", flowsDocPath, tb.line, tb.marker, what, n)
		}
	}
}

func TestFlowsDocKeysAndKinds(t *testing.T) {
	doc := readFlowsDoc(t)
	lang := flow.DescribeLanguage()
	for _, mapping := range slices.Sorted(maps.Keys(lang.Keys)) {
		sameNames(t, doc.table(t, "keys: "+mapping), "the key of "+mapping, lang.Keys[mapping])
	}
	sameNames(t, doc.table(t, "kinds: trigger"), "trigger kind", lang.TriggerKinds)
	sameNames(t, doc.table(t, "kinds: step"), "step kind", lang.StepKinds)
	sameNames(t, doc.table(t, "kinds: wait"), "wait kind", lang.WaitKinds)
	sameNames(t, doc.table(t, "values: every"), "date every", lang.DateEvery)
	sameNames(t, doc.table(t, "values: category"), "category", lang.Categories)
	for _, tb := range doc.tables {
		if strings.HasPrefix(tb.marker, "keys: ") && len(tb.header) < 5 {
			t.Errorf("%s:%d: a key table has the columns key, type, default, meaning and example", flowsDocPath, tb.line)
		}
	}
}

// sampleNow is the sample's clock: template.SampleScope's.
var sampleNow = template.SampleScope().Now

// sampleHistory is the sample contact's event history, as the reference
// describes it: two orders and the checkout that triggered the run.
var sampleHistory = []struct {
	name string
	at   time.Time
}{
	{"Order Completed", time.Date(2025, 1, 20, 19, 0, 0, 0, time.UTC)},
	{"Order Completed", time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)},
	{"Checkout Started", sampleNow.Add(-time.Hour)},
}

// sampleFacts answers the flow functions for the sample: the history above
// (read up to now, as the store does), and a run whose step reminder's
// message was delivered and clicked and that got a reply.
type sampleFacts struct{}

func (sampleFacts) Count(name string, window time.Duration) int {
	n := 0
	for _, e := range sampleHistory {
		if e.name == name && !e.at.Before(sampleNow.Add(-window)) && !e.at.After(sampleNow) {
			n++
		}
	}
	return n
}

func (sampleFacts) Last(name string) (time.Time, bool) {
	var last time.Time
	for _, e := range sampleHistory {
		if e.name == name && e.at.After(last) && !e.at.After(sampleNow) {
			last = e.at
		}
	}
	return last, !last.IsZero()
}

func (sampleFacts) Clicked(step string) bool   { return step == "reminder" }
func (sampleFacts) Delivered(step string) bool { return step == "reminder" }
func (sampleFacts) Replied() bool              { return true }

// sampleContact is the sample contact of template.SampleScope as the engine
// holds it.
func sampleContact() *smsflow.Contact {
	s := template.SampleScope()
	return &smsflow.Contact{
		ID: s.Contact["id"].(string), Phone: s.Contact["phone"].(string),
		Timezone: s.Contact["timezone"].(string), Timezones: []string{"America/Los_Angeles"}, TimezoneSource: "number",
		Traits: s.Contact["traits"].(map[string]any), CreatedAt: time.Date(2024, 11, 2, 9, 15, 0, 0, time.UTC),
	}
}

// sampleRun is a run of the sample contact triggered by the sample's
// Checkout Started, after a reply wait answered "YES".
func sampleRun() *smsflow.Run {
	s := template.SampleScope()
	trigger := &smsflow.Event{Type: smsflow.EventTrack, Name: s.Event["name"].(string), ContactID: "user-1842", MessageID: "msg-7f3a",
		Properties: s.Event["properties"].(map[string]any), Timestamp: s.Event["timestamp"].(time.Time)}
	reply := &smsflow.Event{Type: smsflow.EventInbound, Name: smsflow.EventMessageReplied, ContactID: "user-1842", MessageID: "mo-88",
		Properties: map[string]any{"text": "YES", "message_id": 88}, Timestamp: sampleNow.Add(-10 * time.Minute)}
	return &smsflow.Run{ID: 1, FlowID: "cart-recovery", ContactID: "user-1842", EnteredAt: trigger.Timestamp,
		State: smsflow.RunState{Trigger: trigger, Waited: reply, Reply: "YES"}}
}

func sampleCtx() *contactCtx {
	return &contactCtx{e: &Engine{cfg: Config{Brand: template.SampleScope().Brand}}, contact: sampleContact(),
		consent: smsflow.ConsentSubscribed, now: sampleNow}
}

// celResult writes an expression's value the way the reference's result
// column does.
func celResult(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(v)
	case float64:
		s := strconv.FormatFloat(v, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	case uint64:
		return strconv.FormatUint(v, 10) + "u"
	case time.Time:
		return fmt.Sprintf("timestamp(%q)", v.UTC().Format(time.RFC3339))
	case time.Duration:
		switch {
		case v%time.Hour == 0:
			return fmt.Sprintf("duration(%q)", fmt.Sprintf("%dh", v/time.Hour))
		case v%time.Minute == 0:
			return fmt.Sprintf("duration(%q)", fmt.Sprintf("%dm", v/time.Minute))
		}
		return fmt.Sprintf("duration(%q)", v.String())
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = celResult(x)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(v)) {
			parts = append(parts, strconv.Quote(k)+": "+celResult(v[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

// checkCELExamples evaluates the example of each row (column ex) for the
// sample and compares it with the result column (ex+1); "error" means the
// evaluation must fail (and so fail closed).
func checkCELExamples(t *testing.T, tb docTable, ex int) {
	t.Helper()
	cc := sampleCtx()
	vars := cc.vars(sampleRun(), nil)
	vars.TimedOut = false
	for _, r := range tb.rows {
		if len(r.cells) <= ex+1 {
			continue
		}
		examples, results := spans(r.cells[ex]), spans(r.cells[ex+1])
		if len(examples) == 0 || len(examples) != len(results) {
			t.Errorf("%s:%d: give each example (in backticks) its result (in backticks): %d examples, %d results", flowsDocPath, r.line, len(examples), len(results))
			continue
		}
		for i, src := range examples {
			e, err := flow.Compile(src)
			if err != nil {
				t.Errorf("%s:%d: the example %s does not compile: %v", flowsDocPath, r.line, src, err)
				continue
			}
			v, err := flow.EvalValue(e, vars, sampleFacts{})
			got := celResult(v)
			if err != nil {
				got = "error"
			}
			if got != results[i] {
				t.Errorf("%s:%d: %s gives %s for the sample (err %v), the table says %s", flowsDocPath, r.line, src, got, err, results[i])
			}
		}
	}
}

func TestFlowsDocCEL(t *testing.T) {
	doc := readFlowsDoc(t)
	lang := flow.DescribeLanguage()
	sameNames(t, doc.table(t, "cel: variables"), "the CEL variable", lang.CELVariables)
	sameNames(t, doc.table(t, "cel: macros"), "the CEL macro", lang.CELMacros)
	checkCELExamples(t, doc.table(t, "cel: macros"), 3)

	// Fields: contact and event from the flow package, reply and waited
	// as the engine fills them after a wait.
	var fields []string
	for _, f := range lang.ContactFields {
		fields = append(fields, "contact."+f)
	}
	for _, f := range lang.EventFields {
		fields = append(fields, "event."+f)
	}
	vars := sampleCtx().vars(sampleRun(), nil)
	for root, m := range map[string]map[string]any{"waited": vars.Waited, "reply": vars.Reply} {
		for k := range m {
			fields = append(fields, root+"."+k)
		}
	}
	sameNames(t, doc.table(t, "cel: fields"), "the CEL field", fields)

	fns := doc.table(t, "cel: functions")
	sameNames(t, fns, "the CEL function", slices.Collect(maps.Keys(lang.CELFunctions)))
	for _, r := range fns.rows {
		if len(r.cells) < 5 {
			continue
		}
		name := strings.Join(spans(r.cells[0])[:1], "")
		documented := spans(r.cells[1])
		for _, sig := range lang.CELFunctions[name] {
			if !slices.Contains(documented, sig) {
				t.Errorf("%s:%d: %s has the overload `%s`, which the signature column does not list", flowsDocPath, r.line, name, sig)
			}
		}
		for _, sig := range documented {
			if !slices.Contains(lang.CELFunctions[name], sig) {
				t.Errorf("%s:%d: the signature column lists `%s`, which %s does not have (it has %q)", flowsDocPath, r.line, sig, name, lang.CELFunctions[name])
			}
		}
	}
	checkCELExamples(t, fns, 3)
}

func TestFlowsDocTemplates(t *testing.T) {
	doc := readFlowsDoc(t)

	filters := doc.table(t, "liquid: filters")
	sameNames(t, filters, "the Liquid filter", template.Filters())
	for _, r := range filters.rows {
		if len(r.cells) < 5 {
			continue
		}
		examples, results := spans(r.cells[3]), spans(r.cells[4])
		if len(examples) == 0 || len(examples) != len(results) {
			t.Errorf("%s:%d: give each example (in backticks) its result (in backticks)", flowsDocPath, r.line)
			continue
		}
		for i, src := range examples {
			tmpl, err := template.Compile(src)
			if err != nil {
				t.Errorf("%s:%d: the example %s does not compile: %v", flowsDocPath, r.line, src, err)
				continue
			}
			got, err := tmpl.Render(template.SampleScope(), sampleLinks{})
			if err != nil {
				got = "error"
			}
			if got != results[i] {
				t.Errorf("%s:%d: %s renders %q for the sample (err %v), the table says %q", flowsDocPath, r.line, src, got, err, results[i])
			}
		}
	}

	// Template variables: the roots Render binds; below them what the
	// engine puts in a send's scope (brand holds what the configuration
	// gives it, so only its root is checked).
	vars := doc.table(t, "template: variables")
	roots := template.ScopeNames()
	scope := sampleCtx().scopeWith(sampleRun(), &Compiled{Flow: &flow.Flow{ID: "cart-recovery", Name: "Cart recovery"}}, func(v any) any { return v })
	code := []string{"now"}
	for root, m := range map[string]map[string]any{"contact": scope.Contact, "event": scope.Event, "reply": scope.Reply, "waited": scope.Waited, "flow": scope.Flow} {
		for k := range m {
			code = append(code, root+"."+k)
		}
	}
	var documented []string
	for _, n := range vars.names(t) {
		root, _, _ := strings.Cut(n, ".")
		if !slices.Contains(roots, root) {
			t.Errorf("%s:%d: template variable %q: templates have no %q (they have %s)", flowsDocPath, vars.line, n, root, strings.Join(roots, ", "))
		}
		if root != "brand" {
			documented = append(documented, n)
		}
	}
	for _, root := range roots {
		if !slices.ContainsFunc(vars.names(t), func(n string) bool { return n == root || strings.HasPrefix(n, root+".") }) {
			t.Errorf("%s:%d: templates have %q, which the table does not document", flowsDocPath, vars.line, root)
		}
	}
	for _, n := range code {
		if !slices.Contains(documented, n) {
			t.Errorf("%s:%d: a send's template scope has %q, which the table does not document", flowsDocPath, vars.line, n)
		}
	}
	for _, n := range documented {
		if !slices.Contains(code, n) {
			t.Errorf("%s:%d: the table documents %q, which a send's template scope does not have", flowsDocPath, vars.line, n)
		}
	}

	for _, b := range doc.blocks {
		if b.lang != "liquid" {
			continue
		}
		if _, err := template.Compile(strings.TrimSuffix(b.text, "\n")); err != nil {
			t.Errorf("%s:%d: the Liquid example does not compile: %v", flowsDocPath, b.line, err)
		}
	}
}

// fragmentSkeleton fills in what a fragment of a flow leaves out.
var fragmentSkeleton = []struct{ key, yaml string }{
	{"id", "id: doc-fragment"},
	{"category", "category: lifecycle"},
	{"trigger", "trigger: {event: Doc Example}"},
	{"steps", "steps:\n  - send: Hello from the docs"},
}

// asFlow returns a YAML block as a flow file: a whole flow as it is, a
// fragment (some top-level keys, or a list of steps) completed by the
// skeleton. whole says whether it was a whole flow (it has an id).
func asFlow(src string) (file string, whole bool, err error) {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil || len(n.Content) != 1 {
		return "", false, fmt.Errorf("not one YAML document: %v", err)
	}
	root := n.Content[0]
	switch root.Kind {
	case yaml.SequenceNode:
		var b strings.Builder
		for _, s := range fragmentSkeleton[:3] {
			b.WriteString(s.yaml + "\n")
		}
		b.WriteString("steps:\n")
		for _, line := range strings.Split(strings.TrimSuffix(src, "\n"), "\n") {
			b.WriteString("  " + line + "\n")
		}
		return b.String(), false, nil
	case yaml.MappingNode:
		keys := map[string]bool{}
		for i := 0; i < len(root.Content); i += 2 {
			keys[root.Content[i].Value] = true
		}
		if keys["id"] {
			return src, true, nil
		}
		out := src
		for _, s := range fragmentSkeleton {
			if !keys[s.key] {
				out += s.yaml + "\n"
			}
		}
		return out, false, nil
	}
	return "", false, fmt.Errorf("a YAML example is a flow, some of its top-level keys, or a list of steps")
}

// keyExampleFlow places a key table's example ("wait: 24h" for the key wait
// of a step) where the key belongs in a minimal flow, written in YAML's flow
// style, so that validation checks the example in its place.
func keyExampleFlow(mapping, key, example string) string {
	merge := func(base []string, exclusive ...string) string {
		var out []string
		for _, b := range base {
			k, _, _ := strings.Cut(b, ":")
			if k != key && !(slices.Contains(exclusive, key) && slices.Contains(exclusive, k)) {
				out = append(out, b)
			}
		}
		return "{" + strings.Join(append(out, example), ", ") + "}"
	}
	in := func(format, mapping string) string {
		return fmt.Sprintf("{id: doc-key-example, category: lifecycle, "+format+"}", mapping)
	}
	steps := func(format, mapping string) string {
		return in("trigger: {event: Doc Example}, steps: [{id: reminder, send: Hello}, "+format+"]", mapping)
	}
	lang := flow.DescribeLanguage()
	switch mapping {
	case "flow":
		return merge([]string{"id: doc-key-example", "category: lifecycle", "trigger: {event: Doc Example}", "steps: [{send: Hello}]"})
	case "trigger":
		return in("trigger: %s, steps: [{send: Hello}]", merge([]string{"event: Doc Example"}, lang.TriggerKinds...))
	case "inactivity":
		return in("trigger: {inactivity: %s}, steps: [{send: Hello}]", merge([]string{"event: Order Completed", "for: 60d"}))
	case "segment":
		return in("trigger: {segment: %s}, steps: [{send: Hello}]", merge([]string{"where: 'true'", `at: "10:00"`, "local: true"}))
	case "date":
		return in("trigger: {date: %s}, steps: [{send: Hello}]", merge([]string{"property: contact.traits.birthday", `at: "10:00"`}))
	case "entry":
		return in("trigger: {event: Doc Example}, entry: %s, steps: [{send: Hello}]", merge(nil))
	case "exit rule":
		return in("trigger: {event: Doc Example}, exit: [%s], steps: [{send: Hello}]", merge([]string{"event: Order Completed"}))
	case "goal":
		return in("trigger: {event: Doc Example}, goal: %s, steps: [{send: Hello}]", merge([]string{"event: Order Completed", "within: 5d"}))
	case "step":
		var base []string
		switch key {
		case "id":
			base = []string{"send: Hello"}
		case "if":
			base = []string{"then: [{send: Hello}]"}
		case "then", "else":
			base = []string{"if: 'true'", "then: [{send: Hello}]"}
		}
		return steps("%s", merge(base))
	case "send":
		return steps("{send: %s}", merge([]string{"template: Hello"}))
	case "wait":
		base := []string{"event: Doc Example", "timeout: 1d"}
		switch key {
		case "until", "until_local":
			base = nil
		case "reply":
			base = base[1:]
		}
		return steps("{wait: %s}, {send: Hello}", merge(base))
	case "switch case":
		if key == "else" {
			return steps("{switch: [{when: 'true', then: [{send: Hello}]}, %s]}", merge(nil))
		}
		return steps("{switch: [%s]}", merge([]string{"when: 'true'", "then: [{send: Hello}]"}))
	case "split variant":
		return steps("{split: [%s, {variant: other, weight: 1}]}", merge([]string{"variant: one", "weight: 1"}))
	}
	return ""
}

func TestFlowsDocKeyExamples(t *testing.T) {
	doc := readFlowsDoc(t)
	for _, tb := range doc.tables {
		mapping, ok := strings.CutPrefix(tb.marker, "keys: ")
		if !ok || len(tb.header) < 5 {
			continue
		}
		for _, r := range tb.rows {
			key, example := spans(r.cells[0]), spans(r.cells[len(r.cells)-1])
			if len(key) == 0 || len(example) == 0 {
				t.Errorf("%s:%d: give the key's example, in backticks, in the last column", flowsDocPath, r.line)
				continue
			}
			if k, _, _ := strings.Cut(example[0], ":"); k != key[0] {
				t.Errorf("%s:%d: the example of %s must be written %s: …, not %s", flowsDocPath, r.line, key[0], key[0], example[0])
				continue
			}
			src := keyExampleFlow(mapping, key[0], example[0])
			_, problems := flow.Parse("example.yaml", []byte(src), ValidateOptions())
			for _, p := range problems {
				t.Errorf("%s:%d: the example %s (of %s in %s) has a problem: %s\n\tchecked as: %s", flowsDocPath, r.line, example[0], key[0], mapping, p.Message, src)
			}
		}
	}
}

func TestFlowsDocExamples(t *testing.T) {
	doc := readFlowsDoc(t)
	var whole []*flow.Flow
	yamlBlocks := 0
	for i, b := range doc.blocks {
		if b.lang != "yaml" {
			continue
		}
		yamlBlocks++
		if file, ok := strings.CutPrefix(b.marker, "validate: "); ok {
			// An invalid example and, in the next text block, what
			// validation prints for it.
			if i+1 >= len(doc.blocks) || doc.blocks[i+1].lang != "text" {
				t.Errorf("%s:%d: <!-- validate: %s --> needs the expected output in a ```text block right after the example", flowsDocPath, b.line, file)
				continue
			}
			_, problems := flow.Parse(file, []byte(b.text), ValidateOptions())
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			want := strings.Split(strings.TrimSpace(doc.blocks[i+1].text), "\n")
			if !slices.Equal(got, want) {
				t.Errorf("%s:%d: validation prints\n%s\nthe document says\n%s", flowsDocPath, b.line, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			continue
		}
		if b.marker == "configuration" {
			var v map[string]any
			if err := yaml.Unmarshal([]byte(b.text), &v); err != nil {
				t.Errorf("%s:%d: the configuration example is not YAML: %v", flowsDocPath, b.line, err)
			}
			continue
		}
		src, isWhole, err := asFlow(b.text)
		if err != nil {
			t.Errorf("%s:%d: %v", flowsDocPath, b.line, err)
			continue
		}
		f, problems := flow.Parse(fmt.Sprintf("docs/flows.md:%d", b.line), []byte(src), ValidateOptions())
		for _, p := range problems {
			t.Errorf("%s:%d: the example has a problem (line %d of the example): %s", flowsDocPath, b.line, p.Line, p.Message)
		}
		if isWhole && f != nil {
			whole = append(whole, f)
		}
	}
	for _, p := range flow.CheckSet(whole) {
		t.Errorf("%s: across the examples: %s", flowsDocPath, p)
	}
	if yamlBlocks == 0 || len(whole) == 0 {
		t.Fatalf("%s has %d YAML examples, %d of them whole flows", flowsDocPath, yamlBlocks, len(whole))
	}
}
