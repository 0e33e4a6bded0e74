package simulate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/simulate"
)

// testFlows are the flows of these tests: a welcome message on opt-in
// (marketing: needs consent) and a service text per order.
var testFlows = fstest.MapFS{
	"welcome.yaml": {Data: []byte(`id: welcome
name: Welcome
category: lifecycle
trigger:
  consent: subscribed
steps:
  - id: hello
    send: "Welcome to {{ brand.name }}! Reply STOP to opt out."
`)},
	"order-thanks.yaml": {Data: []byte(`id: order-thanks
name: Order thanks
category: service
trigger:
  event: Order Completed
steps:
  - id: thanks
    send: "{{ brand.name }}: thanks for order {{ event.properties.order_id }}."
`)},
}

func testConfig(t *testing.T) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Brand.Name = "Glow"
	cfg.Brand.Help = "Glow Beauty: help at glow.example/help or 1-800-555-0100."
	return cfg
}

// simulateLines runs the test flows over events and returns what
// `simulate --json` prints, one decoded object per line (so that the tests
// see the field names a user sees).
func simulateLines(t *testing.T, cfg config.Config, events string) []map[string]any {
	t.Helper()
	lines, err := simulate.Run(context.Background(), simulate.Options{FlowsFS: testFlows, Events: strings.NewReader(events), Config: cfg})
	if err != nil {
		t.Fatalf("simulate: %v", err)
	}
	var buf bytes.Buffer
	if err := simulate.WriteJSON(&buf, lines); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		out = append(out, m)
	}
	checkTimeOrder(t, out)
	return out
}

// checkTimeOrder fails unless the lines are in time order.
func checkTimeOrder(t *testing.T, lines []map[string]any) {
	t.Helper()
	var last time.Time
	for i, l := range lines {
		at, err := time.Parse(time.RFC3339, str(l["time"]))
		if err != nil {
			t.Fatalf("line %d: time %v: %v", i+1, l["time"], err)
		}
		if at.Before(last) {
			t.Errorf("line %d (%v) at %s comes after %s", i+1, l, at, last)
		}
		last = at
	}
}

func str(v any) string { s, _ := v.(string); return s }

// keys is a line's field names, sorted.
func keys(l map[string]any) []string {
	var k []string
	for name := range l {
		k = append(k, name)
	}
	sort.Strings(k)
	return k
}

// summary shows a line without its times, body and local time: what it is.
func summary(l map[string]any) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", str(l["contact"]), l["kind"])
	for _, k := range []string{"flow", "step", "status", "source", "line", "reason"} {
		if v, ok := l[k]; ok {
			fmt.Fprintf(&b, " %s=%v", k, v)
		}
	}
	return b.String()
}

// pick returns the lines of the given kinds.
func pick(lines []map[string]any, kinds ...string) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		if slices.Contains(kinds, str(l["kind"])) {
			out = append(out, l)
		}
	}
	return out
}

func at(clock string) string { return "2026-03-02T" + clock + "Z" }

// TestKeywordRepliesAndConsentLines: every automatic reply the recipient
// gets is a "reply" line with its keyword class, every ledger entry a
// "consent" line, in time order with the flow lines; a reply the limits hold
// back is a skip line.
func TestKeywordRepliesAndConsentLines(t *testing.T) {
	events := strings.Join([]string{
		`{"type":"identify","userId":"ana","traits":{"phone":"+1 415 555 0100"},"timestamp":"` + at("17:00:00") + `"}`,
		`{"type":"consent","userId":"ana","status":"subscribed","source":"web_form","evidence":{"url":"https://glow.example/join"},"timestamp":"` + at("17:01:00") + `"}`,
		`{"type":"inbound","from":"+14155550100","body":"help","timestamp":"` + at("17:02:00") + `"}`,
		`{"type":"inbound","from":"+14155550100","body":"STOP","timestamp":"` + at("17:03:00") + `"}`,
		`{"type":"inbound","from":"(415) 555-0100","body":"stop","timestamp":"` + at("17:04:00") + `"}`,
		`{"type":"inbound","from":"+14155550100","body":"START","timestamp":"` + at("17:05:00") + `"}`,
		`{"type":"inbound","from":"+14155550100","body":"JOIN","timestamp":"` + at("17:06:00") + `"}`,
	}, "\n")
	cfg := testConfig(t)
	lines := simulateLines(t, cfg, events)
	got := pick(lines, "reply", "consent", "skip", "enter", "refused")
	want := []string{
		"ana consent status=subscribed source=web_form",
		"ana enter flow=welcome reason=trigger:Subscribed",
		"ana reply reason=keyword:help",
		"ana consent status=unsubscribed source=keyword",
		"ana reply reason=keyword:stop",
		"ana consent status=unsubscribed source=keyword",
		"ana skip step=keyword:stop reason=skipped:opt_out_confirmed_24h",
		"ana consent status=subscribed source=keyword",
		"ana enter flow=welcome reason=trigger:Subscribed",
		"ana reply reason=keyword:start",
		"ana reply reason=keyword:join", // already subscribed: confirmed, nothing recorded
	}
	compareSummaries(t, got, want)
	wantAt := []string{"17:01:00", "17:01:00", "17:02:00", "17:03:00", "17:03:00", "17:04:00", "17:04:00", "17:05:00", "17:05:00", "17:05:00", "17:06:00"}
	for i, l := range got {
		if i < len(wantAt) && str(l["time"]) != at(wantAt[i]) {
			t.Errorf("%s at %v, want %s", summary(l), l["time"], at(wantAt[i]))
		}
	}
	bodies := map[string]string{
		"keyword:help":  policy.AutoReplyText(policy.KeywordHelp, false, cfg.Brand.Name, cfg.Brand.Help),
		"keyword:stop":  policy.AutoReplyText(policy.KeywordStop, false, cfg.Brand.Name, cfg.Brand.Help),
		"keyword:start": policy.AutoReplyText(policy.KeywordStart, false, cfg.Brand.Name, cfg.Brand.Help),
		"keyword:join":  policy.AutoReplyText(policy.KeywordJoin, false, cfg.Brand.Name, cfg.Brand.Help),
	}
	for _, l := range pick(lines, "reply") {
		if want := bodies[str(l["reason"])]; str(l["body"]) != want || want == "" {
			t.Errorf("%s body %q, want %q", summary(l), l["body"], want)
		}
		if got, want := keys(l), []string{"body", "contact", "kind", "local_time", "reason", "time"}; !reflect.DeepEqual(got, want) {
			t.Errorf("reply line fields %v, want %v", got, want)
		}
		if got, want := str(l["local_time"]), "PST"; !strings.HasSuffix(got, want) {
			t.Errorf("reply local_time %q, want the contact's zone (%s)", got, want)
		}
	}
	for _, l := range pick(lines, "consent") {
		if got, want := keys(l), []string{"contact", "kind", "local_time", "source", "status", "time"}; !reflect.DeepEqual(got, want) {
			t.Errorf("consent line fields %v, want %v", got, want)
		}
	}
}

// TestDoubleOptInReplies: with double_opt_in, JOIN makes the number pending
// with the "Reply Y" request, and Y subscribes it with its confirmation; only
// then does the welcome flow run.
func TestDoubleOptInReplies(t *testing.T) {
	cfg := testConfig(t)
	cfg.DoubleOptIn = true
	events := strings.Join([]string{
		`{"type":"identify","userId":"bo","traits":{"phone":"+1 212 555 0199"},"timestamp":"` + at("15:00:00") + `"}`,
		`{"type":"inbound","from":"+12125550199","body":"join","timestamp":"` + at("15:01:00") + `"}`,
		`{"type":"inbound","from":"+12125550199","body":"Y","timestamp":"` + at("15:02:00") + `"}`,
	}, "\n")
	lines := simulateLines(t, cfg, events)
	compareSummaries(t, pick(lines, "reply", "consent", "enter", "send"), []string{
		"bo consent status=pending source=keyword",
		"bo reply reason=keyword:join",
		"bo consent status=subscribed source=double_opt_in",
		"bo enter flow=welcome reason=trigger:Subscribed",
		"bo send flow=welcome step=hello reason=sent",
		"bo reply reason=keyword:confirm",
	})
	replies := pick(lines, "reply")
	if len(replies) == 2 {
		if got, want := str(replies[0]["body"]), policy.AutoReplyText(policy.KeywordJoin, true, cfg.Brand.Name, cfg.Brand.Help); got != want || !strings.Contains(got, "Reply Y") {
			t.Errorf("JOIN reply %q, want the double opt-in request %q", got, want)
		}
		if got, want := str(replies[1]["body"]), policy.AutoReplyText(policy.KeywordConfirm, false, cfg.Brand.Name, cfg.Brand.Help); got != want {
			t.Errorf("Y reply %q, want %q", got, want)
		}
	}
}

// TestRefusedLines: an input the system refuses is a "refused" line with its
// line number and why, and the lines after it still run.
func TestRefusedLines(t *testing.T) {
	events := strings.Join([]string{
		`{"type":"identify","userId":"ana","traits":{"phone":"+1 415 555 0100"},"timestamp":"` + at("17:00:00") + `"}`,
		`# a comment, then a number that belongs to ana`,
		`{"type":"identify","userId":"bo","traits":{"phone":"(415) 555-0100"},"timestamp":"` + at("17:01:00") + `"}`,
		`{"type":"consent","userId":"ana","status":"subscribed","source":"web_form","evidence":{"ip":"203.0.113.9"},"timestamp":"` + at("17:02:00") + `"}`,
		`{"type":"inbound","from":"+14155550100","body":"STOP","timestamp":"` + at("17:03:00") + `"}`,
		`{"type":"consent","userId":"ana","status":"subscribed","source":"api","timestamp":"` + at("17:04:00") + `"}`,
		`not json`,
		`{"type":"track","userId":"ana","event":"Order Completed","properties":{"order_id":"A1"},"timestamp":"yesterday"}`,
		`{"type":"consent","userId":"nobody","status":"subscribed","timestamp":"` + at("17:05:00") + `"}`,
		`{"type":"purchase","userId":"ana","timestamp":"` + at("17:06:00") + `"}`,
		`{"type":"track","userId":"ana","event":"Order Completed","properties":{"order_id":"A2"},"timestamp":"` + at("17:07:00") + `","receivedAt":"noon"}`,
		`{"type":"track","userId":"ana","properties":{"huge":"` + strings.Repeat("x", 1<<20) + `"},"timestamp":"` + at("17:08:00") + `"}`,
		`{"type":"consent","userId":"ana","status":"subscribed","source":"web_form","evidence":"yes","timestamp":"` + at("17:09:00") + `"}`,
		`{"type":"consent","userId":"ana","status":"subscribed","source":"web_form","evidence":{"url":"https://glow.example/join","ip":"203.0.113.9"},"timestamp":"` + at("17:10:00") + `"}`,
		`{"type":"track","userId":"ana","event":"Order Completed","properties":{"order_id":"A3"},"timestamp":"` + at("17:11:00") + `"}`,
	}, "\n")
	lines := simulateLines(t, testConfig(t), events)
	var refused []string
	for _, l := range pick(lines, "refused") {
		refused = append(refused, fmt.Sprintf("%v %s %s", l["line"], str(l["contact"]), str(l["time"])))
		if got, want := keys(l), []string{"contact", "kind", "line", "local_time", "reason", "time"}; !reflect.DeepEqual(got, want) {
			t.Errorf("refused line fields %v, want %v", got, want)
		}
	}
	start := at("17:00:00")
	wantRefused := []string{
		"7  " + start,     // not JSON: no time, refused at the start
		"8 ana " + start,  // a bad timestamp
		"11 ana " + start, // a bad receivedAt
		"12  " + start,    // too long to read: no time either
		"3 bo " + at("17:01:00"),
		"6 ana " + at("17:04:00"),
		"9 nobody " + at("17:05:00"),
		"10 ana " + at("17:06:00"),
		"13 ana " + at("17:09:00"),
	}
	if !reflect.DeepEqual(refused, wantRefused) {
		t.Errorf("refused lines:\n got %q\nwant %q", refused, wantRefused)
	}
	reasons := map[float64]string{}
	for _, l := range pick(lines, "refused") {
		reasons[l["line"].(float64)] = str(l["reason"])
	}
	for line, want := range map[float64]string{
		3: "already belongs to", 6: "evidence", 7: "not a JSON object", 8: `"timestamp" must be RFC 3339`,
		9: `no contact with id "nobody"`, 10: "purchase", 11: `"receivedAt" must be RFC 3339`, 12: "longer than",
		13: `"evidence" must be a JSON object`,
	} {
		if !strings.Contains(reasons[line], want) {
			t.Errorf("line %v refused with %q, want it to say %q", line, reasons[line], want)
		}
	}
	// The run went on: the opt-in with evidence resubscribed ana, the
	// welcome flow and the later order ran.
	compareSummaries(t, pick(lines, "consent", "enter"), []string{
		"ana consent status=subscribed source=web_form",
		"ana enter flow=welcome reason=trigger:Subscribed",
		"ana consent status=unsubscribed source=keyword",
		"ana consent status=subscribed source=web_form",
		"ana enter flow=welcome reason=trigger:Subscribed",
		"ana enter flow=order-thanks reason=trigger:Order Completed",
	})
	var text bytes.Buffer
	ls, err := simulate.Run(context.Background(), simulate.Options{FlowsFS: testFlows, Events: strings.NewReader(events), Config: testConfig(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := simulate.WriteText(&text, ls); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"refused line 3: phone +1415***0100 already belongs to", "consent subscribed (web_form)", "reply    keyword:stop\n      \"Glow: You are unsubscribed"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, text.String())
		}
	}
}

// TestReceivedAt: an input's receivedAt is when smsflow got it: the event
// keeps its timestamp, so one received more than trigger_max_age after it
// happened is history and triggers nothing; inputs run in order of receipt.
func TestReceivedAt(t *testing.T) {
	events := strings.Join([]string{
		`{"type":"identify","userId":"ana","traits":{"phone":"+1 415 555 0100"},"timestamp":"` + at("10:00:00") + `"}`,
		// 7 h late: past the 6 h trigger_max_age.
		`{"type":"track","userId":"ana","event":"Order Completed","properties":{"order_id":"A1"},"timestamp":"` + at("11:00:00") + `","receivedAt":"` + at("18:00:00") + `"}`,
		// Happened before A2, received after it.
		`{"type":"track","userId":"ana","event":"Order Completed","properties":{"order_id":"A3"},"timestamp":"` + at("11:30:00") + `","receivedAt":"` + at("13:00:00") + `"}`,
		`{"type":"track","userId":"ana","event":"Order Completed","properties":{"order_id":"A2"},"timestamp":"` + at("12:00:00") + `"}`,
		// The same event as A1, received on time.
		`{"type":"track","userId":"ana","event":"Order Completed","properties":{"order_id":"A4"},"timestamp":"` + at("11:00:00") + `","receivedAt":"` + at("16:59:59") + `"}`,
	}, "\n")
	cfg := testConfig(t)
	cfg.TriggerMaxAge = "6h"
	lines := simulateLines(t, cfg, events)
	var got []string
	for _, l := range pick(lines, "send") {
		got = append(got, str(l["time"])+" "+str(l["body"]))
	}
	want := []string{
		at("12:00:00") + " Glow: thanks for order A2.",
		at("13:00:00") + " Glow: thanks for order A3.",
		at("16:59:59") + " Glow: thanks for order A4.",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sends:\n got %q\nwant %q (A1 arrived 7 h late: history only)", got, want)
	}
}

// TestNoteWhenEveryEntryIsSkipped: a history whose contacts have no consent
// (cart recovery without its contacts file) says why nothing was sent.
func TestNoteWhenEveryEntryIsSkipped(t *testing.T) {
	cfg := examplesConfig(t)
	for _, ex := range examples(t) {
		if ex.name != "cart-recovery" {
			continue
		}
		withContacts, _ := simulateJSON(t, ex, cfg)
		if note := simulate.Note(withContacts); note != "" {
			t.Errorf("with --contacts: note %q, want none", note)
		}
		ex.contacts = ""
		without, _ := simulateJSON(t, ex, cfg)
		if note := simulate.Note(without); !strings.Contains(note, "skipped:no_consent") || !strings.Contains(note, "--contacts") {
			t.Errorf("without --contacts: note %q, want it to name skipped:no_consent and --contacts", note)
		}
		return
	}
	t.Fatal("no cart-recovery example")
}

func compareSummaries(t *testing.T, lines []map[string]any, want []string) {
	t.Helper()
	var got []string
	for _, l := range lines {
		got = append(got, summary(l))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("lines:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}
