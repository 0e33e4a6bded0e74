package metrics

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/store"
)

// Metric names, in the Prometheus conventions (namespace smsflow, counters
// end in _total, units in the name).
const (
	EventsIngested       = "smsflow_events_ingested_total"
	EventsDropped        = "smsflow_events_dropped_total"
	IngestThrottled      = "smsflow_ingest_throttled_total"
	Decisions            = "smsflow_decisions_total"
	ProviderSends        = "smsflow_provider_sends_total"
	ProviderCallDuration = "smsflow_provider_call_duration_seconds"
	PacingWait           = "smsflow_pacing_wait_seconds"
	Runs                 = "smsflow_runs"
	Messages             = "smsflow_messages"
	OutboxMessages       = "smsflow_outbox_messages"
	InboxEvents          = "smsflow_inbox_events"
	ReceiptQueueDepth    = "smsflow_receipt_queue_depth"
	TimerLag             = "smsflow_timer_lag_seconds"
	GaugesQueryDuration  = "smsflow_metrics_query_duration_seconds"
)

// callBuckets cover a provider call from a fast SMPP submit (a few ms) to
// an HTTP provider timing out (30 s).
var callBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// pacingBuckets cover a wait for the rate limiter, from none to minutes.
var pacingBuckets = []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}

// Metrics is smsflow's Prometheus registry (its own, not the global one)
// with the counters the hooks feed and the database gauges. It is safe for
// concurrent use.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler

	ingested     *prometheus.CounterVec
	dropped      *prometheus.CounterVec
	throttled    *prometheus.CounterVec
	decisions    *prometheus.CounterVec
	sends        *prometheus.CounterVec
	callDuration *prometheus.HistogramVec
	pacingWait   prometheus.Histogram
	gauges       *gaugeCollector

	// now is the stopwatch of provider calls (wall time; tests replace it).
	now func() time.Time
}

// New returns the metrics of one smsflow process. The gauges are read from
// db at scrape time, with clock's time as "now" for the timer lag; log
// receives scrape errors (nil: discard).
func New(db *store.DB, clock smsflow.Clock, log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		ingested: prometheus.NewCounterVec(prometheus.CounterOpts{Name: EventsIngested,
			Help: "Events stored by the ingest writer (Segment API, batch), by type."}, []string{"type"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: EventsDropped,
			Help: "Events the ingest writer did not store, by type and reason (duplicate: messageId seen before; refused: invalid; withheld: the write key asked for what needs the server key)."}, []string{"type", "reason"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: IngestThrottled,
			Help: "Ingestion requests refused with 429 by a limit: ip (limits.ingest_per_ip, write key) or key (limits.ingest_per_key)."}, []string{"limit"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: Decisions,
			Help: `Decisions the flow engine recorded (send policy, entry rules, opt-out cancellations), by kind: the reason up to "(" (sent, skipped:cap, deferred:quiet_hours …).`}, []string{"decision"}),
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{Name: ProviderSends,
			Help: "Provider send calls, by provider and result: the status the provider returned (sent, delivered) or the kind of failure (transient, permanent, unsubscribed, invalid_number, unknown)."}, []string{"provider", "result"}),
		callDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: ProviderCallDuration,
			Help: "How long provider send calls took, by provider.", Buckets: callBuckets}, []string{"provider"}),
		pacingWait: prometheus.NewHistogram(prometheus.HistogramOpts{Name: PacingWait,
			Help: "How long each paced send waited for its slot under its sender's rate (empty while no sender has a rate).", Buckets: pacingBuckets}),
		gauges: newGaugeCollector(db, clock),
		now:    time.Now,
	}
	for _, t := range []string{smsflow.EventTrack, smsflow.EventIdentify, smsflow.EventPage, smsflow.EventScreen, smsflow.EventAlias, smsflow.EventGroup} {
		m.ingested.WithLabelValues(t)
	}
	for _, d := range knownDecisions {
		m.decisions.WithLabelValues(d)
	}
	for _, l := range []string{"ip", "key"} {
		m.throttled.WithLabelValues(l)
	}
	m.reg.MustRegister(m.ingested, m.dropped, m.throttled, m.decisions, m.sends, m.callDuration, m.pacingWait, m.gauges,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.InstrumentMetricHandler(m.reg, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// A database that does not answer leaves its gauges out; the
		// counters and the process metrics are still served.
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg,
	}))
	return m
}

// Handler serves the registry in the Prometheus exposition format (text,
// or what the scraper negotiates). It does no authentication: the caller
// mounts it behind whatever guards /metrics.
func (m *Metrics) Handler() http.Handler { return m.handler }

// Registry is the registry behind Handler, for metrics added elsewhere.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// OnApplied counts what the ingest writer committed; it has the signature of
// ingest.Writer.OnApplied.
func (m *Metrics) OnApplied(items []*ingest.Item, results []ingest.Result) {
	for i, it := range items {
		typ := eventType(it.Type)
		switch {
		case i >= len(results):
		case results[i].Err != nil:
			m.dropped.WithLabelValues(typ, "refused").Inc()
		case results[i].Duplicate:
			m.dropped.WithLabelValues(typ, "duplicate").Inc()
		case results[i].Withheld != "":
			m.dropped.WithLabelValues(typ, "withheld").Inc()
		default:
			m.ingested.WithLabelValues(typ).Inc()
		}
	}
}

// eventType bounds the type label to the Segment call types.
func eventType(t string) string {
	switch t {
	case smsflow.EventTrack, smsflow.EventIdentify, smsflow.EventPage, smsflow.EventScreen, smsflow.EventAlias, smsflow.EventGroup:
		return t
	}
	return "other"
}

// OnTrace returns a hook for engine.Engine.OnTrace that counts decisions,
// then passes the trace on to next (the hook already set; nil for none), so
// an existing hook keeps working.
func (m *Metrics) OnTrace(next func(engine.Trace)) func(engine.Trace) {
	return func(t engine.Trace) {
		if d, ok := DecisionKind(t); ok {
			m.decisions.WithLabelValues(d).Inc()
		}
		if next != nil {
			next(t)
		}
	}
}

// Throttled counts an ingestion request refused by a limit ("ip" or
// "key"); it has the signature of api.Deps.OnThrottled.
func (m *Metrics) Throttled(limit string) { m.throttled.WithLabelValues(limit).Inc() }

// ObservePacingWait records how long one paced send waited for its slot
// under its sender's rate (delivery.Sender.OnPacingWait).
func (m *Metrics) ObservePacingWait(d time.Duration) { m.pacingWait.Observe(d.Seconds()) }

// knownDecisions are reported at 0 before they first happen, so rates and
// alerts work from the start.
var knownDecisions = []string{
	smsflow.DecisionSent, smsflow.DecisionNoConsent, smsflow.DecisionHoldout, smsflow.DecisionInvalidNumber,
	smsflow.DecisionTemplatePrefix, smsflow.DecisionSuppressed, smsflow.DecisionReentry, smsflow.DecisionCanceledOptOut,
	smsflow.DecisionQuietHours, smsflow.DecisionDeferredQuiet, smsflow.DecisionDeferredCap, smsflow.DecisionCapPrefix,
	smsflow.DecisionCollisionPrefix, smsflow.DecisionSmartSending, smsflow.DecisionExpired,
	smsflow.DecisionUntrustedSource, smsflow.DecisionUntrustedLink, smsflow.DecisionServiceLimit,
}

// DecisionKind says whether an engine trace is a recorded decision, and its
// kind: the reason up to the first "(", so "skipped:cap(rule=promo-daily)"
// counts as "skipped:cap" and the label's values stay a small, fixed set.
// Traces of other things (enter, wait, exit, goal; a cancel because the run
// exited; a send held by a paused flow) are not decisions.
func DecisionKind(t engine.Trace) (string, bool) {
	kind, _, _ := strings.Cut(t.Reason, "(")
	switch t.Kind {
	case "send", "skip":
		return kind, kind != ""
	case "defer":
		return kind, strings.HasPrefix(kind, "deferred:")
	case "cancel":
		return kind, strings.HasPrefix(kind, "canceled:")
	case "error":
		return kind, strings.HasPrefix(kind, "error:")
	}
	return "", false
}
