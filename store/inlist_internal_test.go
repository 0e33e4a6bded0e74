package store

import (
	"strings"
	"testing"
)

func TestInListPadsToAPowerOfTwo(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 100, 128, 129, 256, 5000} {
		values := make([]any, n)
		for i := range values {
			values[i] = i
		}
		in, padded := inList(values)
		want := n
		for want&(want-1) != 0 && want < maxParams { // next power of two
			want++
		}
		if n == 5000 {
			want = n // 8192 would pass maxParams: left as is
		}
		if len(padded) != want || strings.Count(in, "?") != want {
			t.Errorf("n=%d: %d values, %d placeholders, want %d", n, len(padded), strings.Count(in, "?"), want)
			continue
		}
		for i, v := range padded {
			if w := min(i, n-1); v != w {
				t.Errorf("n=%d: value %d is %v, want %d", n, i, v, w)
				break
			}
		}
	}
}
