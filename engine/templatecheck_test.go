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

// A template that reads a variable or field its scope cannot have is an
// error at that name (issue 17): it would render nothing, or its fallback,
// for every contact. The free-form parts stay free.
func TestCheckTemplateNames(t *testing.T) {
	for _, c := range []struct {
		src  string
		want []string // "line:col: message", errors only
	}{
		{`Hi {{ contact.trait.first_name | default: "there" }}`, []string{"1:15: unknown field `trait` of contact (did you mean `traits`?)"}},
		{`{{ contct.id | default: "x" }}`, []string{"1:4: unknown variable `contct` (did you mean `contact`?)"}},
		{`You said {{ reply.txt | default: "?" }}`, []string{"1:19: unknown field `txt` of reply (did you mean `text`?)"}},
		{`{% if waited.evnt.name == "Link Clicked" %}thanks{% endif %}`, []string{"1:14: unknown field `evnt` of waited (did you mean `event`?)"}},
		{"{{ brand.name }}:\n{{ 'x' | append: brand.nmae }}", []string{"2:24: unknown field `nmae` of brand (did you mean `name`?)"}},
		{`{{ contact.consent | default: "" }}`, []string{"1:12: unknown field `consent` of contact; the fields of contact are id, phone, timezone and traits"}},
		{`{{ timed_out }}`, []string{"1:4: unknown variable `timed_out`; the variables are brand, contact, event, flow, now, reply and waited"}},
		{`{{ event.propertes.url | track }}`, []string{"1:10: unknown field `propertes` of event (did you mean `properties`?)"}},
		// Free-form parts, every known name, the template's own names.
		{`{{ contact.traits.a.b | default: "" }} {{ event.properties["x y"] | default: "" }} {{ event.context.ip | default: "" }} {{ waited.event.properties.u | default: "" }}`, nil},
		{`{{ contact.id }} {{ contact.phone }} {{ contact.timezone }} {{ event.name }} {{ event.timestamp | date: "%b" }} {{ reply.text | default: "" }} {{ flow.id }} {{ flow.name }} {{ brand.help }} {{ now | date: "%H" }}`, nil},
		{`{% assign n = contact.traits.name | default: "you" %}{% for p in event.properties.items %}{{ p.title }}{{ forloop.index }}{% endfor %}{{ n }}`, nil},
	} {
		var got []string
		for _, p := range engine.CheckTemplate(c.src) {
			if p.Severity == "error" {
				got = append(got, itoa(p.Line)+":"+itoa(p.Col)+": "+p.Message)
			}
		}
		if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("%q:\n got %q\nwant %q", c.src, got, c.want)
		}
	}
}
