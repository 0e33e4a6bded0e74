package report

import "fmt"

// ptr returns a pointer to v (JSON null stands for "undefined").
func ptr(v float64) *float64 { return &v }

// ratio returns num/den, or nil when den is 0 (a rate of nothing is
// undefined, not zero).
func ratio(num, den float64) *float64 {
	if den == 0 {
		return nil
	}
	return ptr(num / den)
}

// notEnough formats the "not enough data" note of a comparison.
func notEnough(format string, args ...any) string {
	return "not enough data: " + fmt.Sprintf(format, args...)
}
