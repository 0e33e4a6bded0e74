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
