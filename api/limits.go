package api

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/config"
)

// Ingestion limits (limits.ingest_per_ip, limits.ingest_per_key) count
// events, not requests: a batch of 500 costs what 500 single calls cost, so
// batching cannot multiply what one address or one key may cause. Each
// limit is a token bucket per node, as large as the limit's count ("200/s":
// 200, "1000/m": 1000), refilled at its rate. A
// request is let in while its bucket is not empty and then pays for all its
// events, which may leave the bucket in debt: any batch Segment allows gets
// through, and the average stays at the rate. A refused request answers 429
// with Retry-After, which Segment's libraries honour.

// maxAddresses bounds the per-address buckets one node keeps. Only
// addresses that sent something in the last seconds need one (a full
// bucket is dropped), so the bound is reached only under a flood from more
// addresses than the per-key limit lets through; then new addresses wait.
const maxAddresses = 1 << 17

// ingestLimits are one node's ingestion buckets.
type ingestLimits struct {
	perIP, perKey *buckets
}

func newIngestLimits(perIP, perKey config.EventRate) *ingestLimits {
	return &ingestLimits{perIP: newBuckets(perIP, maxAddresses), perKey: newBuckets(perKey, 16)}
}

// buckets are token buckets by key, all with one rate; nil means no limit.
type buckets struct {
	rate  float64 // tokens per second
	burst float64 // a full bucket: the limit's count
	text  string  // the limit as configured, for messages ("200/s")
	max   int

	mu    sync.Mutex
	m     map[string]*bucket
	swept time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newBuckets(r config.EventRate, max int) *buckets {
	if r.IsZero() {
		return nil
	}
	unit := map[time.Duration]string{time.Second: "s", time.Minute: "m", time.Hour: "h"}[r.Per]
	return &buckets{rate: r.PerSecond(), burst: float64(r.Events), text: fmt.Sprintf("%d/%s", r.Events, unit), max: max, m: map[string]*bucket{}}
}

// refill brings b up to now; it reports whether b is full (then it is no
// different from a bucket never used).
func (bs *buckets) refill(b *bucket, now time.Time) bool {
	if el := now.Sub(b.at).Seconds(); el > 0 {
		b.tokens = math.Min(bs.burst, b.tokens+el*bs.rate)
		b.at = now
	}
	return b.tokens >= bs.burst
}

// admit reports whether key may send now, and else how long until it may.
// A key seen for the first time starts with a full bucket.
func (bs *buckets) admit(key string, now time.Time) (bool, time.Duration) {
	if bs == nil {
		return true, 0
	}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b, ok := bs.m[key]
	if !ok {
		if len(bs.m) >= bs.max && !bs.sweep(now) {
			return false, time.Second
		}
		return true, 0
	}
	if bs.refill(b, now); b.tokens >= 1 {
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / bs.rate * float64(time.Second))
}

// charge takes n tokens from key's bucket, into debt if need be.
func (bs *buckets) charge(key string, n int, now time.Time) {
	if bs == nil {
		return
	}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b, ok := bs.m[key]
	if !ok {
		b = &bucket{tokens: bs.burst, at: now}
		bs.m[key] = b
	}
	bs.refill(b, now)
	b.tokens -= float64(n)
}

// sweep drops the buckets that have refilled (at most once a second); it
// reports whether there is room for another.
func (bs *buckets) sweep(now time.Time) bool {
	if now.Sub(bs.swept) >= time.Second {
		bs.swept = now
		for k, b := range bs.m {
			if bs.refill(b, now) {
				delete(bs.m, k)
			}
		}
	}
	return len(bs.m) < bs.max
}

// admit applies the limits to an ingestion request before its body is
// parsed: the per-key limit to every key, the per-address limit to the
// write key only (Segment's cloud and carriers send from shared addresses,
// with the server key). It names the limit that refuses the request ("key"
// or "ip", "" when admitted) and how long to wait, with the error to answer.
func (l *ingestLimits) admit(key, addr string, now time.Time) (limit string, wait time.Duration, err error) {
	if ok, wait := l.perKey.admit(key, now); !ok {
		return "key", wait, smsflow.Errorf(smsflow.ERATELIMITED, "too many events with the %s key: at most %s on this server (limits.ingest_per_key); retry after %s", key, l.perKey.text, retryText(wait))
	}
	if key == keyWrite {
		if ok, wait := l.perIP.admit(addr, now); !ok {
			return "ip", wait, smsflow.Errorf(smsflow.ERATELIMITED, "too many events from this address: at most %s (limits.ingest_per_ip); retry after %s — back ends send with the server key, which this limit does not apply to", l.perIP.text, retryText(wait))
		}
	}
	return "", 0, nil
}

// charge makes an admitted request pay for its events.
func (l *ingestLimits) charge(key, addr string, events int, now time.Time) {
	events = max(events, 1)
	l.perKey.charge(key, events, now)
	if key == keyWrite {
		l.perIP.charge(addr, events, now)
	}
}

func retryText(d time.Duration) string { return fmt.Sprintf("%d s", retrySeconds(d)) }

// retrySeconds is a Retry-After value: whole seconds, at least one.
func retrySeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// clientAddress names the client a request comes from, for the
// per-address limits (ingestion, unknown link codes): the peer's address,
// or, when the peer is a proxy on this host or the private network, the
// nearest public address in X-Forwarded-For (read from the right: the
// entries a client wrote itself are on the left). A public peer's
// X-Forwarded-For is never read: anyone can write it. IPv6 addresses count
// by their /64, which one subscriber usually holds whole.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsPrivate() {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // a value we cannot read: stop at the last proxy we trust
			}
			ip = hop.Unmap()
			if !ip.IsLoopback() && !ip.IsPrivate() {
				break
			}
		}
	}
	if ip.Is6() {
		if p, err := ip.WithZone("").Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}

// ClientAddress is clientAddress for the web UI's login limit: one rule
// for which address a request comes from.
func ClientAddress(r *http.Request) string { return clientAddress(r) }
