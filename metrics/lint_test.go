package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/store/storetest"
)

// TestNamesFollowPrometheusConventions lints every family smsflow serves
// (with promtool's rules): _total on counters, base units, help texts.
func TestNamesFollowPrometheusConventions(t *testing.T) {
	m := New(storetest.OpenSQLite(t), testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)), nil)
	m.ObservePacingWait(time.Second)
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(fams).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	for _, name := range []string{EventsIngested, EventsDropped, Decisions, ProviderSends, ProviderCallDuration, PacingWait,
		Runs, Messages, OutboxMessages, InboxEvents, ReceiptQueueDepth, TimerLag, GaugesQueryDuration, "process_cpu_seconds_total", "go_goroutines"} {
		found := false
		for _, f := range fams {
			found = found || f.GetName() == name
		}
		// Vectors without any child yet (drops, provider sends before a
		// provider is wrapped, messages in an empty database) are not
		// gathered; everything else must be.
		if !found && name != EventsDropped && name != ProviderSends && name != ProviderCallDuration && name != Messages {
			t.Errorf("%s is not served", name)
		}
	}
}
