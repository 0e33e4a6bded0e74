package web

import (
	"fmt"
	"html/template"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/smsflow/smsflow/flow"
)

// The flow page draws a flow as a graph of its steps (D93): trigger →
// steps → the end, branches labelled with their condition or variant. The
// layout is done here, in Go, and drawn as inline SVG: a flow is a small
// DAG (its steps only go forward), for which a layered layout is enough —
// longest-path layers, dummy nodes on edges that skip layers, a few
// barycenter sweeps to reduce crossings, straight edges through the dummy
// points. No script is needed, so it passes the CSP and shows in the
// browser tests' screenshots.

// Node ids of the graph's two nodes that are not steps.
const (
	nodeTrigger = "trigger"
	nodeEnd     = "end"
)

// countLine is one figure drawn on a node ("Sent 120"); Key names it for
// tests and scripts (data-count).
type countLine struct {
	Key, Label string
	Value      int64
	Muted      bool // a breakdown (skipped/deferred by reason), drawn lighter
}

// graphNode is one box of the drawn graph: a step, the trigger or the end.
type graphNode struct {
	ID     string // step id, nodeTrigger or nodeEnd
	Kind   string // a flow.StepKind, "trigger" or "end"
	Title  string // "send", "wait 1h", "if", …
	Detail string // what the step says (a template's start, a condition)
	Counts []countLine
	Href   string // the drill-down link; "" for none

	layer, order int
	dummy        bool
	X, Y, W, H   float64
}

// graphEdge is one arrow: From → To, with the branch's label.
type graphEdge struct {
	From, To int // node indexes
	Label    string
	Points   [][2]float64
	chain    []int // the dummy nodes it passes through, in order
}

// flowGraph is a laid-out graph; W and H are its drawing's size.
type flowGraph struct {
	Nodes []*graphNode
	Edges []*graphEdge
	W, H  float64
}

// Layout sizes, in SVG user units (CSS pixels at 1:1).
const (
	nodeW     = 232.0
	lineH     = 16.0
	nodePadY  = 10.0
	layerGap  = 80.0 // room for edge labels between layers
	nodeGap   = 36.0
	dummyW    = 16.0
	graphPad  = 16.0
	maxDetail = 34 // characters of a step's detail that fit on its box
	maxLabel  = 26 // characters of an edge's label (the full one is its title)
)

// buildFlowGraph turns a flow into its graph (not yet laid out): the
// trigger, every step in flow order, and an end node when some path walks
// off the end of the steps. counts gives a node's figures by node id;
// href its drill-down link.
func buildFlowGraph(f *flow.Flow, counts map[string][]countLine, href func(id string) string) *flowGraph {
	g := &flowGraph{}
	index := map[string]int{}
	add := func(n *graphNode) int {
		n.Counts = counts[n.ID]
		if href != nil && n.Kind != "end" && n.Kind != "trigger" {
			n.Href = href(n.ID)
		}
		index[n.ID] = len(g.Nodes)
		g.Nodes = append(g.Nodes, n)
		return len(g.Nodes) - 1
	}
	add(&graphNode{ID: nodeTrigger, Kind: "trigger", Title: "Trigger", Detail: describeTrigger(f.Trigger)})
	for _, s := range f.AllSteps() {
		if _, dup := index[s.ID]; dup {
			continue
		}
		title, detail := describeStep(s)
		add(&graphNode{ID: s.ID, Kind: string(s.Kind), Title: title, Detail: detail})
	}
	end := -1
	target := func(id string) int {
		if id != "" {
			if i, ok := index[id]; ok {
				return i
			}
		}
		if end < 0 {
			end = add(&graphNode{ID: nodeEnd, Kind: "end", Title: "End", Detail: "completed: walked off the last step"})
		}
		return end
	}
	edge := func(from int, to string, label string) {
		g.Edges = append(g.Edges, &graphEdge{From: from, To: target(to), Label: label})
	}
	edge(index[nodeTrigger], f.Start(), "")
	for _, s := range f.AllSteps() {
		from := index[s.ID]
		switch s.Kind {
		case flow.StepExit, flow.StepEnter:
			// the run ends here
		case flow.StepIf:
			next, _ := f.Branch(s.ID, 0)
			edge(from, next, "then")
			next, _ = f.Branch(s.ID, 1)
			edge(from, next, "else")
		case flow.StepSwitch:
			hasElse := false
			for i, c := range s.Switch {
				next, _ := f.Branch(s.ID, i)
				label := "else"
				if c.When != nil {
					label = "when " + c.When.Source
				} else {
					hasElse = true
				}
				edge(from, next, label)
			}
			if !hasElse {
				edge(from, f.Next(s.ID), "no case")
			}
		case flow.StepSplit:
			total := 0
			for _, v := range s.Split {
				total += v.Weight
			}
			for i, v := range s.Split {
				next, _ := f.Branch(s.ID, i)
				label := "variant " + v.Name
				if total > 0 {
					label += fmt.Sprintf(" (%d%%)", (v.Weight*100+total/2)/total)
				}
				edge(from, next, label)
			}
		default:
			edge(from, f.Next(s.ID), "")
		}
	}
	if len(f.AllSteps()) == 0 && end < 0 {
		target("")
	}
	return g
}

// describeTrigger says what starts the flow, briefly.
func describeTrigger(t flow.Trigger) string {
	switch t.Kind {
	case flow.TriggerEvent:
		return "event " + t.Event
	case flow.TriggerConsent:
		return "consent " + string(t.Consent)
	case flow.TriggerInactivity:
		if t.Inactivity != nil {
			return fmt.Sprintf("no %s for %s", t.Inactivity.Event, shortDuration(t.Inactivity.For))
		}
	case flow.TriggerSegment:
		return "segment"
	case flow.TriggerDate:
		return "date"
	}
	return string(t.Kind)
}

// describeStep gives a step's title and the detail drawn under it.
func describeStep(s *flow.Step) (title, detail string) {
	switch s.Kind {
	case flow.StepSend:
		return "send", s.Send.Template
	case flow.StepWait:
		w := s.Wait
		switch w.Kind {
		case flow.WaitDuration:
			return "wait " + shortDuration(w.Duration), ""
		case flow.WaitUntil:
			return "wait until", exprSource(w.Until)
		case flow.WaitUntilLocal:
			return "wait until " + w.UntilLocal.String() + " local", ""
		case flow.WaitEvent:
			return "wait for " + w.Event, timeoutText(w.Timeout)
		case flow.WaitReply:
			return "wait for a reply", timeoutText(w.Timeout)
		}
		return "wait", ""
	case flow.StepIf:
		return "if", exprSource(s.If.Cond)
	case flow.StepSwitch:
		return "switch", fmt.Sprintf("%d cases", len(s.Switch))
	case flow.StepSplit:
		return "split", fmt.Sprintf("%d variants", len(s.Split))
	case flow.StepSet:
		var names []string
		for _, a := range s.Set {
			names = append(names, a.Trait)
		}
		return "set", strings.Join(names, ", ")
	case flow.StepEnter:
		return "enter flow", s.Enter
	case flow.StepExit:
		return "exit", s.Exit
	}
	return string(s.Kind), ""
}

func exprSource(e *flow.Expr) string {
	if e == nil {
		return ""
	}
	return e.Source
}

func timeoutText(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return "timeout " + shortDuration(d)
}

// shortDuration writes 24h as "24h", 7 days as "7d", 90 minutes as "1h30m".
func shortDuration(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	return strings.TrimSuffix(s, "0m")
}

// layout places the nodes: layers top to bottom, each edge through the
// dummy nodes of the layers it skips.
func (g *flowGraph) layout() {
	n := len(g.Nodes)
	if n == 0 {
		return
	}
	// Longest-path layering in topological order (Kahn). A flow's steps only
	// go forward, so there is no cycle; should one appear, its nodes keep
	// layer 0 rather than loop.
	succ := make([][]int, n)
	indeg := make([]int, n)
	for _, e := range g.Edges {
		succ[e.From] = append(succ[e.From], e.To)
		indeg[e.To]++
	}
	var queue []int
	for i := 0; i < n; i++ {
		if indeg[i] == 0 {
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, w := range succ[v] {
			g.Nodes[w].layer = max(g.Nodes[w].layer, g.Nodes[v].layer+1)
			if indeg[w]--; indeg[w] == 0 {
				queue = append(queue, w)
			}
		}
	}
	// Dummy nodes: one per layer an edge skips, so that ordering sees it
	// and the edge bends around the boxes in between.
	for _, e := range g.Edges {
		from, to := g.Nodes[e.From], g.Nodes[e.To]
		for l := from.layer + 1; l < to.layer; l++ {
			g.Nodes = append(g.Nodes, &graphNode{dummy: true, layer: l})
			e.chain = append(e.chain, len(g.Nodes)-1)
		}
	}
	// Adjacency of the expanded graph, for the barycenter sweeps.
	all := len(g.Nodes)
	up, down := make([][]int, all), make([][]int, all)
	for _, e := range g.Edges {
		path := append(append([]int{e.From}, e.chain...), e.To)
		for i := 0; i+1 < len(path); i++ {
			a, b := path[i], path[i+1]
			if g.Nodes[b].layer <= g.Nodes[a].layer {
				continue // a back edge (none in a valid flow): not used to order
			}
			down[a] = append(down[a], b)
			up[b] = append(up[b], a)
		}
	}
	layers := 0
	for _, v := range g.Nodes {
		layers = max(layers, v.layer+1)
	}
	rows := make([][]int, layers)
	for i, v := range g.Nodes { // flow order is the first order
		v.order = len(rows[v.layer])
		rows[v.layer] = append(rows[v.layer], i)
	}
	sweep := func(l int, adj [][]int) {
		row := rows[l]
		bary := make(map[int]float64, len(row))
		for _, v := range row {
			if len(adj[v]) == 0 {
				bary[v] = float64(g.Nodes[v].order)
				continue
			}
			sum := 0.0
			for _, w := range adj[v] {
				sum += float64(g.Nodes[w].order)
			}
			bary[v] = sum / float64(len(adj[v]))
		}
		sort.SliceStable(row, func(i, j int) bool { return bary[row[i]] < bary[row[j]] })
		for i, v := range row {
			g.Nodes[v].order = i
		}
	}
	for iter := 0; iter < 4; iter++ {
		for l := 1; l < layers; l++ {
			sweep(l, up)
		}
		for l := layers - 2; l >= 0; l-- {
			sweep(l, down)
		}
	}
	// Coordinates: boxes sized by their lines, each layer centred.
	rowW := make([]float64, layers)
	rowH := make([]float64, layers)
	for _, v := range g.Nodes {
		if v.dummy {
			v.W, v.H = dummyW, 0
		} else {
			v.W, v.H = nodeW, v.height()
		}
		rowH[v.layer] = max(rowH[v.layer], v.H)
	}
	for l, row := range rows {
		for i, v := range row {
			if i > 0 {
				rowW[l] += nodeGap
			}
			rowW[l] += g.Nodes[v].W
		}
	}
	width := 0.0
	for _, w := range rowW {
		width = max(width, w)
	}
	y := graphPad
	for l, row := range rows {
		x := graphPad + (width-rowW[l])/2
		for _, v := range row {
			node := g.Nodes[v]
			node.X, node.Y = x, y
			if node.dummy {
				node.Y = y + rowH[l]/2
			}
			x += node.W + nodeGap
		}
		y += rowH[l] + layerGap
	}
	g.W, g.H = width+2*graphPad, y-layerGap+graphPad
	// Edges: from the bottom of the source through the dummies' centres to
	// the top of the target.
	for _, e := range g.Edges {
		from, to := g.Nodes[e.From], g.Nodes[e.To]
		e.Points = [][2]float64{{from.X + from.W/2, from.Y + from.H}}
		for _, d := range e.chain {
			dn := g.Nodes[d]
			top, bottom := dn.Y-rowH[dn.layer]/2, dn.Y+rowH[dn.layer]/2
			e.Points = append(e.Points, [2]float64{dn.X + dn.W/2, top}, [2]float64{dn.X + dn.W/2, bottom})
		}
		e.Points = append(e.Points, [2]float64{to.X + to.W/2, to.Y})
	}
}

// height is a node box's height: title, detail and one line per count.
func (v *graphNode) height() float64 {
	lines := 1 + len(v.Counts)
	if v.Detail != "" {
		lines++
	}
	return 2*nodePadY + float64(lines)*lineH
}

// svg draws the laid-out graph. Every string goes through
// template.HTMLEscapeString; the rest is numbers.
func (g *flowGraph) svg(label string) template.HTML {
	esc := template.HTMLEscapeString
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="flow-graph" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="group" aria-label="%s">`,
		g.W, g.H, g.W, g.H, esc(label))
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#56606b"/></marker></defs>`)
	b.WriteString(`<g class="edges">`)
	for _, e := range g.Edges {
		var pts []string
		for _, p := range e.Points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", p[0], p[1]))
		}
		fmt.Fprintf(&b, `<polyline class="edge" data-from="%s" data-to="%s" points="%s" fill="none" stroke="#56606b" stroke-width="1.5" marker-end="url(#arrow)"/>`,
			esc(g.Nodes[e.From].ID), esc(g.Nodes[e.To].ID), strings.Join(pts, " "))
	}
	for _, e := range g.Edges {
		if e.Label == "" || len(e.Points) < 2 {
			continue
		}
		// The label sits on the last segment, three quarters down: there
		// the edges that fan out of one branching step are as far apart as
		// their targets, so their labels do not overlap.
		a, c := e.Points[len(e.Points)-2], e.Points[len(e.Points)-1]
		x, y := a[0]+(c[0]-a[0])*0.72, a[1]+(c[1]-a[1])*0.72
		text := truncateMiddle(e.Label, maxLabel)
		w := 7.0*float64(len([]rune(text))) + 10
		fmt.Fprintf(&b, `<g class="edge-label"><title>%s</title><rect x="%.1f" y="%.1f" width="%.1f" height="18" rx="4" fill="#ffffff" stroke="#c5ccd3"/><text x="%.1f" y="%.1f" text-anchor="middle" font-size="12" fill="#1f2933">%s</text></g>`,
			esc(e.Label), x-w/2, y-9, w, x, y+4, esc(text))
	}
	b.WriteString(`</g><g class="nodes">`)
	for _, v := range g.Nodes {
		if v.dummy {
			continue
		}
		open, close := `<g`, `</g>`
		if v.Href != "" {
			open, close = fmt.Sprintf(`<a href="%s"`, esc(v.Href)), `</a>`
		}
		fmt.Fprintf(&b, `%s class="node node-%s" data-step="%s">`, open, esc(v.Kind), esc(v.ID))
		fill, stroke := nodeColors(v.Kind)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="8" fill="%s" stroke="%s" stroke-width="1.5"/>`,
			v.X, v.Y, v.W, v.H, fill, stroke)
		y := v.Y + nodePadY + 12
		name := v.Title
		if v.Kind != "trigger" && v.Kind != "end" {
			name = v.Title + " · " + v.ID
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="13" font-weight="600" fill="#111827">%s</text>`, v.X+10, y, esc(truncate(name, 30)))
		if v.Detail != "" {
			y += lineH
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12" fill="#374151">%s</text>`, v.X+10, y, esc(truncate(oneLine(v.Detail), maxDetail)))
		}
		for _, c := range v.Counts {
			y += lineH
			color := "#111827"
			if c.Muted {
				color = "#4b5563"
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12" fill="%s" data-count="%s"><tspan>%s</tspan><tspan x="%.1f" text-anchor="end" data-value="%d">%s</tspan></text>`,
				v.X+10, y, color, esc(c.Key), esc(truncate(c.Label, 24)), v.X+v.W-10, c.Value, esc(num(c.Value)))
		}
		b.WriteString(close)
	}
	b.WriteString(`</g></svg>`)
	return template.HTML(b.String())
}

// nodeColors are a node kind's fill and border.
func nodeColors(kind string) (fill, stroke string) {
	switch kind {
	case "trigger":
		return "#e0ecff", "#3b6fd8"
	case string(flow.StepSend):
		return "#e6f6ec", "#2f8f55"
	case string(flow.StepWait):
		return "#fff6df", "#b7861a"
	case string(flow.StepIf), string(flow.StepSwitch), string(flow.StepSplit):
		return "#f3e8ff", "#8250c4"
	case string(flow.StepExit), "end":
		return "#f1f3f5", "#6b7280"
	}
	return "#ffffff", "#6b7280"
}

// truncate shortens s to n characters, with an ellipsis.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// truncateMiddle shortens s to n characters by cutting its middle: a
// branch's condition differs from its siblings' at the end
// ("when …status == "shipped"").
func truncateMiddle(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	head := min(5, n/3)
	return string(r[:head]) + "…" + string(r[len(r)-(n-head-1):])
}

// oneLine folds a template's or condition's whitespace to single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// stepHref is a node's drill-down link on the flow page.
func stepHref(flowID string, days int) func(string) string {
	return func(id string) string {
		return fmt.Sprintf("/flows/%s?days=%d&step=%s#activity", url.PathEscape(flowID), days, url.QueryEscape(id))
	}
}
