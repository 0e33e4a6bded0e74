package web

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/smsflow/smsflow/flow"
)

// branchy is a flow with every kind of branch, an exit, an enter, and
// hostile text in a condition and a template.
const branchy = `id: branchy
name: Branchy
category: promo
trigger:
  event: Checkout Started
steps:
  - id: hello
    send: 'Hi <b>{{ contact.traits.first_name }}</b> & "friends"'
  - wait: 1h
  - id: pick
    if: 'contact.traits.tag == "<script>alert(1)</script>"'
    then:
      - id: bye
        exit: scripted
    else:
      - id: sw
        switch:
          - when: 'contact.traits.vip == true'
            then:
              - id: vip
                send: "VIP"
          - when: 'contact.traits.vip == false'
            then:
              - id: other
                enter: welcome
  - id: ab
    split:
      - variant: A
        weight: 30
        then:
          - id: offer-a
            send: "A"
      - variant: B
        weight: 70
        then: []
  - id: last
    send: "last"
`

func parseFlow(t *testing.T, src string) *flow.Flow {
	t.Helper()
	f, problems := flow.Parse("test.yaml", []byte(src), flow.Options{})
	for _, p := range problems {
		if p.Severity == flow.SeverityError {
			t.Fatalf("parse: %v", problems)
		}
	}
	if f == nil {
		t.Fatalf("parse: %v", problems)
	}
	return f
}

func TestGraphLayoutNoOverlapEveryEdgeDown(t *testing.T) {
	f := parseFlow(t, branchy)
	counts := map[string][]countLine{"hello": {{Key: "sent", Label: "Sent", Value: 3}}, "last": {{Key: "deferred:quiet_hours", Label: "deferred:quiet_hours", Value: 1}}}
	g := buildFlowGraph(f, counts, stepHref("branchy", 30))
	g.layout()

	// Every step is a node; the trigger and the end too.
	ids := map[string]int{}
	var real []*graphNode
	for i, n := range g.Nodes {
		if !n.dummy {
			ids[n.ID] = i
			real = append(real, n)
		}
	}
	for _, s := range f.AllSteps() {
		if _, ok := ids[s.ID]; !ok {
			t.Errorf("step %s has no node", s.ID)
		}
	}
	for _, id := range []string{nodeTrigger, nodeEnd} {
		if _, ok := ids[id]; !ok {
			t.Errorf("no %s node", id)
		}
	}
	// No two boxes overlap, and every box is inside the drawing.
	for i, a := range real {
		if a.X < 0 || a.Y < 0 || a.X+a.W > g.W || a.Y+a.H > g.H {
			t.Errorf("node %s (%v,%v %vx%v) is outside the %vx%v drawing", a.ID, a.X, a.Y, a.W, a.H, g.W, g.H)
		}
		for _, b := range real[i+1:] {
			if a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H {
				t.Errorf("nodes %s and %s overlap", a.ID, b.ID)
			}
		}
	}
	// Edges go down, start at the source's bottom and end at the target's top.
	want := map[[2]string]string{
		{nodeTrigger, "hello"}: "", {"pick", "bye"}: "then", {"pick", "sw"}: "else",
		{"sw", "vip"}: `when contact.traits.vip == true`, {"sw", "other"}: `when contact.traits.vip == false`,
		{"sw", "ab"}: "no case", {"ab", "offer-a"}: "variant A (30%)", {"ab", "last"}: "variant B (70%)",
		{"vip", "ab"}: "", {"offer-a", "last"}: "", {"last", nodeEnd}: "",
	}
	got := map[[2]string]string{}
	for _, e := range g.Edges {
		from, to := g.Nodes[e.From], g.Nodes[e.To]
		got[[2]string{from.ID, to.ID}] = e.Label
		if to.layer <= from.layer {
			t.Errorf("edge %s → %s does not go down (layers %d, %d)", from.ID, to.ID, from.layer, to.layer)
		}
		p0, pn := e.Points[0], e.Points[len(e.Points)-1]
		if p0[1] != from.Y+from.H || pn[1] != to.Y || p0[0] < from.X || p0[0] > from.X+from.W || pn[0] < to.X || pn[0] > to.X+to.W {
			t.Errorf("edge %s → %s runs %v → %v, not from the source's bottom to the target's top", from.ID, to.ID, p0, pn)
		}
		// Through dummies it passes no box.
		for _, p := range e.Points[1 : len(e.Points)-1] {
			for _, n := range real {
				if p[0] > n.X && p[0] < n.X+n.W && p[1] > n.Y && p[1] < n.Y+n.H {
					t.Errorf("edge %s → %s passes through node %s at %v", from.ID, to.ID, n.ID, p)
				}
			}
		}
	}
	for k, label := range want {
		if l, ok := got[k]; !ok || l != label {
			t.Errorf("edge %s → %s: got %q (present %v), want %q", k[0], k[1], l, ok, label)
		}
	}
	// Exit and enter steps end the run: no edge leaves them.
	for _, e := range g.Edges {
		if id := g.Nodes[e.From].ID; id == "bye" || id == "other" {
			t.Errorf("an edge leaves %s, which ends the run", id)
		}
	}
}

func TestGraphSVGDrawsEveryEdgeAndEscapes(t *testing.T) {
	f := parseFlow(t, branchy)
	g := buildFlowGraph(f, map[string][]countLine{"hello": {{Key: "sent", Label: "<i>Sent</i>", Value: 1234}}}, stepHref("branchy", 30))
	g.layout()
	svg := string(g.svg(`Steps of <Branchy>`))

	if strings.Contains(svg, "<script") || strings.Contains(svg, "<b>") || strings.Contains(svg, "<i>") || strings.Contains(svg, "<Branchy>") {
		t.Errorf("the SVG carries markup from the flow: %s", svg)
	}
	for _, s := range []string{"&lt;script&gt;", "&lt;b&gt;", "&amp;", "&lt;i&gt;", "1,234"} {
		if !strings.Contains(svg, s) {
			t.Errorf("the SVG has no %q", s)
		}
	}
	// It is well-formed XML, with one polyline per edge and one link per step.
	dec := xml.NewDecoder(strings.NewReader(svg))
	edges := map[[2]string]int{}
	links := map[string]bool{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed: %v", err)
		}
		el, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		attr := map[string]string{}
		for _, a := range el.Attr {
			attr[a.Name.Local] = a.Value
		}
		switch el.Name.Local {
		case "polyline":
			edges[[2]string{attr["data-from"], attr["data-to"]}]++
		case "a":
			links[attr["data-step"]] = true
			if !strings.HasPrefix(attr["href"], "/flows/branchy?days=30&step=") {
				t.Errorf("node link %q", attr["href"])
			}
		}
	}
	for _, e := range g.Edges {
		k := [2]string{g.Nodes[e.From].ID, g.Nodes[e.To].ID}
		if edges[k] == 0 {
			t.Errorf("edge %v is not drawn", k)
		}
	}
	if n := len(g.Edges); len(edges) != n {
		t.Errorf("%d polylines for %d edges", len(edges), n)
	}
	for _, s := range f.AllSteps() {
		if !links[s.ID] {
			t.Errorf("step %s is not a link", s.ID)
		}
	}
}

func TestGraphOfAnEmptyishFlow(t *testing.T) {
	f := parseFlow(t, "id: one\ncategory: promo\ntrigger:\n  event: X\nsteps:\n  - id: only\n    send: hi\n")
	g := buildFlowGraph(f, nil, nil)
	g.layout()
	if len(g.Nodes) != 3 || len(g.Edges) != 2 || g.W <= 0 || g.H <= 0 {
		t.Fatalf("graph = %d nodes, %d edges, %vx%v; want trigger → only → end", len(g.Nodes), len(g.Edges), g.W, g.H)
	}
}

func TestLineDiff(t *testing.T) {
	for _, tc := range []struct {
		name, a, b string
		want       string // ops and texts, one per line
	}{
		{"same", "a\nb\n", "a\nb\n", " a\n b"},
		{"empty to one", "", "x\n", "+x"},
		{"one to empty", "x", "", "-x"},
		{"change in the middle", "a\nb\nc\n", "a\nB\nc\n", " a\n-b\n+B\n c"},
		{"insert and delete", "a\nb\nc\nd\n", "a\nc\nd\ne\n", " a\n-b\n c\n d\n+e"},
		{"crlf", "a\r\nb\r\n", "a\nb\n", " a\n b"},
		{"markup is text", "<script>\n", "<b>\n", "-<script>\n+<b>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var lines []string
			for _, op := range lineDiff(tc.a, tc.b) {
				lines = append(lines, string(op.Op)+op.Text)
			}
			if got := strings.Join(lines, "\n"); got != tc.want {
				t.Errorf("diff =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestLineDiffNumbersAndMinimality(t *testing.T) {
	a := "id: x\nname: X\nsteps:\n  - send: one\n  - wait: 1h\n  - send: two\n"
	b := "id: x\nname: Y\nsteps:\n  - send: one\n  - send: two\n  - send: three\n"
	ops := lineDiff(a, b)
	var kept, del, add int
	oldN, newN := 0, 0
	for _, op := range ops {
		switch op.Op {
		case ' ':
			kept++
			oldN++
			newN++
			if op.Old != oldN || op.New != newN {
				t.Errorf("kept %q numbered %d/%d, want %d/%d", op.Text, op.Old, op.New, oldN, newN)
			}
		case '-':
			del++
			oldN++
			if op.Old != oldN || op.New != 0 {
				t.Errorf("removed %q numbered %d/%d, want %d/0", op.Text, op.Old, op.New, oldN)
			}
		case '+':
			add++
			newN++
			if op.New != newN || op.Old != 0 {
				t.Errorf("added %q numbered %d/%d, want 0/%d", op.Text, op.Old, op.New, newN)
			}
		}
	}
	// LCS: id, steps, send one, send two are kept (4); name and wait go,
	// name and send three come.
	if kept != 4 || del != 2 || add != 2 || oldN != 6 || newN != 6 {
		t.Errorf("kept %d, removed %d, added %d (old %d lines, new %d); want 4, 2, 2 (6, 6)", kept, del, add, oldN, newN)
	}
	// A hostile size falls back to remove-all/add-all without the table.
	big := strings.Repeat("x\n", maxDiffLines+1)
	if got := lineDiff(big, big+"y\n"); len(got) != maxDiffLines+2 {
		t.Errorf("same prefix: %d ops, want %d (prefix kept, one added)", len(got), maxDiffLines+2)
	}
	big2 := strings.Repeat("y\n", maxDiffLines+1)
	if got := lineDiff(big, big2); len(got) != 2*(maxDiffLines+1) {
		t.Errorf("all changed: %d ops, want %d", len(got), 2*(maxDiffLines+1))
	}
}
