package template

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// References finds every read of a scope variable, wherever it is written,
// with the position of each name; the template's own names are not reads.
func TestReferences(t *testing.T) {
	for _, tt := range []struct {
		src  string
		want []string // names@line:col of each name
	}{
		{`Hi {{ contact.traits.first_name | default: "there" }}`,
			[]string{"contact@1:7 traits@1:15 first_name@1:22"}},
		{`{{ contct.id }}`, []string{"contct@1:4 id@1:11"}},
		{`{% if reply.txt == "YES" %}ok{% endif %}`, []string{"reply@1:7 txt@1:13"}},
		{`{{ "x" | append: brand.nam }}`, []string{"brand@1:18 nam@1:24"}},
		{`{{ contact["traits"]["first name"] }} {{ event.properties[contact.id] }}`,
			[]string{"contact@1:4 traits@1:13 first name@1:23", "event@1:42 properties@1:48", "contact@1:59 id@1:67"}},
		{"{% assign n = contact.traits.name %}{{ n | upcase }}{% for p in event.properties.items reversed limit: max %}{{ p.name }}{{ forloop.index }}{% endfor %}",
			[]string{"contact@1:15 traits@1:23 name@1:30", "event@1:65 properties@1:71 items@1:82", "max@1:104"}},
		{"{% capture c %}{{ now | date: \"%b\" }}{% endcapture %}{{ c }}\n{% case waited.event.name %}{% when \"x\" %}{{ flow.id }}{% endcase %}",
			[]string{"now@1:19", "waited@2:9 event@2:16 name@2:22", "flow@2:46 id@2:51"}},
		{`{% comment %}{{ contct.id }}{% endcomment %}{% raw %}{{ x }}{% endraw %}{% if true and nil == empty %}{% endif %}`,
			[]string{"empty@1:95"}},
	} {
		tpl, err := Compile(tt.src)
		if err != nil {
			t.Fatalf("%q: %v", tt.src, err)
		}
		var got []string
		for _, r := range tpl.References() {
			var parts []string
			for i, n := range r.Names {
				parts = append(parts, fmt.Sprintf("%s@%d:%d", n, r.Lines[i], r.Cols[i]))
			}
			got = append(got, strings.Join(parts, " "))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%q:\n got %q\nwant %q", tt.src, got, tt.want)
		}
	}
	if got := strings.Join(Roots(), ","); got != "brand,contact,event,flow,now,reply,waited" {
		t.Errorf("Roots() = %s", got)
	}
}
