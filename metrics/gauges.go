package metrics

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// SnapshotTTL is how long a database snapshot is served before the next
// scrape reads a new one; a snapshot that took long is kept for
// SlowSnapshotFactor times as long as it took, so scraping costs the
// database at most about a tenth of one reader connection.
const (
	SnapshotTTL        = 5 * time.Second
	SlowSnapshotFactor = 10
	// snapshotTimeout bounds one snapshot's queries.
	snapshotTimeout = 10 * time.Second
)

// runStates are always reported, at 0 when no run is in them.
var runStates = []string{smsflow.RunActive, smsflow.RunWaiting, smsflow.RunCompleted, smsflow.RunExited}

// gaugeCollector reports the database state at scrape time (a custom
// prometheus.Collector), from a cached snapshot.
type gaugeCollector struct {
	db    *store.DB
	clock smsflow.Clock

	runs, messages, outbox, inbox, receipts, lag, took *prometheus.Desc

	mu      sync.Mutex // held while a snapshot is read: concurrent scrapes wait for one
	snap    *store.Gauges
	at      time.Time     // clock time of the snapshot
	expires time.Time     // clock time after which the next scrape reads anew
	dur     time.Duration // how long the snapshot took
}

func newGaugeCollector(db *store.DB, clock smsflow.Clock) *gaugeCollector {
	return &gaugeCollector{db: db, clock: clock,
		runs: prometheus.NewDesc(Runs, "Flow runs by state (active, waiting, completed, exited), from the database.", []string{"state"}, nil),
		messages: prometheus.NewDesc(Messages, "Messages by direction (out, in), provider and status (queued, sending, sent, delivered, undelivered, failed, unknown, canceled, received), from the database.",
			[]string{"direction", "provider", "status"}, nil),
		outbox: prometheus.NewDesc(OutboxMessages, "Outbound messages queued for the sender (the outbox depth), including those waiting to be retried.", nil, nil),
		inbox:  prometheus.NewDesc(InboxEvents, "Stored events waiting for the flow engine.", nil, nil),
		receipts: prometheus.NewDesc(ReceiptQueueDepth, "Delivery receipts stored and not yet applied to their messages (exact up to 10,000, above that the span of the queued ids).",
			nil, nil),
		lag:  prometheus.NewDesc(TimerLag, "How far behind the oldest due timer (run wait, inactivity deadline, segment job) is: now minus its due time, 0 when none is due.", nil, nil),
		took: prometheus.NewDesc(GaugesQueryDuration, "How long the last database snapshot for these gauges took.", nil, nil),
	}
}

// Describe sends the gauges' descriptors.
func (c *gaugeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.runs, c.messages, c.outbox, c.inbox, c.receipts, c.lag, c.took} {
		ch <- d
	}
}

// Collect sends the gauges of the current snapshot, reading a new one when
// the cached one has expired. When the database fails, the gauges are left
// out and the error reaches the handler (which logs it and serves the rest).
func (c *gaugeCollector) Collect(ch chan<- prometheus.Metric) {
	g, at, dur, err := c.snapshot()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.runs, err)
		return
	}
	for _, s := range runStates {
		ch <- prometheus.MustNewConstMetric(c.runs, prometheus.GaugeValue, float64(g.Runs[s]), s)
	}
	for s, n := range g.Runs {
		if !slices.Contains(runStates, s) {
			ch <- prometheus.MustNewConstMetric(c.runs, prometheus.GaugeValue, float64(n), s)
		}
	}
	var outbox int64
	for _, m := range g.Messages {
		ch <- prometheus.MustNewConstMetric(c.messages, prometheus.GaugeValue, float64(m.N), m.Direction, m.Provider, m.Status)
		if m.Direction == "out" && m.Status == smsflow.MessageQueued {
			outbox += m.N
		}
	}
	ch <- prometheus.MustNewConstMetric(c.outbox, prometheus.GaugeValue, float64(outbox))
	ch <- prometheus.MustNewConstMetric(c.inbox, prometheus.GaugeValue, float64(g.Inbox))
	ch <- prometheus.MustNewConstMetric(c.receipts, prometheus.GaugeValue, float64(g.ReceiptQueue))
	lag := 0.0
	if !g.NextWake.IsZero() && g.NextWake.Before(at) {
		lag = at.Sub(g.NextWake).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, lag)
	ch <- prometheus.MustNewConstMetric(c.took, prometheus.GaugeValue, dur.Seconds())
}

// snapshot returns the cached snapshot, or reads a new one when it has
// expired; at is the clock time it describes.
func (c *gaugeCollector) snapshot() (g *store.Gauges, at time.Time, dur time.Duration, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	if c.snap != nil && now.Before(c.expires) {
		return c.snap, c.at, c.dur, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), snapshotTimeout)
	defer cancel()
	start := time.Now()
	g, err = c.db.MetricsGauges(ctx)
	if err != nil {
		return nil, time.Time{}, 0, err
	}
	dur = time.Since(start)
	c.snap, c.at, c.dur = g, now, dur
	c.expires = now.Add(max(SnapshotTTL, SlowSnapshotFactor*dur))
	return g, now, dur, nil
}
