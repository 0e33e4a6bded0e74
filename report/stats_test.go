package report

import (
	"math"
	"testing"
)

// round4 rounds to the 4 decimals the published tables print.
func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

// Newcombe (1998a), Statistics in Medicine 17:857–872, Table I, method 3
// (score interval without continuity correction), 95%.
func TestWilsonNewcombe1998aTableI(t *testing.T) {
	for _, c := range []struct {
		x, n      int64
		low, high float64
	}{
		{81, 263, 0.2553, 0.3662},
		{15, 148, 0.0624, 0.1605},
		{0, 20, 0, 0.1611},
		{1, 29, 0.0061, 0.1718},
	} {
		iv, ok := Wilson(c.x, c.n, Z95)
		if !ok {
			t.Fatalf("Wilson(%d, %d) not ok", c.x, c.n)
		}
		if round4(iv.Low) != c.low || round4(iv.High) != c.high {
			t.Errorf("Wilson(%d/%d) = [%.4f, %.4f], Newcombe 1998a gives [%.4f, %.4f]", c.x, c.n, iv.Low, iv.High, c.low, c.high)
		}
	}
}

// Newcombe (1998b), Statistics in Medicine 17:873–890, Table II, method 10
// (hybrid score), the eight worked examples (a)–(h).
func TestNewcombeDiff1998bTableII(t *testing.T) {
	for _, c := range []struct {
		name           string
		x1, n1, x2, n2 int64
		low, high      float64
	}{
		{"a", 56, 70, 48, 80, 0.0524, 0.3339},
		{"b", 9, 10, 3, 10, 0.1705, 0.8090},
		{"c", 6, 7, 2, 7, 0.0582, 0.8062},
		{"d", 5, 56, 0, 29, -0.0381, 0.1926},
		{"e", 0, 10, 0, 20, -0.1611, 0.2775},
		{"f", 0, 10, 0, 10, -0.2775, 0.2775},
		{"g", 10, 10, 0, 20, 0.6791, 1},
		{"h", 10, 10, 0, 10, 0.6075, 1},
	} {
		iv, ok := NewcombeDiff(c.x1, c.n1, c.x2, c.n2, Z95)
		if !ok {
			t.Fatalf("(%s) not ok", c.name)
		}
		if round4(iv.Low) != c.low || round4(iv.High) != c.high {
			t.Errorf("(%s) %d/%d − %d/%d: [%.4f, %.4f], Newcombe 1998b gives [%.4f, %.4f]",
				c.name, c.x1, c.n1, c.x2, c.n2, iv.Low, iv.High, c.low, c.high)
		}
	}
}

// Agresti, Categorical Data Analysis (2nd ed., 2002), the Physicians' Health
// Study table (myocardial infarction: placebo 189/11034, aspirin 104/11037):
// Pearson X² = 25.01, and z² = X² for the pooled two-proportion test.
func TestTwoProportionZAgrestiAspirin(t *testing.T) {
	z, p, ok := TwoProportionZ(189, 11034, 104, 11037)
	if !ok {
		t.Fatal("not ok")
	}
	if got := math.Round(z*z*100) / 100; got != 25.01 {
		t.Errorf("z² = %.4f, want X² = 25.01", z*z)
	}
	// Two-sided p for X² = 25.01 on 1 df is about 5.7e-7.
	if p < 5.6e-7 || p > 5.8e-7 {
		t.Errorf("p = %g, want ≈ 5.7e-7", p)
	}
	// Newcombe's example (a), 56/70 vs 48/80: X² = 7.023, p = 0.0080.
	z, p, _ = TwoProportionZ(56, 70, 48, 80)
	if math.Round(z*z*1000)/1000 != 7.023 || round4(p) != 0.0080 {
		t.Errorf("56/70 vs 48/80: z² = %.4f p = %.4f, want 7.023 and 0.0080", z*z, p)
	}
	// Symmetric: swapping the groups flips z, not p.
	z2, p2, _ := TwoProportionZ(48, 80, 56, 70)
	if z2 != -z || p2 != p {
		t.Errorf("swap: z %v p %v, want %v %v", z2, p2, -z, p)
	}
}

func TestStatsEdges(t *testing.T) {
	if _, ok := Wilson(0, 0, Z95); ok {
		t.Error("Wilson of an empty group must not be ok")
	}
	if _, ok := Wilson(3, 2, Z95); ok {
		t.Error("Wilson with x > n must not be ok")
	}
	if _, ok := NewcombeDiff(1, 10, 0, 0, Z95); ok {
		t.Error("Newcombe with an empty group must not be ok")
	}
	for _, c := range [][4]int64{{0, 50, 0, 50}, {50, 50, 40, 40}, {1, 0, 1, 10}} {
		if z, p, ok := TwoProportionZ(c[0], c[1], c[2], c[3]); ok {
			t.Errorf("z-test %v must be undefined, got z=%v p=%v", c, z, p)
		}
	}
	// Comparisons refuse tiny groups and zero conversions, with a reason.
	for _, c := range []struct {
		x1, n1, x2, n2 int64
	}{{1, 5, 0, 5}, {10, 100, 1, 29}, {0, 100, 0, 100}, {100, 100, 50, 50}} {
		got := Compare(c.x1, c.n1, c.x2, c.n2)
		if got.Enough || got.Note == "" || got.CI95 != nil || got.PValue != nil || got.Absolute != nil {
			t.Errorf("Compare%v = %+v, want not enough data with a note and no numbers", c, got)
		}
	}
	// Enough data: numbers, finite, consistent with the functions above.
	got := Compare(56, 70, 48, 80)
	if !got.Enough || got.PValue == nil || len(got.CI95) != 2 {
		t.Fatalf("Compare(56/70, 48/80) = %+v", got)
	}
	if round4(got.CI95[0]) != 0.0524 || round4(got.CI95[1]) != 0.3339 || round4(*got.Absolute) != 0.2 || round4(*got.Relative) != 0.3333 {
		t.Errorf("Compare(56/70, 48/80) = ci %v abs %v rel %v", got.CI95, *got.Absolute, *got.Relative)
	}
	// A control with zero conversions has no relative lift but an interval.
	got = Compare(5, 56, 0, 40)
	if !got.Enough || got.Relative != nil || got.CI95 == nil {
		t.Errorf("Compare(5/56, 0/40) = %+v, want an interval and no relative lift", got)
	}
}
