package web

import (
	"context"
	"sync"
	"time"
)

// A page whose numbers are an aggregate over a whole window of messages
// (the program report reads every message of its 30 days, seconds on a
// million) shows them from a reportCache, as the flows list shows its
// figures (D92, D101): each period's report is computed in the background,
// kept for figuresTTL and then refreshed while the old one is still shown,
// with the time it was computed. Only a request that finds nothing yet for
// its period waits, at most figuresColdWait; past that the page says the
// numbers are being computed.

// reportCacheSize bounds the periods kept: the default one and a few a
// person picked lately; the least recently asked for goes first.
const reportCacheSize = 8

type reportCache[V any] struct {
	mu      sync.Mutex
	entries map[string]*cacheEntry[V]
}

type cacheEntry[V any] struct {
	v       V
	err     error
	at      time.Time     // when v (or err) was computed; zero: not yet
	used    time.Time     // when a page last asked for it
	running chan struct{} // closed when the computation under way ends
}

// cachedReport returns key's value, the time it was computed (zero when
// there is none yet) and the error its computation ended with. It starts
// a computation in the background when there is none or it is older than
// figuresTTL or it failed (an error is not kept: the next request tries
// again); a first one is waited for at most figuresColdWait.
func cachedReport[V any](ctx context.Context, u *UI, c *reportCache[V], key string, compute func(context.Context) (V, error)) (V, time.Time, error) {
	c.mu.Lock()
	now := u.now()
	if c.entries == nil {
		c.entries = map[string]*cacheEntry[V]{}
	}
	e := c.entries[key]
	if e == nil {
		if !c.evict() {
			// Every kept period is being computed: this one is computed
			// for this request alone, as the API computes it, so varied
			// periods never start more background work than the cache holds.
			c.mu.Unlock()
			v, err := compute(ctx)
			return v, now, err
		}
		e = &cacheEntry[V]{}
		c.entries[key] = e
	}
	e.used = now
	if (e.at.IsZero() || e.err != nil || now.Sub(e.at) >= figuresTTL) && e.running == nil && u.base.Err() == nil {
		done := make(chan struct{})
		e.running = done
		u.background.Add(1)
		go func() {
			defer u.background.Done()
			cctx, cancel := context.WithTimeout(u.base, figuresTimeout) // Stop cancels it
			v, err := compute(cctx)
			cancel()
			c.mu.Lock()
			if u.base.Err() == nil {
				e.v, e.err, e.at = v, err, now
			}
			e.running = nil
			c.mu.Unlock()
			close(done)
		}()
		if e.at.IsZero() {
			c.mu.Unlock()
			select {
			case <-done:
			case <-time.After(figuresColdWait):
			case <-ctx.Done():
			}
			c.mu.Lock()
		}
	}
	defer c.mu.Unlock()
	return e.v, e.at, e.err
}

// evict makes room for one more entry when the cache is full, dropping
// the least recently asked-for one that is not being computed; false when
// there is none to drop. Called with c.mu held.
func (c *reportCache[V]) evict() bool {
	if len(c.entries) < reportCacheSize {
		return true
	}
	var oldest string
	var at time.Time
	for k, e := range c.entries {
		if e.running == nil && (oldest == "" || e.used.Before(at)) {
			oldest, at = k, e.used
		}
	}
	if oldest == "" {
		return false
	}
	delete(c.entries, oldest)
	return true
}
