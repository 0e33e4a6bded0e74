package engine

import (
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/flow"
)

// A scheduled moment on a DST day: a time in the spring gap moves forward
// to the first valid instant, a time repeated in autumn is its first
// occurrence, and a date trigger's day is the contact's local day.
func TestLocalInstantOnDSTDays(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	syd, _ := time.LoadLocation("Australia/Sydney")
	tests := []struct {
		name  string
		day   smsflow.Date
		clock flow.Clock
		loc   *time.Location
		want  string
	}{
		{"ordinary day", smsflow.Date{Year: 2026, Month: 3, Day: 7}, flow.Clock{Hour: 10}, ny, "2026-03-07T15:00:00Z"},
		{"spring: 10:00 is EDT", smsflow.Date{Year: 2026, Month: 3, Day: 8}, flow.Clock{Hour: 10}, ny, "2026-03-08T14:00:00Z"},
		{"spring: 02:30 does not exist, 03:00 EDT", smsflow.Date{Year: 2026, Month: 3, Day: 8}, flow.Clock{Hour: 2, Minute: 30}, ny, "2026-03-08T07:00:00Z"},
		{"autumn: 01:30 twice, the first (EDT)", smsflow.Date{Year: 2026, Month: 11, Day: 1}, flow.Clock{Hour: 1, Minute: 30}, ny, "2026-11-01T05:30:00Z"},
		{"southern autumn: 02:30 twice in Sydney, the first (AEDT)", smsflow.Date{Year: 2026, Month: 4, Day: 5}, flow.Clock{Hour: 2, Minute: 30}, syd, "2026-04-04T15:30:00Z"},
		{"midnight", smsflow.Date{Year: 2026, Month: 12, Day: 31}, flow.Clock{}, ny, "2026-12-31T05:00:00Z"},
	}
	for _, tt := range tests {
		if got := localInstant(tt.day, tt.clock, tt.loc).UTC().Format(time.RFC3339); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

// dailyJob names a day's scan by its date, makes it due when the time
// first happens anywhere (UTC+14), and makes none for a day already over
// everywhere (UTC-12) or after the schedule's end.
func TestDailyJob(t *testing.T) {
	comp := &Compiled{Flow: &flow.Flow{ID: "d", Trigger: flow.Trigger{Kind: flow.TriggerDate, Date: &flow.DateTrigger{At: flow.Clock{Hour: 10}}}}, Version: 3}
	day := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	j, ok := dailyJob(comp, day, time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC), time.Time{})
	if !ok || j.Key != "daily:2026-04-01" || j.Version != 3 || !j.DueAt.Equal(time.Date(2026, 3, 31, 20, 0, 0, 0, time.UTC)) {
		t.Errorf("job %+v %v", j, ok)
	}
	if _, ok := dailyJob(comp, day, time.Date(2026, 4, 1, 21, 59, 0, 0, time.UTC), time.Time{}); !ok {
		t.Error("10:00 at UTC-12 (22:00 UTC) is still to come: the day is not over")
	}
	if _, ok := dailyJob(comp, day, time.Date(2026, 4, 1, 22, 1, 1, 0, time.UTC), time.Time{}); ok {
		t.Error("a day over everywhere still gets a scan")
	}
	if _, ok := dailyJob(comp, day, time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC), time.Date(2026, 3, 31, 23, 0, 0, 0, time.UTC)); ok {
		t.Error("a day after the schedule's end gets a scan")
	}
	if _, ok := dailyJob(comp, day, time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)); !ok {
		t.Error("the schedule's last day gets no scan")
	}
	for key, want := range map[string]string{"daily:2026-04-01": "2026-04-01", "local:2026-11-28T10:00": "2026-11-28"} {
		if d, ok := jobDay(key); !ok || d.String() != want {
			t.Errorf("jobDay(%s) = %s %v, want %s", key, d, ok, want)
		}
	}
	for _, key := range []string{"at:2026-04-01T10:00:00Z", "daily:tomorrow", ""} {
		if d, ok := jobDay(key); ok {
			t.Errorf("jobDay(%s) = %s, want none", key, d)
		}
	}
}
