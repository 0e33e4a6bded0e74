package engine

import (
	"math"
	"strings"
	"testing"
)

// TestLinkCodeProperties checks what the issue asks of tracked link codes:
// at most 8 characters, from the look-alike-free alphabet, at least 40 bits
// of entropy, and no letter favoured at any position (a bias would lower the
// entropy below the nominal figure).
func TestLinkCodeProperties(t *testing.T) {
	if LinkCodeLength > 8 {
		t.Fatalf("LinkCodeLength %d: codes must be at most 8 characters", LinkCodeLength)
	}
	if bits := float64(LinkCodeLength) * math.Log2(float64(len(linkAlphabet))); bits < 40 {
		t.Fatalf("codes carry %.1f bits, want at least 40", bits)
	}
	for _, c := range "0O1lI" {
		if strings.ContainsRune(linkAlphabet, c) {
			t.Errorf("alphabet has the look-alike %q", c)
		}
	}

	const n = 40000
	counts := make([]map[byte]int, LinkCodeLength)
	for i := range counts {
		counts[i] = map[byte]int{}
	}
	seen := make(map[string]bool, n)
	for range n {
		code := newLinkCode()
		if len(code) != LinkCodeLength {
			t.Fatalf("code %q has %d characters, want %d", code, len(code), LinkCodeLength)
		}
		if seen[code] {
			t.Fatalf("code %q came twice in %d draws", code, n)
		}
		seen[code] = true
		for i := 0; i < len(code); i++ {
			if !strings.ContainsRune(linkAlphabet, rune(code[i])) {
				t.Fatalf("code %q has %q, outside the alphabet", code, code[i])
			}
			counts[i][code[i]]++
		}
	}
	// Chi-square per position, 55 degrees of freedom: a uniform draw exceeds
	// 120 about once in a million runs. A modulo-biased draw (5/256 vs
	// 4/256) scores about 500 at this sample size.
	k := float64(len(linkAlphabet))
	expected := n / k
	for pos, c := range counts {
		chi := 0.0
		for i := 0; i < len(linkAlphabet); i++ {
			d := float64(c[linkAlphabet[i]]) - expected
			chi += d * d / expected
		}
		if chi > 120 {
			t.Errorf("position %d: letters are not uniform (chi-square %.0f > 120)", pos, chi)
		}
	}
}
