package web

import (
	"bytes"
	"html/template"
	"strings"
	"testing"

	"github.com/smsflow/smsflow/report"
)

// The pages say FiguresPending and ProgramPending, the words `smsflow bench
// ui` looks for, while their numbers are being computed, and not once
// they are in.
func TestPendingWordsAreThePages(t *testing.T) {
	for _, c := range []struct {
		name, words    string
		pending, ready any
	}{
		{"flows", FiguresPending,
			flowsData{Flows: []flowRow{{ID: "welcome", Name: "Welcome"}}},
			flowsData{Flows: []flowRow{{ID: "welcome", Name: "Welcome"}}, FiguresAt: "10:42:07 UTC"}},
		{"program", ProgramPending,
			programData{From: "2026-02-01", To: "2026-03-02"},
			programData{From: "2026-02-01", To: "2026-03-02", Report: &report.ProgramReport{}, ComputedAt: "10:42:07 UTC"}},
	} {
		tmpl, err := parsePage(c.name)
		if err != nil {
			t.Fatal(err)
		}
		render := func(data any) string {
			t.Helper()
			var b bytes.Buffer
			if err := tmpl.Execute(&b, page{Title: c.name, Nav: c.name, Data: data}); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			return b.String()
		}
		words := template.HTMLEscapeString(c.words)
		if got := render(c.pending); !strings.Contains(got, words) {
			t.Errorf("the %s page while computing does not say %q:\n%s", c.name, c.words, got)
		}
		if got := render(c.ready); strings.Contains(got, words) {
			t.Errorf("the %s page with its numbers still says %q", c.name, c.words)
		}
	}
}
