package bench

import (
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"
)

// startCPUProfile writes a CPU profile to path until the returned stop is
// called (safe to call twice); an empty path profiles nothing.
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return sync.OnceFunc(func() { pprof.StopCPUProfile(); f.Close() }), nil
}

// latencies is a histogram of durations, fine enough for percentiles
// (100 µs buckets up to 1 s, 10 ms up to 100 s, 1 s up to an hour) and
// small enough (≈ 100 KB) not to weigh on the memory a benchmark measures.
type latencies struct {
	mu     sync.Mutex
	counts [latBuckets]uint32
	n      int64
	max    time.Duration
}

const latBuckets = 10_000 + 9_900 + 3_500 + 1

func latBucket(d time.Duration) int {
	switch {
	case d < 0:
		return 0
	case d < time.Second:
		return int(d / (100 * time.Microsecond))
	case d < 100*time.Second:
		return 10_000 + int((d-time.Second)/(10*time.Millisecond))
	case d < time.Hour:
		return 19_900 + int((d-100*time.Second)/time.Second)
	}
	return latBuckets - 1
}

// latUpper is the upper bound of a bucket (what a percentile reports).
func latUpper(i int) time.Duration {
	switch {
	case i < 10_000:
		return time.Duration(i+1) * 100 * time.Microsecond
	case i < 19_900:
		return time.Second + time.Duration(i-10_000+1)*10*time.Millisecond
	case i < 23_400:
		return 100*time.Second + time.Duration(i-19_900+1)*time.Second
	}
	return time.Hour
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.counts[latBucket(d)]++
	l.n++
	l.max = max(l.max, d)
	l.mu.Unlock()
}

// quantile returns the q-quantile (upper bucket bound, capped at the max).
func (l *latencies) quantile(q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == 0 {
		return 0
	}
	rank := int64(q * float64(l.n))
	rank = min(max(rank, 1), l.n)
	var seen int64
	for i, c := range l.counts {
		seen += int64(c)
		if seen >= rank {
			return min(latUpper(i), l.max)
		}
	}
	return l.max
}

func (l *latencies) maximum() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.max
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// procStatus returns a field of /proc/self/status in bytes (VmRSS, VmHWM), or
// 0 where there is none (not Linux).
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(v)
			if len(f) == 0 {
				return 0
			}
			kb, _ := strconv.ParseInt(f[0], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// resetPeakRSS makes VmHWM start again from the current RSS (Linux ≥ 4.0),
// so the peak measures the engine, not the benchmark's own set-up.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }
