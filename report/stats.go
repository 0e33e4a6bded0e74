package report

import "math"

// Z95 is the standard normal quantile for a two-sided 95% interval,
// Φ⁻¹(0.975).
const Z95 = 1.959963984540054

// MinGroupSize is the smallest group (runs entered) a comparison is made
// for. Below it the report says "not enough data" instead of printing an
// interval or a p-value: the normal approximations behind the z-test are
// poor for tiny groups and a marketer would read noise as a result.
const MinGroupSize = 30

// Interval is a confidence interval [Low, High].
type Interval struct {
	Low, High float64
}

// Wilson returns the Wilson score interval for a proportion x/n at normal
// quantile z (Wilson 1927; recommended by Agresti & Coull 1998 and by
// Newcombe 1998a, "Two-sided confidence intervals for the single proportion",
// Statistics in Medicine 17:857–872, method 3):
//
//	p̂ = x/n
//	centre = (p̂ + z²/2n) / (1 + z²/n)
//	half   = z/(1 + z²/n) · √(p̂(1−p̂)/n + z²/4n²)
//	[centre − half, centre + half]
//
// Unlike the Wald interval it stays inside [0, 1] and is sensible for x = 0
// and x = n. ok is false when n ≤ 0 or x is outside [0, n] (no proportion).
func Wilson(x, n int64, z float64) (iv Interval, ok bool) {
	if n <= 0 || x < 0 || x > n {
		return Interval{}, false
	}
	nf, p := float64(n), float64(x)/float64(n)
	z2 := z * z
	denom := 1 + z2/nf
	centre := (p + z2/(2*nf)) / denom
	half := z / denom * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	lo, hi := centre-half, centre+half
	// The formula gives exactly 0 at x = 0 and 1 at x = n; clamp rounding.
	if x == 0 || lo < 0 {
		lo = 0
	}
	if x == n || hi > 1 {
		hi = 1
	}
	return Interval{lo, hi}, true
}

// NewcombeDiff returns the 95% (for z = Z95) hybrid score interval for the
// difference of two independent proportions p̂₁ − p̂₂ = x1/n1 − x2/n2:
// Newcombe (1998b), "Interval estimation for the difference between
// independent proportions: comparison of eleven methods", Statistics in
// Medicine 17:873–890, method 10. With Wilson intervals (l₁, u₁) for p̂₁ and
// (l₂, u₂) for p̂₂:
//
//	δ = √((p̂₁ − l₁)² + (u₂ − p̂₂)²)
//	ε = √((u₁ − p̂₁)² + (p̂₂ − l₂)²)
//	[p̂₁ − p̂₂ − δ, p̂₁ − p̂₂ + ε]
//
// It has close to nominal coverage even for small groups and proportions
// near 0 or 1, where the Wald interval fails. ok is false when either group
// is empty.
func NewcombeDiff(x1, n1, x2, n2 int64, z float64) (iv Interval, ok bool) {
	w1, ok1 := Wilson(x1, n1, z)
	w2, ok2 := Wilson(x2, n2, z)
	if !ok1 || !ok2 {
		return Interval{}, false
	}
	p1, p2 := float64(x1)/float64(n1), float64(x2)/float64(n2)
	d := p1 - p2
	delta := math.Hypot(p1-w1.Low, w2.High-p2)
	eps := math.Hypot(w1.High-p1, p2-w2.Low)
	return Interval{math.Max(-1, d-delta), math.Min(1, d+eps)}, true
}

// TwoProportionZ is the pooled two-proportion z-test of H₀: p₁ = p₂ against
// the two-sided alternative (e.g. Agresti, Categorical Data Analysis, 2nd
// ed. 2002, §3.1.6; z² equals Pearson's X² for the 2×2 table):
//
//	p̄ = (x1 + x2) / (n1 + n2)
//	z = (x1/n1 − x2/n2) / √(p̄(1 − p̄)(1/n1 + 1/n2))
//	p = 2(1 − Φ(|z|)) = erfc(|z|/√2)
//
// ok is false when the test is undefined: an empty group, or a pooled
// proportion of 0 or 1 (nobody or everybody converted: no variance).
func TwoProportionZ(x1, n1, x2, n2 int64) (z, p float64, ok bool) {
	if n1 <= 0 || n2 <= 0 || x1 < 0 || x2 < 0 || x1 > n1 || x2 > n2 {
		return 0, 0, false
	}
	pooled := float64(x1+x2) / float64(n1+n2)
	if pooled == 0 || pooled == 1 {
		return 0, 0, false
	}
	se := math.Sqrt(pooled * (1 - pooled) * (1/float64(n1) + 1/float64(n2)))
	z = (float64(x1)/float64(n1) - float64(x2)/float64(n2)) / se
	return z, math.Erfc(math.Abs(z) / math.Sqrt2), true
}

// Comparison is a treatment-versus-reference comparison of conversion
// rates, with "not enough data" instead of numbers that would mislead.
type Comparison struct {
	// Enough is false when a group is smaller than MinGroupSize or when the
	// groups together have no conversion (or nothing but conversions); the
	// fields below are then nil and Note says why.
	Enough   bool      `json:"enough_data"`
	Note     string    `json:"note,omitempty"`
	Absolute *float64  `json:"absolute"` // p̂₁ − p̂₂
	Relative *float64  `json:"relative"` // (p̂₁ − p̂₂) / p̂₂; nil when p̂₂ = 0
	CI95     []float64 `json:"ci95"`     // Newcombe hybrid score [low, high] for p̂₁ − p̂₂
	PValue   *float64  `json:"p_value"`  // two-sided pooled z-test
}

// Compare compares x1/n1 (treatment, variant) with x2/n2 (control, first
// variant) under the MinGroupSize rule.
func Compare(x1, n1, x2, n2 int64) Comparison {
	switch {
	case n1 < MinGroupSize || n2 < MinGroupSize:
		return Comparison{Note: notEnough("each group needs at least %d entries (have %d and %d)", MinGroupSize, n1, n2)}
	case x1+x2 == 0:
		return Comparison{Note: notEnough("no conversions in either group yet")}
	case x1+x2 == n1+n2:
		return Comparison{Note: notEnough("every entry converted in both groups: nothing to compare")}
	}
	iv, ok1 := NewcombeDiff(x1, n1, x2, n2, Z95)
	_, p, ok2 := TwoProportionZ(x1, n1, x2, n2)
	if !ok1 || !ok2 { // unreachable after the checks above; never print NaN
		return Comparison{Note: notEnough("the groups are empty")}
	}
	p1, p2 := float64(x1)/float64(n1), float64(x2)/float64(n2)
	c := Comparison{Enough: true, Absolute: ptr(p1 - p2), CI95: []float64{iv.Low, iv.High}, PValue: ptr(p)}
	if p2 > 0 {
		c.Relative = ptr((p1 - p2) / p2)
	}
	return c
}
