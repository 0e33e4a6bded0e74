package template

import (
	"errors"
	"github.com/smsflow/smsflow"
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzSeeds = []string{
	"",
	"{{ contact[\"trait\"][\"a b\"] | default: contct.id }}{% assign x = reply.txt %}{{ x }}{% for i in waited.evnt reversed %}{{ i }}{% endfor %}",
	"Hi {{ contact.traits.first_name | default: \"there\" }}! {{ event.properties.checkout_url | track }}",
	"{{ brand.name }}: {{ now | date: \"%b %d\" }} {{ \"now\" | date }}",
	"{% if contact.traits.vip %}VIP{% elsif reply.text == 'YES' %}yes{% else %}no{% endif %}",
	"{% for p in event.properties.products limit: 1 reversed %}{{ forloop.index }}{{ p.name | truncate: 5, '' }}{% else %}none{% endfor %}",
	"{% case reply.text %}{% when 'YES', 'Y' %}ok{% else %}?{% endcase %}",
	"{% assign n = contact.traits.first_name | downcase | append: '!' %}{% capture c %}{{ n }}{% endcapture %}{{ c | upcase }}",
	"{% raw %}{{ x }}{% endraw %}{% comment %}{% if %}{% endcomment %}",
	"{{- contact.id -}} {%- if true -%} x {%- endif -%}",
	"{{ (contact.id) }} {{ contact.id and event.name }} {{ contact.traits['first_name'] }}",
	"{{ event.properties.products | map: 'name' | join: ', ' | split: ',' | first }}",
	"{% for p in event.properties.products %}{% cycle 'a', 'b' %}{% break %}{% endfor %}",
	"{{ now.wall }} {{ now.Year }} {{ now.AddDate }}",
	"{{ contact.traits.visit_count | plus: 1 | times: 2.5 | divided_by: 0 }}",
	"{{ 'x' | replace: '', 'yyyyyyyy' | replace: '', 'zzzzzzzz' }}",
	strings.Repeat("{% if true %}", 20) + "x" + strings.Repeat("{% endif %}", 20),
	"{{ " + strings.Repeat("(", 30) + "contact.id" + strings.Repeat(")", 30) + " }}",
	"{% for a in event.properties.products %}{% for b in event.properties.products %}{% for c in event.properties.products %}{{ a.name }}{% endfor %}{% endfor %}{% endfor %}",
	`{% for p in event.properties.products | sort: "price" limit: 1 offset: 0 %}{{ p.name | default: "?" }}{% endfor %}`,
	`{% if event.properties.products | size > 1 and contact.traits.vip %}y{% endif %}`,
	`{% assign t = contact.traits.first_name | replace: "A", "E" | append: "!" %}{{ t | track }}`,
	"{{ x | default: }}", "{{ | }}", "{% %}", "{{}}", "{{ '", "{% if x %}{% endif", "{% for x in %}{% endfor %}",
}

func FuzzCompile(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		tpl, err := Compile(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Compile error is %T, want *SyntaxError: %v", err, err)
			}
			if strings.HasPrefix(se.Message, "internal error") {
				t.Fatalf("Compile(%q): %v", src, err)
			}
			if se.Line < 0 || se.Line > strings.Count(src, "\n")+1 || (se.Line > 0) != (se.Col > 0) {
				t.Fatalf("Compile(%q): position %d:%d out of the template", src, se.Line, se.Col)
			}
			return
		}
		if got := tpl.Source(); got != src {
			t.Fatalf("Source() = %q, want %q", got, src)
		}
		lines := strings.Split(src, "\n")
		for _, v := range tpl.Variables() {
			if v.Line < 1 || v.Line > len(lines) || v.Col < 1 || v.Col > utf8.RuneCountInString(lines[v.Line-1]) {
				t.Fatalf("variable %+v points outside %q", v, src)
			}
		}
		for _, r := range tpl.References() {
			if len(r.Names) == 0 || len(r.Lines) != len(r.Names) || len(r.Cols) != len(r.Names) {
				t.Fatalf("reference %+v is malformed in %q", r, src)
			}
			for i := range r.Names {
				if r.Lines[i] < 1 || r.Lines[i] > len(lines) || r.Cols[i] < 1 || r.Cols[i] > utf8.RuneCountInString(lines[r.Lines[i]-1]) {
					t.Fatalf("reference %+v points outside %q", r, src)
				}
			}
		}
	})
}

func FuzzRender(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, "Ana")
	}
	f.Add("Hi {{ contact.traits.first_name }}", "")
	f.Add("Hi {{ contact.traits.first_name }}", "{{ x }}")
	f.Add("{{ contact.traits.first_name | date: '%c' }}", "2025-01-02")
	f.Add("{{ contact.traits.first_name | track }}", "https://glow.example/x")
	f.Add("Hi {{ contact.traits.first_name }}\r\nbye", "A\x00na\x1b[31m\u0085")
	f.Add("{{ contact.traits.first_name }}", "\x00\x01\x02")
	f.Fuzz(func(t *testing.T, src, firstName string) {
		tpl, err := Compile(src)
		if err != nil {
			return
		}
		scope := SampleScope()
		scope.Contact["traits"].(map[string]any)["first_name"] = firstName
		out, err := tpl.Render(scope, &recordingTracker{})
		if err != nil {
			var re *RenderError
			if !errors.As(err, &re) {
				t.Fatalf("Render error is %T, want *RenderError: %v", err, err)
			}
			if re.Reason == "" {
				t.Fatal("RenderError with an empty reason")
			}
			return
		}
		switch {
		case strings.TrimSpace(out) == "":
			t.Fatalf("Render(%q) succeeded with an empty message", src)
		case strings.Contains(out, "{{") || strings.Contains(out, "{%"):
			t.Fatalf("Render(%q) = %q, with markup left", src, out)
		case len(out) > MaxValueBytes:
			t.Fatalf("Render(%q) produced %d bytes", src, len(out))
		case strings.Contains(out, reservedPrefix):
			t.Fatalf("Render(%q) = %q leaks instrumentation", src, out)
		case out != smsflow.CleanText(out):
			t.Fatalf("Render(%q) = %q, with control characters or invalid UTF-8", src, out)
		}
	})
}
