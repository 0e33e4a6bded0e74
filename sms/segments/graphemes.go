package segments

import "unicode/utf8"

// The grapheme ("character") rules here are those of the npm package
// grapheme-splitter 1.0.4 (UAX #29 for Unicode 10.0 with its emoji rules),
// which Twilio's sms-segments-calculator uses to decide what may not be cut
// across two segments. They are ported rule for rule, quirks included, so the
// counts agree with the reference; gbTable holds that package's property data.

// gbProp is a Grapheme_Cluster_Break property value as grapheme-splitter
// 1.0.4 knows them (the Unicode 10.0 set, with E_Base, E_Modifier,
// Glue_After_Zwj and E_Base_GAZ rather than Extended_Pictographic).
type gbProp uint8

const (
	gbOther gbProp = iota
	gbCR
	gbLF
	gbControl
	gbExtend
	gbRegionalIndicator
	gbSpacingMark
	gbL
	gbV
	gbT
	gbLV
	gbLVT
	gbPrepend
	gbEBase
	gbEModifier
	gbZWJ
	gbGlueAfterZWJ
	gbEBaseGAZ
)

// gbRange gives one property to the code points lo..hi.
type gbRange struct {
	lo, hi rune
	prop   gbProp
}

// gbProperty returns the grapheme break property of r.
func gbProperty(r rune) gbProp {
	if r >= 0x20 && r < 0x7F {
		return gbOther
	}
	if r >= 0xAC00 && r <= 0xD7A3 { // Hangul syllables: LV every 28th, else LVT.
		if (r-0xAC00)%28 == 0 {
			return gbLV
		}
		return gbLVT
	}
	lo, hi := 0, len(gbTable)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch {
		case r < gbTable[m].lo:
			hi = m
		case r > gbTable[m].hi:
			lo = m + 1
		default:
			return gbTable[m].prop
		}
	}
	return gbOther
}

// cluster is the state of the grapheme being built: the properties of its
// code points so far (its first, then what grapheme-splitter calls "mid") and
// running summaries of them, so each break decision is O(1) where the
// original rescans the whole cluster.
type cluster struct {
	props []gbProp
	// last index of a property in props, -1 when absent
	lastEMod, lastRI, lastExtend int
	// first index >= 1 whose property is not Extend / not RI; len(props) when none
	firstNonExtend, firstNonRI int
}

func (c *cluster) reset(p gbProp) {
	c.props = append(c.props[:0], p)
	c.lastEMod, c.lastRI, c.lastExtend = -1, -1, -1
	c.firstNonExtend, c.firstNonRI = 1, 1
	c.note(0, p)
}

func (c *cluster) push(p gbProp) {
	c.props = append(c.props, p)
	i := len(c.props) - 1
	c.note(i, p)
	if c.firstNonExtend == i && p == gbExtend {
		c.firstNonExtend = i + 1
	}
	if c.firstNonRI == i && p == gbRegionalIndicator {
		c.firstNonRI = i + 1
	}
}

func (c *cluster) note(i int, p gbProp) {
	switch p {
	case gbEModifier:
		c.lastEMod = i
	case gbRegionalIndicator:
		c.lastRI = i
	case gbExtend:
		c.lastExtend = i
	}
}

// breaksBefore reports whether a grapheme boundary falls before a code point
// of property next. It is grapheme-splitter's shouldBreak(start, mid, end)
// with "all" = props + [next]; the tests hold it to a literal port.
func (c *cluster) breaksBefore(next gbProp) bool {
	n := len(c.props) // index of next in "all"
	start, previous := c.props[0], c.props[n-1]

	// Lookahead terminator for GB10: an E_Modifier after non-base + Extends.
	eMod := c.lastEMod
	if next == gbEModifier {
		eMod = n
	}
	if eMod > 1 && c.firstNonExtend >= eMod &&
		start != gbExtend && start != gbEBase && start != gbEBaseGAZ {
		return true
	}
	// Lookahead terminator for GB12/GB13 (regional indicator pairs).
	ri := c.lastRI
	if next == gbRegionalIndicator {
		ri = n
	}
	if ri > 0 && c.firstNonRI >= ri && previous != gbPrepend && previous != gbRegionalIndicator {
		return true
	}

	switch {
	case previous == gbCR && next == gbLF: // GB3
		return false
	case previous == gbControl || previous == gbCR || previous == gbLF: // GB4
		return true
	case next == gbControl || next == gbCR || next == gbLF: // GB5
		return true
	case previous == gbL && (next == gbL || next == gbV || next == gbLV || next == gbLVT): // GB6
		return false
	case (previous == gbLV || previous == gbV) && (next == gbV || next == gbT): // GB7
		return false
	case (previous == gbLVT || previous == gbT) && next == gbT: // GB8
		return false
	case next == gbExtend || next == gbZWJ: // GB9
		return false
	case next == gbSpacingMark: // GB9a
		return false
	case previous == gbPrepend: // GB9b
		return false
	}

	// GB10 as grapheme-splitter writes it: the code point before the last
	// Extend (or the previous one when there is none) is an emoji base, only
	// Extends follow it, and next is an emoji modifier.
	if next == gbEModifier {
		base := n - 1
		if c.lastExtend >= 0 {
			base = c.lastExtend - 1
			if c.lastExtend != n-1 {
				base = -1 // something other than Extend follows the last Extend
			}
		}
		if base >= 0 && (c.props[base] == gbEBase || c.props[base] == gbEBaseGAZ) {
			return false
		}
	}
	if previous == gbZWJ && (next == gbGlueAfterZWJ || next == gbEBaseGAZ) { // GB11
		return false
	}
	if c.lastRI >= 1 { // GB12/13: a regional indicator already in mid
		return true
	}
	if previous == gbRegionalIndicator && next == gbRegionalIndicator {
		return false
	}
	return true // GB999
}

// grapheme is one user-perceived character of a body: its byte range in the
// body, its length in UTF-16 code units and its first code point.
type grapheme struct {
	start, end int
	units      int
	first      rune
}

// utf16Units is the number of UTF-16 code units r takes.
func utf16Units(r rune) int {
	if r >= 0x10000 && r <= utf8.MaxRune {
		return 2
	}
	return 1
}

// splitGraphemes cuts s into graphemes as the reference does: grapheme-splitter
// clusters, with a CR LF cluster then cut into CR and LF. Each byte of invalid
// UTF-8 is a code point of its own, U+FFFD, as in a Go range loop.
func splitGraphemes(s string) []grapheme {
	var (
		out = make([]grapheme, 0, utf8.RuneCountInString(s))
		c   cluster
		cur grapheme
	)
	emit := func() {
		if s[cur.start:cur.end] == "\r\n" {
			out = append(out,
				grapheme{start: cur.start, end: cur.start + 1, units: 1, first: '\r'},
				grapheme{start: cur.start + 1, end: cur.end, units: 1, first: '\n'})
			return
		}
		out = append(out, cur)
	}
	for i, r := range s {
		w := utf8.RuneLen(r)
		if r == utf8.RuneError {
			_, w = utf8.DecodeRuneInString(s[i:])
		}
		p := gbProperty(r)
		switch {
		case i == 0:
			c.reset(p)
			cur = grapheme{start: 0, first: r}
		case c.breaksBefore(p):
			emit()
			c.reset(p)
			cur = grapheme{start: i, first: r}
		default:
			c.push(p)
		}
		cur.end = i + w
		cur.units += utf16Units(r)
	}
	if len(s) > 0 {
		emit()
	}
	return out
}

// Cut returns the first n characters (graphemes, as segments count them) of
// s, and whether it cut anything: a character such as an emoji sequence or
// a letter with its accents is never split.
func Cut(s string, n int) (string, bool) {
	if utf8.RuneCountInString(s) <= n {
		return s, false
	}
	gs := splitGraphemes(s)
	if len(gs) <= n {
		return s, false
	}
	if n <= 0 {
		return "", true
	}
	return s[:gs[n-1].end], true
}
