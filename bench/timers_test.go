package bench

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow/store/storetest"
)

// TestBenchTimersCounts runs `bench timers` on 200 runs: each timer fires
// once and each run's message reaches the provider.
func TestBenchTimersCounts(t *testing.T) {
	for name, dsn := range storetest.DSNs(t) {
		t.Run(name, func(t *testing.T) {
			const runs = 200
			r, err := runTimersBench(context.Background(), Harness{}, timersOptions{DSN: dsn, Runs: runs, Window: time.Second, Lead: 400 * time.Millisecond,
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

// testLog sends the app's warnings to the test log.
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
