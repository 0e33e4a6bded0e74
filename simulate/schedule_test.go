package simulate_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/simulate"
)

// simulateFlow runs one flow over an NDJSON history with the default
// configuration.
func simulateFlow(t *testing.T, flowSrc, events string) []simulate.Line {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "flow.yaml"), []byte(flowSrc), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := simulate.Run(context.Background(), simulate.Options{Flows: dir, Events: strings.NewReader(events), Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

// daysOf lists the local days (YYYY-MM-DD) of the lines of one kind.
func daysOf(lines []simulate.Line, kind string) []string {
	var out []string
	for _, l := range lines {
		if l.Kind == kind {
			out = append(out, l.LocalTime[:10])
		}
	}
	return out
}

// A daily local-time segment enters every day of the simulated period —
// from the first input line's day to the last one's, across a DST change —
// and no day after it.
func TestSimulateDailySegmentEntersEveryDay(t *testing.T) {
	const flowSrc = `id: daily-tip
category: lifecycle
trigger:
  segment: {where: 'true', at: "10:00", local: true}
entry:
  reentry: 1d
steps:
  - send: "Glow tip of the day"
`
	const events = `{"type":"identify","userId":"ana","traits":{"phone":"+1 415 555 0100"},"timestamp":"2026-03-02T12:00:00Z"}
{"type":"consent","userId":"ana","status":"subscribed","timestamp":"2026-03-02T12:01:00Z"}
{"type":"track","userId":"ana","event":"Page Viewed","timestamp":"2026-03-23T12:00:00Z"}
`
	lines := simulateFlow(t, flowSrc, events)
	var want []string
	for d := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC); !d.After(time.Date(2026, 3, 23, 0, 0, 0, 0, time.UTC)); d = d.AddDate(0, 0, 1) {
		want = append(want, d.Format("2006-01-02"))
	}
	if got := daysOf(lines, "send"); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("sends on\n%v\nwant one on each day\n%v", got, want)
	}
	for _, l := range lines {
		if l.Kind == "send" && l.LocalTime[11:16] != "10:00" {
			t.Errorf("sent at %s, want 10:00 local", l.LocalTime)
		}
		if l.Kind == "skip" {
			t.Errorf("skip: %+v", l)
		}
	}
}

// A date trigger in simulate: the day before the birthday at 10:00 in the
// contact's zone; an invalid date is a timeline line (at the first scan
// after bo was created: tomorrow's, due when 10:00 first happens anywhere),
// a missing one is not.
func TestSimulateDateTrigger(t *testing.T) {
	const flowSrc = `id: birthday
category: lifecycle
trigger:
  date: {property: contact.traits.birthday, offset: -1d, at: "10:00"}
steps:
  - send: "Glow: happy birthday for tomorrow"
`
	const events = `{"type":"identify","userId":"ana","traits":{"phone":"+1 415 555 0100","birthday":"03-10"},"timestamp":"2026-03-02T12:00:00Z"}
{"type":"identify","userId":"bo","traits":{"phone":"+1 212 555 0100","birthday":"1985-02-30"},"timestamp":"2026-03-02T12:00:00Z"}
{"type":"identify","userId":"cy","traits":{"phone":"+1 212 555 0101"},"timestamp":"2026-03-02T12:00:00Z"}
{"type":"consent","userId":"ana","status":"subscribed","timestamp":"2026-03-02T12:01:00Z"}
{"type":"track","userId":"ana","event":"Page Viewed","timestamp":"2026-03-20T12:00:00Z"}
`
	lines := simulateFlow(t, flowSrc, events)
	var got []string
	for _, l := range lines {
		if l.Kind == "consent" {
			continue // consent lines are TestKeywordRepliesAndConsentLines' subject
		}
		got = append(got, l.Contact+" "+l.Kind+" "+l.LocalTime+" "+l.Reason)
	}
	want := []string{
		`bo skip 2026-03-02T15:00:00-05:00 EST skipped:invalid_date(contact.traits.birthday: "1985-02-30" is not a date: write YYYY-MM-DD, MM-DD or an RFC 3339 time)`,
		"ana enter 2026-03-09T10:00:00-07:00 PDT trigger:Date Reached",
		"ana send 2026-03-09T10:00:00-07:00 PDT sent",
		"ana exit 2026-03-09T10:00:00-07:00 PDT completed",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("timeline:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
