package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow/store/storetest"
)

// testLog sends the app's warnings to the test log.
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestBenchFlowsCounts runs both modes of `bench flows` briefly: every event
// the API accepted must reach the provider exactly once.
func TestBenchFlowsCounts(t *testing.T) {
	for name, dsn := range storetest.DSNs(t) {
		t.Run(name, func(t *testing.T) {
			results, err := runFlowsBench(context.Background(), flowsOptions{DSN: dsn, Duration: 500 * time.Millisecond, Rate: 100,
				Contacts: 20, Clients: 2, Batch: 10, Backlog: 50, Mode: "both", Progress: io.Discard, Log: testLog{t}})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(results), 2; got != want {
				t.Fatalf("%d results, want %d", got, want)
			}
			for _, r := range results {
				if r.Events == 0 {
					t.Errorf("%s: no events accepted", r.Mode)
				}
				if got, want := r.Messages, r.Events; got != want {
					t.Errorf("%s: %d messages reached the provider, want one per accepted event (%d)", r.Mode, got, want)
				}
				if got, want := r.Errors, int64(0); got != want {
					t.Errorf("%s: %d errors, want %d", r.Mode, got, want)
				}
			}
		})
	}
}

// TestBenchTimersCounts runs `bench timers` on 200 runs: each timer fires
// once and each run's message reaches the provider.
func TestBenchTimersCounts(t *testing.T) {
	for name, dsn := range storetest.DSNs(t) {
		t.Run(name, func(t *testing.T) {
			const runs = 200
			r, err := runTimersBench(context.Background(), timersOptions{DSN: dsn, Runs: runs, Window: time.Second, Lead: 400 * time.Millisecond,
				Timeout: time.Minute, Progress: io.Discard, Log: testLog{t}}, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				what      string
				got, want int64
			}{
				{"inserted", r.Inserted, runs},
				{"fired", r.Fired, runs},
				{"fired twice", r.Duplicates, 0},
				{"sent", r.Sent, runs},
			} {
				if c.got != c.want {
					t.Errorf("%s = %d, want %d", c.what, c.got, c.want)
				}
			}
		})
	}
}
