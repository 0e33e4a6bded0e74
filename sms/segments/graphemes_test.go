package segments

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// literalShouldBreak is grapheme-splitter 1.0.4's shouldBreak transcribed
// line by line (all = [start, ...mid, end]); it is slow on long clusters,
// which is why the package keeps running summaries instead. The two must
// agree on every sequence.
func literalShouldBreak(start gbProp, mid []gbProp, end gbProp) bool {
	all := append(append([]gbProp{start}, mid...), end)
	previous := all[len(all)-2]
	next := end
	every := func(s []gbProp, p gbProp) bool {
		for _, c := range s {
			if c != p {
				return false
			}
		}
		return true
	}
	lastIndex := func(s []gbProp, p gbProp) int {
		for i := len(s) - 1; i >= 0; i-- {
			if s[i] == p {
				return i
			}
		}
		return -1
	}
	in := func(p gbProp, set ...gbProp) bool { return slices.Contains(set, p) }

	if i := lastIndex(all, gbEModifier); i > 1 && every(all[1:i], gbExtend) && !in(start, gbExtend, gbEBase, gbEBaseGAZ) {
		return true
	}
	if i := lastIndex(all, gbRegionalIndicator); i > 0 && every(all[1:i], gbRegionalIndicator) && !in(previous, gbPrepend, gbRegionalIndicator) {
		return true
	}
	if previous == gbCR && next == gbLF {
		return false
	} else if in(previous, gbControl, gbCR, gbLF) {
		return true
	} else if in(next, gbControl, gbCR, gbLF) {
		return true
	} else if previous == gbL && in(next, gbL, gbV, gbLV, gbLVT) {
		return false
	} else if in(previous, gbLV, gbV) && in(next, gbV, gbT) {
		return false
	} else if in(previous, gbLVT, gbT) && next == gbT {
		return false
	} else if in(next, gbExtend, gbZWJ) {
		return false
	} else if next == gbSpacingMark {
		return false
	} else if previous == gbPrepend {
		return false
	}
	pnei := len(all) - 2
	if slices.Contains(all, gbExtend) {
		pnei = lastIndex(all, gbExtend) - 1
	}
	if pnei >= 0 && in(all[pnei], gbEBase, gbEBaseGAZ) && every(all[pnei+1:len(all)-1], gbExtend) && next == gbEModifier {
		return false
	}
	if previous == gbZWJ && in(next, gbGlueAfterZWJ, gbEBaseGAZ) {
		return false
	}
	if slices.Contains(mid, gbRegionalIndicator) {
		return true
	}
	if previous == gbRegionalIndicator && next == gbRegionalIndicator {
		return false
	}
	return true
}

// literalBreaks returns the indexes of props before which grapheme-splitter
// breaks, by its nextBreak loop.
func literalBreaks(props []gbProp) []int {
	var breaks []int
	for i := 0; i < len(props); {
		start, mid := props[i], []gbProp{}
		j := i + 1
		for ; j < len(props); j++ {
			if literalShouldBreak(start, mid, props[j]) {
				break
			}
			mid = append(mid, props[j])
		}
		if j < len(props) {
			breaks = append(breaks, j)
		}
		i = j
	}
	return breaks
}

func clusterBreaks(props []gbProp) []int {
	var (
		c      cluster
		breaks []int
	)
	for i, p := range props {
		switch {
		case i == 0:
			c.reset(p)
		case c.breaksBefore(p):
			breaks = append(breaks, i)
			c.reset(p)
		default:
			c.push(p)
		}
	}
	return breaks
}

func TestClusterAgreesWithLiteralPort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// Weighted toward the properties whose rules interact.
	pool := []gbProp{gbOther, gbCR, gbLF, gbControl, gbExtend, gbExtend, gbExtend, gbRegionalIndicator,
		gbRegionalIndicator, gbRegionalIndicator, gbSpacingMark, gbL, gbV, gbT, gbLV, gbLVT, gbPrepend,
		gbPrepend, gbEBase, gbEBase, gbEModifier, gbEModifier, gbZWJ, gbZWJ, gbGlueAfterZWJ, gbEBaseGAZ}
	for n := range 200000 {
		props := make([]gbProp, 1+rng.IntN(12))
		for i := range props {
			props[i] = pool[rng.IntN(len(pool))]
		}
		if got, want := clusterBreaks(props), literalBreaks(props); !slices.Equal(got, want) {
			t.Fatalf("case %d, props %v: breaks %v, literal port %v", n, props, got, want)
		}
	}
	// Every pair and triple, exhaustively.
	for a := gbOther; a <= gbEBaseGAZ; a++ {
		for b := gbOther; b <= gbEBaseGAZ; b++ {
			for c := gbOther; c <= gbEBaseGAZ; c++ {
				props := []gbProp{a, b, c}
				if got, want := clusterBreaks(props), literalBreaks(props); !slices.Equal(got, want) {
					t.Fatalf("props %v: breaks %v, literal port %v", props, got, want)
				}
			}
		}
	}
}

func TestGBProperty(t *testing.T) {
	tests := []struct {
		r    rune
		want gbProp
	}{
		{'a', gbOther}, {'\r', gbCR}, {'\n', gbLF}, {'\t', gbControl}, {0x0301, gbExtend},
		{0x200D, gbZWJ}, {0xFE0F, gbExtend}, {0x1F1EE, gbRegionalIndicator}, {0x0903, gbSpacingMark},
		{0x1100, gbL}, {0x1161, gbV}, {0x11A8, gbT}, {0xAC00, gbLV}, {0xAC01, gbLVT}, {0xD7A3, gbLVT},
		{0x0600, gbPrepend}, {0x1F44D, gbEBase}, {0x1F3FD, gbEModifier}, {0x2764, gbGlueAfterZWJ},
		{0x1F466, gbEBaseGAZ}, {0x1F600, gbOther}, {0xFFFD, gbOther}, {0x10FFFF, gbOther},
		{0x1F9D1, gbEBase}, {0x1F91D, gbOther}, // so the reference cuts 🧑‍🤝‍🧑 after each ZWJ
	}
	for _, tt := range tests {
		if got, want := gbProperty(tt.r), tt.want; got != want {
			t.Errorf("gbProperty(%U) = %d, want %d", tt.r, got, want)
		}
	}
	for i := 1; i < len(gbTable); i++ {
		if gbTable[i-1].hi >= gbTable[i].lo || gbTable[i].lo > gbTable[i].hi {
			t.Fatalf("gbTable not sorted and disjoint at %d: %v %v", i, gbTable[i-1], gbTable[i])
		}
	}
}

func TestSplitGraphemes(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"ab", []string{"a", "b"}},
		{"\r\n", []string{"\r", "\n"}}, // the reference cuts the CR LF cluster in two
		{"a\r\n\r\nb", []string{"a", "\r", "\n", "\r", "\n", "b"}},
		{"e\u0301\u0301x", []string{"e\u0301\u0301", "x"}},
		{"👍🏽!", []string{"👍🏽", "!"}},
		{"👨‍👩‍👧‍👦", []string{"👨‍👩‍👧‍👦"}},
		{"🏳️‍🌈", []string{"🏳️‍🌈"}},
		{"🇮🇹🇺🇸🇦", []string{"🇮🇹", "🇺🇸", "🇦"}},
		{"1️⃣", []string{"1️⃣"}},
		{"🧑‍🤝‍🧑", []string{"🧑‍", "🤝‍", "🧑"}}, // no GB11 for these in Unicode 10
		{"한글", []string{"한", "글"}},
		{"\u1100\u1161\u11a8", []string{"\u1100\u1161\u11a8"}},
		{"\u0600a", []string{"\u0600a"}},
		{"a\xffb", []string{"a", "\xff", "b"}},
		{"\xe2\x80", []string{"\xe2", "\x80"}},
		{"\u0301", []string{"\u0301"}},
	}
	for _, tt := range tests {
		var got []string
		for _, g := range splitGraphemes(tt.in) {
			got = append(got, tt.in[g.start:g.end])
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("splitGraphemes(%+q) = %+q, want %+q", tt.in, got, tt.want)
		}
	}
}

func TestSplitGraphemesUnits(t *testing.T) {
	gs := splitGraphemes("a😀👨‍👩‍👧‍👦\xff")
	var units []int
	for _, g := range gs {
		units = append(units, g.units)
	}
	if got, want := units, []int{1, 2, 11, 1}; !slices.Equal(got, want) {
		t.Errorf("units = %v, want %v", got, want)
	}
}
