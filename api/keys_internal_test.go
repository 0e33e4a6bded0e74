package api

import (
	"testing"
	"time"
)

// A replaced write key's grace ends at most WriteKeyGrace from now, whatever
// end is stored: a node whose clock ran ahead cannot keep a key alive.
func TestWriteKeyGraceIsBoundedByNow(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	k := Keys{Write: "wk_new", PreviousWrite: []PreviousKey{
		{Key: "wk_far", Until: now.Add(30 * 24 * time.Hour)},
		{Key: "wk_ok", Until: now.Add(time.Hour)},
		{Key: "wk_gone", Until: now.Add(-time.Second)},
	}}
	for key, want := range map[string]bool{"wk_new": true, "wk_ok": true, "wk_far": false, "wk_gone": false} {
		if got := k.writeKeyOK(key, now); got != want {
			t.Errorf("%s works: %v, want %v", key, got, want)
		}
	}
	if g := k.InGrace(now); len(g) != 1 || g[0].Key != "wk_ok" {
		t.Errorf("in grace: %+v, want wk_ok alone", g)
	}
}
