package engine_test

import (
	"strings"
	"testing"

	"github.com/smsflow/smsflow/engine"
)

func TestCheckTemplateWarnings(t *testing.T) {
	for _, c := range []struct {
		src  string
		want []string // substrings of the problems, in order; "" for none
	}{
		{`Hi {{ contact.traits.first_name | default: "there" }} from {{ brand.name }}`, nil},
		{`Hi {{ contact.traits.first_name }}`, []string{"1:7: contact.traits.first_name has no fallback"}},
		{strings.Repeat("Long text. ", 50), []string{"1:1: renders to 4 segments"}},
		{"Your order shipped ✓ today", []string{`1:20: the single character "✓" forces UCS-2 (70 characters per segment instead of 160); replace it`}},
		{strings.Repeat("a", 100) + " ✓", []string{`1:102: the single character "✓" forces UCS-2: 2 segments instead of 1; replace it`}},
		{strings.Repeat("a", 130) + " ✓" + strings.Repeat("b", 10), []string{`1:132: the single character "✓" forces UCS-2: 3 segments instead of 1`}},
		{strings.Repeat("a", 200) + " ✓", []string{"1:1: renders to 4 segments", `1:202: the single character "✓" forces UCS-2: 4 segments instead of 2; replace it`}},
		{"{% if %}", []string{"error"}},
	} {
		ps := engine.CheckTemplate(c.src)
		var got []string
		for _, p := range ps {
			got = append(got, strings.Join([]string{itoa(p.Line), itoa(p.Col)}, ":")+": "+p.Message)
			if p.Severity == "error" {
				got[len(got)-1] += " error"
			}
		}
		if len(got) != len(c.want) {
			t.Errorf("%.30q: got %v, want %v", c.src, got, c.want)
			continue
		}
		for i := range got {
			if !strings.Contains(got[i], c.want[i]) {
				t.Errorf("%.30q: problem %q lacks %q", c.src, got[i], c.want[i])
			}
		}
	}
}
