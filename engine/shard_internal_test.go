package engine

import (
	"fmt"
	"testing"
)

// Every contact belongs to exactly one shard, and the shards are about even.
func TestAudienceShardsPartitionContacts(t *testing.T) {
	const n, contacts = AudienceShards, 20000
	counts := make([]int, n)
	for c := range contacts {
		id := fmt.Sprintf("contact-%d", c)
		owners := 0
		for i := range n {
			if inShard(id, i, n) {
				owners++
				counts[i]++
			}
		}
		if owners != 1 {
			t.Fatalf("%s is in %d shards, want exactly 1", id, owners)
		}
	}
	for i, c := range counts {
		if c < contacts/n*9/10 || c > contacts/n*11/10 {
			t.Errorf("shard %d has %d of %d contacts; want about %d", i, c, contacts, contacts/n)
		}
	}
	for _, key := range []string{"at:2026-12-04T10:00:00Z", "daily:2026-12-04", "local:10:00"} {
		if base, i, k := splitShard(shardKey(key, 2, 4)); base != key || i != 2 || k != 4 {
			t.Errorf("splitShard(shardKey(%q, 2, 4)) = %q %d %d", key, base, i, k)
		}
		if shardKey(key, 0, 1) != key {
			t.Errorf("one shard must keep the plain key %q", key)
		}
		if base, i, k := splitShard(key); base != key || i != 0 || k != 1 {
			t.Errorf("splitShard(%q) = %q %d %d; want the key, 0, 1", key, base, i, k)
		}
	}
	if base, i, k := splitShard("at:x#9/4"); base != "at:x#9/4" || i != 0 || k != 1 {
		t.Errorf("a malformed shard must read as one plain job, got %q %d %d", base, i, k)
	}
}
