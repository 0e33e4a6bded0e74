package web

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Charts are drawn in Go as SVG (D92): no chart library, no script, and
// they render the same under the CSP in every browser. Only numbers go
// into the markup, so it is safe to return as template.HTML.

// sparkline draws values as a small trend line (96×24), with label as its
// accessible name; nothing when there are fewer than two values.
func sparkline(label string, values []float64) template.HTML {
	if len(values) < 2 {
		return ""
	}
	const w, h, pad = 96.0, 24.0, 2.0
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range values {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	span := hi - lo
	var pts strings.Builder
	for i, v := range values {
		x := pad + (w-2*pad)*float64(i)/float64(len(values)-1)
		y := h / 2
		if span > 0 {
			y = h - pad - (h-2*pad)*(v-lo)/span
		}
		fmt.Fprintf(&pts, "%.1f,%.1f ", x, y)
	}
	return template.HTML(fmt.Sprintf(`<svg class="spark" viewBox="0 0 %g %g" role="img" aria-label="%s"><polyline points="%s"/></svg>`,
		w, h, template.HTMLEscapeString(label), strings.TrimSpace(pts.String())))
}

// pct formats a rate (0.0123) as a percentage ("1.23%"); "–" when there
// is none (its denominator was 0: the report's null).
func pct(v *float64) string {
	if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
		return "–"
	}
	return fmt.Sprintf("%.2f%%", *v*100)
}

// num formats a count with thousands separators.
func num(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + num(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// money formats an amount in its currency's main unit ("1,234.50").
func money(v float64) string {
	neg := v < 0
	c := int64(math.Round(math.Abs(v) * 100))
	s := num(c/100) + fmt.Sprintf(".%02d", c%100)
	if neg {
		return "-" + s
	}
	return s
}

// chartFrame is the geometry the bar and line charts share (the flow
// report's days, the program's growth and subscribers): a viewBox W×H with
// the plot inside the margins, n equal slots along x (one per day) and a
// linear value scale along y. The charts differ in what they draw, not in
// how they place it.
type chartFrame struct {
	W, H                     float64
	Left, Right, Top, Bottom float64
}

// dayFrame is the frame of every per-day chart: 560 wide, so its 11 px
// labels stay readable when a phone scales it to its width.
var dayFrame = chartFrame{W: 560, H: 180, Left: 48, Right: 8, Top: 10, Bottom: 24}

func (f chartFrame) plotW() float64 { return f.W - f.Left - f.Right }
func (f chartFrame) plotH() float64 { return f.H - f.Top - f.Bottom }

// base is the y of the plot's bottom edge.
func (f chartFrame) base() float64 { return f.Top + f.plotH() }

// slot is the width of one of n slots; slotX the left edge of slot i and
// slotMid its centre.
func (f chartFrame) slot(n int) float64               { return f.plotW() / float64(max(n, 1)) }
func (f chartFrame) slotX(i, n int) float64           { return f.Left + f.slot(n)*float64(i) }
func (f chartFrame) slotMid(i, n int) float64         { return f.slotX(i, n) + f.slot(n)/2 }
func (f chartFrame) barX(i, n int, w float64) float64 { return f.slotX(i, n) + (f.slot(n)-w)/2 }

// height is v's height above the bottom on a scale from lo (0) to hi (the
// plot's height); 0 when the scale is empty.
func (f chartFrame) height(v, lo, hi, plot float64) float64 {
	if hi <= lo {
		return 0
	}
	return plot * (v - lo) / (hi - lo)
}

// open starts the chart's <svg>, named by title (escaped) for assistive
// technology; id may be "".
func (f chartFrame) open(b *strings.Builder, id, title string) {
	if id == "" {
		fmt.Fprintf(b, `<svg class="chart" viewBox="0 0 %g %g" role="img" aria-label="%s">`, f.W, f.H, template.HTMLEscapeString(title))
		return
	}
	fmt.Fprintf(b, `<svg class="chart" id="%s" viewBox="0 0 %g %g" role="img" aria-labelledby="%s-title"><title id="%s-title">%s</title>`,
		id, f.W, f.H, id, id, template.HTMLEscapeString(title))
}

// hline draws a horizontal axis across the plot at y.
func (f chartFrame) hline(b *strings.Builder, y float64) {
	fmt.Fprintf(b, `<line class="axis" x1="%g" y1="%.1f" x2="%g" y2="%.1f"/>`, f.Left, y, f.W-f.Right, y)
}

// yLabel writes a value label left of the plot at y (escaped).
func (f chartFrame) yLabel(b *strings.Builder, y float64, text string) {
	fmt.Fprintf(b, `<text x="%g" y="%.1f" text-anchor="end">%s</text>`, f.Left-4, y, template.HTMLEscapeString(text))
}

// xLabels writes labels under the plot for slots at of n: the first
// starts at the plot's left edge, the last ends at its right edge, the
// others are centred on their slot.
func (f chartFrame) xLabels(b *strings.Builder, n int, at []int, text func(i int) string) {
	for k, i := range at {
		x, anchor := f.slotMid(i, n), "middle"
		switch {
		case k == 0:
			x, anchor = f.Left, "start"
		case i == n-1:
			x, anchor = f.W-f.Right, "end"
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%g" text-anchor="%s">%s</text>`, x, f.H-6, anchor, template.HTMLEscapeString(text(i)))
	}
}

// ends are the slots worth labelling under a chart of n: the first, the
// middle and the last.
func ends(n int) []int {
	at := []int{0}
	if n > 2 {
		at = append(at, n/2)
	}
	if n > 1 {
		at = append(at, n-1)
	}
	return at
}
