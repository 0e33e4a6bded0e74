package policy

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestStateCacheMatchesParser checks the prefix cache of StateForNumber:
// for random NANP numbers, the cached answer (first asked with another line
// number of the same NPA-NXX) equals the parser's answer for the number
// itself, so the geocoding data has no prefix longer than NPA-NXX.
func TestStateCacheMatchesParser(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for i := 0; i < 5000; i++ {
		npa, nxx := 201+r.IntN(789), 200+r.IntN(800)
		first := fmt.Sprintf("+1%03d%03d%04d", npa, nxx, r.IntN(10000))
		StateForNumber(first) // fills the cache for the prefix
		for j := 0; j < 3; j++ {
			n := fmt.Sprintf("+1%03d%03d%04d", npa, nxx, r.IntN(10000))
			if got, want := StateForNumber(n), stateForNumber(n); got != want {
				t.Fatalf("StateForNumber(%s) = %q from the cache (filled by %s), the parser says %q", n, got, first, want)
			}
		}
	}
	if got, want := StateForNumber("+14155550100"), "CA"; got != want {
		t.Errorf("StateForNumber(+14155550100) = %q, want %q", got, want)
	}
	if got := StateForNumber("+4915123456789"); got != "" {
		t.Errorf("a German number has state %q, want none", got)
	}
}
