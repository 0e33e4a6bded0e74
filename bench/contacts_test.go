package bench

import (
	"slices"
	"sort"
	"testing"

	"github.com/smsflow/smsflow/phone"
)

// TestBroadcastPhones checks the benchmark's numbers over their whole range
// (a sample) and the first 2,000 in full: each is a valid US number that
// libphonenumber classes fixed_line_or_mobile in the zone the contact gets,
// and no two are the same.
func TestBroadcastPhones(t *testing.T) {
	seen := map[string]int{}
	check := func(i int) {
		got, zone := Phone(i)
		if j, dup := seen[got]; dup {
			t.Fatalf("contacts %d and %d share %s", j, i, got)
		}
		seen[got] = i
		n, err := phone.Parse(got, "")
		if err != nil {
			t.Fatalf("contact %d: %s: %v", i, got, err)
		}
		if n.E164 != got || n.Type != "fixed_line_or_mobile" || !slices.Contains(n.Timezones, zone) {
			t.Fatalf("contact %d: %s parses as %+v, want E.164 %s, fixed_line_or_mobile, zone %s", i, got, n, got, zone)
		}
	}
	for i := range 2_000 {
		check(i)
	}
	for i := 10_000; i < broadcastCapacity; i += 9973 {
		check(i)
	}
	check(broadcastCapacity - 1)
}

// TestBroadcastContactIDs checks that contact ids sort in creation order
// (the segment scan's cursor walks them by id).
func TestBroadcastContactIDs(t *testing.T) {
	for _, n := range []int{10, 1_000_000, 12_345_678} {
		idx := []int{0, 1, 9, n / 2, n - 2, n - 1}
		slices.Sort(idx)
		idx = slices.Compact(idx)
		ids := make([]string, len(idx))
		for k, i := range idx {
			ids[k] = broadcastContactID(i, n)
		}
		if !sort.StringsAreSorted(ids) {
			t.Errorf("n=%d: ids %v do not sort in creation order", n, ids)
		}
	}
}
