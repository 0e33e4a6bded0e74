package smpp

import (
	"sync"
	"time"
)

// partsKey identifies one concatenated inbound message.
type partsKey struct {
	from, to string
	ref      uint16
	total    int
}

// partsEntry holds the parts of a concatenated message received so far.
type partsEntry struct {
	parts map[int][]byte
	first time.Time
}

// reassembly holds the parts of concatenated inbound messages until all are
// in. The raw bytes are joined before decoding, so a character cut between
// two parts (a UTF-16 surrogate pair, a GSM escape pair) comes out whole.
// Incomplete messages are forgotten after keep, and at most max are held.
type reassembly struct {
	mu   sync.Mutex
	keep time.Duration
	max  int
	m    map[partsKey]*partsEntry
	now  func() time.Time
}

func newReassembly(keep time.Duration, max int) *reassembly {
	return &reassembly{keep: keep, max: max, m: map[partsKey]*partsEntry{}, now: time.Now}
}

// add stores part (1-based) of k. When every part is in, it returns their
// bytes joined in order and complete; the entry stays until remove, so a
// message whose delivery to Events failed is still whole when the SMSC
// sends its last part again.
func (r *reassembly) add(k partsKey, part int, b []byte) (joined []byte, complete bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	for key, e := range r.m { // forget what waited too long
		if now.Sub(e.first) > r.keep {
			delete(r.m, key)
		}
	}
	e := r.m[k]
	if e == nil {
		if len(r.m) >= r.max {
			r.dropOldest()
		}
		e = &partsEntry{parts: map[int][]byte{}, first: now}
		r.m[k] = e
	}
	e.parts[part] = append([]byte(nil), b...)
	if len(e.parts) < k.total {
		return nil, false
	}
	for i := 1; i <= k.total; i++ {
		joined = append(joined, e.parts[i]...)
	}
	return joined, true
}

// remove forgets k.
func (r *reassembly) remove(k partsKey) {
	r.mu.Lock()
	delete(r.m, k)
	r.mu.Unlock()
}

func (r *reassembly) dropOldest() {
	var oldest partsKey
	var t time.Time
	for k, e := range r.m {
		if t.IsZero() || e.first.Before(t) {
			oldest, t = k, e.first
		}
	}
	delete(r.m, oldest)
}
