package flow

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(nav))
	f.Add([]byte(head + "  - if: |\n      contact.id == \"a\" &&\n        contct.x\n    then: [exit: done]\n"))
	f.Add([]byte(head + "  - send: \"Hi \\\"x\\\" {{ oops é\"\n  - send: >-\n    a {{ oops\n\n    é\n"))
	f.Add([]byte(head + "  - if: 'contact.id == ''a'' && clicked(\"step-1\")'\n    then: [exit: done]\n"))
	f.Add([]byte("a: &a [x, x]\nb: [*a, *a]\n"))
	f.Add([]byte("id: a\n---\nid: b\n"))
	f.Add([]byte(head + nestedIfs(18)))
	f.Add([]byte("id: b\ncategory: lifecycle\ntrigger:\n  date: {property: contact.traits.birthday, offset: -3d, at: '10:00', every: year}\n  where: 'event.properties.date != \"\"'\nsteps:\n  - send: hi\n"))
	f.Add([]byte("id: b\ncategory: lifecycle\ntrigger:\n  date: {property: traits.x, offset: -36h, at: '25:00', every: yearly}\nsteps:\n  - send: hi\n"))
	// Names a variable cannot have (Options.CheckNames).
	f.Add([]byte(head + "  - wait: {reply: true, timeout: 1d}\n  - if: 'reply.txt == \"Y\" || has(contact.trait) || contact[\"trait\"].x == 1 || waited.evnt.name == \"\"'\n    then: [exit: done]\n"))
	f.Add([]byte(head + "  - if: |\n      contact.traits.kids.exists(contact, contact.age > 3) &&\n        event.propertes.x == 1\n    then: [exit: done]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		fl, problems := Parse("f.yaml", src, Options{CheckTemplate: fakeTemplates, CheckNames: true})
		lines := strings.Count(string(src), "\n") + 2
		for _, p := range problems {
			if p.File != "f.yaml" || p.Line < 0 || p.Line > lines || p.Col < 0 || p.Message == "" {
				t.Fatalf("bad problem %+v", p)
			}
			if strings.Contains(p.Message, "internal error") {
				t.Fatalf("internal error: %s", p.Message)
			}
		}
		if fl == nil {
			if !HasErrors(problems) {
				t.Fatalf("no flow and no error")
			}
			return
		}
		if HasErrors(problems) {
			t.Fatalf("a flow despite errors")
		}
		if len(fl.Hash) != 64 || fl.ID == "" || len(fl.Steps) == 0 {
			t.Fatalf("incomplete flow: id %q hash %q steps %d", fl.ID, fl.Hash, len(fl.Steps))
		}
		for _, s := range fl.AllSteps() {
			if fl.Step(s.ID) != s {
				t.Fatalf("Step(%q) is another step", s.ID)
			}
			if n := fl.Next(s.ID); n != "" && fl.Step(n) == nil {
				t.Fatalf("Next(%q) = %q, not a step", s.ID, n)
			}
			for i := range s.Branches() {
				if n, ok := fl.Branch(s.ID, i); !ok || (n != "" && fl.Step(n) == nil) {
					t.Fatalf("Branch(%q, %d) = %q, %v", s.ID, i, n, ok)
				}
			}
		}
		again, _ := Parse("f.yaml", src, Options{CheckTemplate: fakeTemplates, CheckNames: true})
		if again == nil || again.Hash != fl.Hash {
			t.Fatalf("parsing twice differs")
		}
	})
}

// formatDuration writes d in flow units, largest first.
func formatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range durationUnits {
		if n := d / u.d; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteByte(u.unit)
			d -= n * u.d
		}
	}
	return b.String()
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"90s", "30m", "24h", "7d", "2w", "1h30m", "1w2d3h4m5s", "0s", "520w", "60", "1.5h", "5 days", "30m1h", "-1h", "99999999999s", "1hm", "٣h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			if d != 0 {
				t.Fatalf("ParseDuration(%q) = %v with error", s, d)
			}
			return
		}
		if d < 0 || d > MaxDuration || d%time.Second != 0 {
			t.Fatalf("ParseDuration(%q) = %v, out of range", s, d)
		}
		back, err := ParseDuration(formatDuration(d))
		if err != nil || back != d {
			t.Fatalf("round trip of %q: %q → %v, %v", s, formatDuration(d), back, err)
		}
	})
}

// FuzzExpr compiles and evaluates arbitrary CEL in the flow environment:
// neither may panic, and evaluation is bounded by the cost limit.
func FuzzExpr(f *testing.F) {
	for _, s := range []string{
		`count("Order Completed", days(1)) > 0`, `last("x") > now - hours(2)`, `clicked("a") || replied()`,
		`double(event.properties.value) > 0`, `reply.text.trim().lowerAscii() == "yes"`,
		`[1,2,3].map(x, [1,2,3].map(y, x * y))`, `"a".repeat(3)`, `{"a": [now, duration("1h")]}`,
		`days(9223372036854775807)`, `int(contact.traits.visit_count) / 0`, `"x".matches("(a+)+$")`,
	} {
		f.Add(s)
	}
	vars, facts := testVars(), testFacts()
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Compile(src)
		if err != nil {
			return
		}
		_, _ = EvalValue(e, vars, facts)
		_, _ = EvalBool(e, vars, nil)
	})
}
