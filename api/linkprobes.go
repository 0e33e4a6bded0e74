package api

import (
	"sync"
	"time"
)

// Unknown tracked-link codes each client may look up: a burst of
// linkProbeBurst, then one more every linkProbeEvery. A person who mistypes
// a link tries a few times; a program guessing codes tries thousands.
const (
	linkProbeBurst = 20
	linkProbeEvery = 3 * time.Second
	// linkProbeClients bounds the clients remembered (each a few dozen
	// bytes). Clients beyond it, while every remembered one is still
	// paying off its probes, share one budget, so an attacker with many
	// addresses cannot grow the table nor escape the limit.
	linkProbeClients = 10000
)

// linkProbes limits lookups of unknown link codes per client: a token
// bucket per client address, in memory (each node limits on its own). Only
// unknown codes spend from it; a known code always redirects, so a real
// click is never refused, even from an address that probed (behind a
// proxy, every visitor shares the proxy's address).
type linkProbes struct {
	mu       sync.Mutex
	clients  map[string]*probeBucket
	overflow probeBucket
	swept    time.Time
}

// probeBucket holds tokens lookups at time at; a bucket never seen is full.
type probeBucket struct {
	tokens  float64
	at      time.Time
	refused bool // the last lookup was refused (to log only the first)
}

func newLinkProbes() *linkProbes {
	return &linkProbes{clients: map[string]*probeBucket{}, overflow: probeBucket{tokens: linkProbeBurst}}
}

// spend takes one unknown-code lookup from the client's budget at now.
// ok=false when the budget is spent: retry says when the next lookup is
// allowed, and first whether this is the first refusal since one was
// allowed.
func (l *linkProbes) spend(client string, now time.Time) (ok bool, retry time.Duration, first bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(client, now)
	b.refill(now)
	if b.tokens >= 1 {
		b.tokens--
		b.refused = false
		return true, 0, false
	}
	first = !b.refused
	b.refused = true
	return false, time.Duration((1 - b.tokens) * float64(linkProbeEvery)), first
}

// bucket returns the client's bucket, making room in a full table by
// forgetting clients whose buckets have refilled (they hold no state), at
// most once per linkProbeEvery so that a flood of new addresses costs no
// more than one scan per period.
func (l *linkProbes) bucket(client string, now time.Time) *probeBucket {
	if b, ok := l.clients[client]; ok {
		return b
	}
	if len(l.clients) >= linkProbeClients && now.Sub(l.swept) >= linkProbeEvery {
		l.swept = now
		for k, b := range l.clients {
			if b.full(now) {
				delete(l.clients, k)
			}
		}
	}
	if len(l.clients) >= linkProbeClients {
		return &l.overflow
	}
	b := &probeBucket{tokens: linkProbeBurst, at: now}
	l.clients[client] = b
	return b
}

func (b *probeBucket) refill(now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(linkProbeBurst, b.tokens+float64(d)/float64(linkProbeEvery))
		b.at = now
	}
}

func (b *probeBucket) full(now time.Time) bool {
	return b.tokens+float64(now.Sub(b.at))/float64(linkProbeEvery) >= linkProbeBurst
}
