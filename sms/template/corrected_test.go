package template

import (
	"testing"
	"time"
)

// TestCorrectedFilters: the standard filters that used to mangle what a
// recipient reads — a non-ASCII first letter, an ellipsis counted in bytes,
// a decimal cut before division, a date-only value shown as the day before
// west of UTC.
func TestCorrectedFilters(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ src, want string }{
		{`{{ "élodie" | capitalize }}`, "Élodie"},
		{`{{ "øyvind" | capitalize }}`, "Øyvind"},
		{`{{ "ana" | capitalize }}`, "Ana"},
		{`x{{ "" | capitalize }}`, "x"},
		{`{{ "Grüße aus Köln" | truncate: 8, "…" }}`, "Grüße a…"},
		{`{{ "short" | truncate: 8, "…" }}`, "short"},
		{`{{ "abcdefghij" | truncate: 5 }}`, "ab..."},
		{`{{ 49.5 | divided_by: 2 }}`, "24.75"},
		{`{{ 49 | divided_by: 2 }}`, "24"},
		{`{{ 49 | divided_by: 2.0 }}`, "24.5"},
		{`{{ "2025-04-01" | date: "%B %-d" }}`, "April 1"},
		{`{{ "2025-04-01T12:00:00Z" | date: "%B %-d %H:%M" }}`, "April 1 05:00"},
	} {
		tmpl, err := Compile(tt.src)
		if err != nil {
			t.Fatalf("%s: %v", tt.src, err)
		}
		got, err := tmpl.Render(Scope{Now: time.Date(2025, 3, 1, 0, 0, 0, 0, la), Contact: map[string]any{"timezone": "America/Los_Angeles"}}, nil)
		if err != nil {
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s = %q, want %q", tt.src, got, tt.want)
		}
	}
}
