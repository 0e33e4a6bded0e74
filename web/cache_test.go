package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/store/storetest"
)

// The report cache computes a period's report once per figuresTTL, shows
// the old one while it refreshes, does not keep errors, keeps at most
// reportCacheSize periods and starts nothing after Stop (D101).
func TestReportCache(t *testing.T) {
	db := storetest.OpenSQLite(t)
	clock := testkit.NewClock(time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC))
	u := New(Deps{Config: config.Config{DefaultRegion: "US"}, DB: db, Clock: clock, AdminKey: "ak_test",
		Log: slog.New(slog.NewTextHandler(&testkit.LogBuffer{}, nil))})
	var c reportCache[int]
	calls := 0
	compute := func(context.Context) (int, error) { calls++; return calls, nil }
	get := func(key string) (int, time.Time, error) {
		v, at, err := cachedReport(bg, u, &c, key, compute)
		u.background.Wait() // the refresh it may have started
		return v, at, err
	}

	v, at, err := get("p")
	if err != nil || v != 1 || !at.Equal(clock.Now()) {
		t.Fatalf("first get: %d %v %v, want 1 computed now", v, at, err)
	}
	clock.Add(figuresTTL - time.Second)
	if v, _, _ := get("p"); v != 1 || calls != 1 {
		t.Fatalf("within the TTL: value %d after %d computations, want the first", v, calls)
	}
	clock.Add(2 * time.Second)
	if v, _, _ := get("p"); v != 1 || calls != 2 {
		t.Fatalf("past the TTL: value %d after %d computations, want the old value shown while a second is computed", v, calls)
	}
	if v, _, _ := get("p"); v != 2 {
		t.Fatalf("after the refresh: value %d, want 2", v)
	}

	failing := true
	flaky := func(context.Context) (int, error) {
		if failing {
			return 0, errors.New("database away")
		}
		return 7, nil
	}
	if _, _, err := cachedReport(bg, u, &c, "q", flaky); err == nil {
		t.Fatal("the computation's error was not returned")
	}
	u.background.Wait()
	failing = false
	cachedReport(bg, u, &c, "q", flaky) // an error is not kept: this tries again
	u.background.Wait()
	if v, _, err := cachedReport(bg, u, &c, "q", flaky); err != nil || v != 7 {
		t.Fatalf("after the error: %d %v, want 7", v, err)
	}

	for i := range 2 * reportCacheSize {
		get(fmt.Sprint("period", i))
		clock.Add(time.Millisecond)
	}
	if n := len(c.entries); n > reportCacheSize {
		t.Errorf("%d periods kept, want at most %d", n, reportCacheSize)
	}
	if _, ok := c.entries[fmt.Sprint("period", 2*reportCacheSize-1)]; !ok {
		t.Error("the period asked for last was evicted")
	}

	// With every kept period being computed, another is computed for its
	// request alone: no more background work than the cache holds.
	release := make(chan struct{})
	slow := func(context.Context) (int, error) { <-release; return 1, nil }
	gone, cancel := context.WithCancel(bg)
	cancel() // the requests below do not wait for their computations
	var d reportCache[int]
	for i := range reportCacheSize {
		cachedReport(gone, u, &d, fmt.Sprint("slow", i), slow)
	}
	v, at, err = cachedReport(bg, u, &d, "one more", func(context.Context) (int, error) { return 42, nil })
	if err != nil || v != 42 || at.IsZero() {
		t.Errorf("a period past a cache of running computations: %d %v %v, want 42 computed at once", v, at, err)
	}
	d.mu.Lock()
	n := len(d.entries)
	d.mu.Unlock()
	if n != reportCacheSize {
		t.Errorf("%d periods kept, want %d", n, reportCacheSize)
	}
	close(release)
	u.background.Wait()

	u.Stop()
	before := calls
	if _, at, _ := get("after-stop"); !at.IsZero() || calls != before {
		t.Errorf("a report was computed after Stop (%d computations, at %v)", calls-before, at)
	}
}

// The program page keeps a period under its bounds as parsed: spellings of
// one period share an entry; a period that ends now is one entry however
// the clock moves.
func TestProgramCacheKeysByPeriod(t *testing.T) {
	db := storetest.OpenSQLite(t)
	clock := testkit.NewClock(time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC))
	u := New(Deps{Config: config.Config{DefaultRegion: "US"}, DB: db, Clock: clock, AdminKey: "ak_test",
		Log: slog.New(slog.NewTextHandler(&testkit.LogBuffer{}, nil))})
	defer u.Stop()
	entries := func() int {
		u.background.Wait()
		u.programs.mu.Lock()
		defer u.programs.mu.Unlock()
		return len(u.programs.entries)
	}
	for _, p := range [][2]string{{"2026-02-01", "2026-03-01"}, {" 2026-02-01 ", "2026-03-02T00:00:00Z"}, {"2026-02-01T00:00:00+00:00", " 2026-03-01"}} {
		if _, _, err := u.programReport(bg, p[0], p[1]); err != nil {
			t.Fatalf("%q: %v", p, err)
		}
	}
	if n := entries(); n != 1 {
		t.Errorf("three spellings of one period: %d cache entries, want 1", n)
	}
	for range 2 {
		if _, _, err := u.programReport(bg, "", ""); err != nil {
			t.Fatal(err)
		}
		clock.Add(time.Hour)
	}
	if n := entries(); n != 2 {
		t.Errorf("the last 30 days, asked twice an hour apart: %d entries in all, want 2", n)
	}
	if _, _, err := u.programReport(bg, "2026-03-01", "2026-02-01"); err == nil {
		t.Error("a period that ends before it starts was accepted")
	}
}
