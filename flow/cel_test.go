package flow

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
)

// fakeFacts is a contact with a fixed history and run.
type fakeFacts struct {
	events    map[string][]time.Time // name → times, against now
	now       time.Time
	clicked   map[string]bool
	delivered map[string]bool
	replied   bool
}

func (f fakeFacts) Count(name string, window time.Duration) int {
	n := 0
	for _, t := range f.events[name] {
		if !t.Before(f.now.Add(-window)) {
			n++
		}
	}
	return n
}

func (f fakeFacts) Last(name string) (time.Time, bool) {
	ts := f.events[name]
	if len(ts) == 0 {
		return time.Time{}, false
	}
	return ts[len(ts)-1], true
}

func (f fakeFacts) Clicked(step string) bool   { return f.clicked[step] }
func (f fakeFacts) Delivered(step string) bool { return f.delivered[step] }
func (f fakeFacts) Replied() bool              { return f.replied }

var now = time.Date(2025, 11, 28, 15, 0, 0, 0, time.UTC)

func testFacts() fakeFacts {
	return fakeFacts{
		now: now,
		events: map[string][]time.Time{
			"Order Completed": {now.Add(-40 * 24 * time.Hour), now.Add(-2 * time.Hour)},
			"Page Viewed":     {now.Add(-10 * 24 * time.Hour)},
		},
		clicked:   map[string]bool{"reminder": true},
		delivered: map[string]bool{"reminder": true, "incentive": true},
		replied:   true,
	}
}

func testVars() Vars {
	c := smsflow.Contact{
		ID: "u1", Phone: "+14155550100", Timezone: "America/New_York",
		Timezones: []string{"America/New_York"},
		Traits:    map[string]any{"first_name": "Ada", "visit_count": float64(3), "vip": true},
		CreatedAt: now.Add(-100 * 24 * time.Hour),
	}
	ev := &smsflow.Event{Name: "Checkout Started", Properties: map[string]any{"value": "42.5", "revenue": float64(99.9), "items": []any{"a", "b"}}, Timestamp: now.Add(-time.Hour)}
	return Vars{
		Contact: ContactVars(c, smsflow.ConsentSubscribed),
		Event:   EventVars(ev),
		Trigger: EventVars(ev),
		Now:     now,
		Reply:   map[string]any{"text": " 1 "},
	}
}

func mustCompile(t *testing.T, src string) *Expr {
	t.Helper()
	e, err := Compile(src)
	if err != nil {
		t.Fatalf("Compile(%q): %v", src, err)
	}
	return e
}

func TestEvalBool(t *testing.T) {
	tests := []struct {
		expr string
		want bool
	}{
		{`count("Order Completed", duration("24h")) == 1`, true},
		{`count("Order Completed", days(60)) == 2`, true},
		{`count("Nothing", days(60)) == 0`, true},
		{`within("Page Viewed", days(7))`, false},
		{`within("Page Viewed", days(14))`, true},
		{`last("Order Completed") > now - hours(3)`, true},
		{`last("Order Completed") == now - duration("2h")`, true},
		{`clicked("reminder")`, true},
		{`clicked("incentive")`, false},
		{`delivered("incentive")`, true},
		{`delivered("other")`, false},
		{`replied()`, true},
		{`days(2) == duration("48h") && hours(36) == duration("36h")`, true},
		{`double(event.properties.value) > 0`, true},
		{`double(event.properties.revenue) > 99.0`, true},
		{`int(contact.traits.visit_count) >= 2`, true},
		{`contact.traits.vip == true`, true},
		{`contact.consent == "subscribed" && contact.timezone == "America/New_York"`, true},
		{`"America/New_York" in contact.timezones`, true},
		{`contact.created_at < now - days(99)`, true},
		{`trigger.name == "Checkout Started" && event.timestamp < now`, true},
		{`reply.text.trim() == "1"`, true},
		{`!timed_out`, true},
		{`size(event.properties.items) == 2`, true},
		{`count("Nothing", days(1)) == 0 || last("Nothing") > now`, true}, // || absorbs the error
	}
	facts := testFacts()
	vars := testVars()
	for _, tt := range tests {
		got, err := EvalBool(mustCompile(t, tt.expr), vars, facts)
		if err != nil {
			t.Errorf("EvalBool(%s): %v", tt.expr, err)
			continue
		}
		if got != tt.want {
			t.Errorf("EvalBool(%s) = %v, want %v", tt.expr, got, tt.want)
		}
	}
}

func TestEvalErrors(t *testing.T) {
	tests := []struct {
		expr    string
		wantErr string
	}{
		{`last("Nothing") > now`, "no such event"},
		{`contact.traits.missing == "x"`, "no such key"},
		{`int(contact.traits.first_name) > 1`, ""},
		{`count("x", duration("-1h")) > 0`, "must not be negative"},
		{`days(9999999) > duration("1h")`, "out of range"},
		{`event.properties.value > 1`, ""}, // a string compared with an int
	}
	for _, tt := range tests {
		_, err := EvalBool(mustCompile(t, tt.expr), testVars(), testFacts())
		if err == nil {
			t.Errorf("EvalBool(%s): no error", tt.expr)
			continue
		}
		if !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("EvalBool(%s) error %q, want it to mention %q", tt.expr, err, tt.wantErr)
		}
	}
	// No facts: the flow functions see an empty history, they do not crash.
	got, err := EvalBool(mustCompile(t, `count("Order Completed", days(1)) == 0 && !clicked("a") && !replied()`), Vars{}, nil)
	if err != nil || !got {
		t.Errorf("nil facts: %v, %v; want true, nil", got, err)
	}
	if _, err := EvalBool(nil, Vars{}, nil); err == nil {
		t.Errorf("EvalBool(nil): no error")
	}
	// A dyn expression that turns out not to be a bool.
	if _, err := EvalBool(mustCompile(t, `contact.id`), testVars(), nil); err == nil {
		t.Errorf("EvalBool(contact.id): no error")
	}
}

func TestEvalTimeDoubleValue(t *testing.T) {
	vars, facts := testVars(), testFacts()
	tm, err := EvalTime(mustCompile(t, `trigger.timestamp + days(3)`), vars, facts)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tm, now.Add(-time.Hour+72*time.Hour); !got.Equal(want) {
		t.Errorf("EvalTime = %v, want %v", got, want)
	}
	if _, err := EvalTime(mustCompile(t, `contact.id`), vars, facts); err == nil {
		t.Errorf("EvalTime(string): no error")
	}
	doubles := []struct {
		expr string
		want float64
	}{
		{`double(event.properties.revenue)`, 99.9},
		{`event.properties.revenue`, 99.9},
		{`event.properties.value`, 42.5}, // a numeric string converts
		{`3`, 3},
	}
	for _, tt := range doubles {
		got, err := EvalDouble(mustCompile(t, tt.expr), vars, facts)
		if err != nil || got != tt.want {
			t.Errorf("EvalDouble(%s) = %v, %v; want %v", tt.expr, got, err, tt.want)
		}
	}
	values := []struct {
		expr string
		want string
	}{
		{`"skincare"`, "skincare"},
		{`reply.text.trim()`, "1"},
		{`int(contact.traits.visit_count) + 1`, "4"},
		{`contact.traits.visit_count`, "3"},
		{`[1, "a", true]`, "[1 a true]"},
		{`{"a": 1.5, "b": [now]}`, "map[a:1.5 b:[2025-11-28 15:00:00 +0000 UTC]]"},
		{`null`, "<nil>"},
		{`now`, "2025-11-28 15:00:00 +0000 UTC"},
	}
	for _, tt := range values {
		got, err := EvalValue(mustCompile(t, tt.expr), vars, facts)
		if err != nil || fmt.Sprint(got) != tt.want {
			t.Errorf("EvalValue(%s) = %v (%T), %v; want %s", tt.expr, got, got, err, tt.want)
		}
	}
	if _, err := EvalValue(mustCompile(t, `{1: 2}`), vars, facts); err == nil {
		t.Errorf("EvalValue(map with int keys): no error")
	}
}

func TestCostLimit(t *testing.T) {
	// Each level multiplies the work by 100; four levels is 10^8 steps.
	hostile := `[` + strings.Repeat("0,", 99) + `0].all(a, [` + strings.Repeat("0,", 99) + `0].all(b, [` +
		strings.Repeat("0,", 99) + `0].all(c, [` + strings.Repeat("0,", 99) + `0].all(d, a + b + c + d >= 0))))`
	e := mustCompile(t, hostile)
	_, err := EvalBool(e, Vars{}, nil)
	if err == nil || !strings.Contains(err.Error(), "cost limit") {
		t.Errorf("hostile expression: err = %v, want a cost limit error", err)
	}
	// An ordinary condition is far below the limit.
	if _, err := EvalBool(mustCompile(t, `int(contact.traits.visit_count) >= 2 && !clicked("reminder")`), testVars(), testFacts()); err != nil {
		t.Errorf("ordinary condition: %v", err)
	}
	// Expressions longer than the size limit do not compile.
	if _, err := Compile(strings.Repeat("1 + ", maxExprSize) + "1 > 0"); err == nil {
		t.Errorf("oversized expression compiled")
	}
}

// TestConcurrentFacts evaluates one compiled program from many goroutines,
// each with its own facts; run with -race.
func TestConcurrentFacts(t *testing.T) {
	e := mustCompile(t, `count("Order Completed", days(1)) == int(contact.traits.n) && clicked(contact.id)`)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("s%d", i)
			var times []time.Time
			for range i % 5 {
				times = append(times, now.Add(-time.Minute))
			}
			facts := fakeFacts{now: now, events: map[string][]time.Time{"Order Completed": times}, clicked: map[string]bool{id: i%2 == 0}}
			vars := Vars{Contact: map[string]any{"id": id, "traits": map[string]any{"n": i % 5}}, Now: now}
			got, err := EvalBool(e, vars, facts)
			if err != nil {
				errs <- err
				return
			}
			if want := i%2 == 0; got != want {
				errs <- fmt.Errorf("goroutine %d: got %v, want %v", i, got, want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{`count("x")`, "found no matching overload for 'count'"},
		{`clicked(1)`, "found no matching overload for 'clicked'"},
		{`days("2")`, "found no matching overload for 'days'"},
		{`contact.id +`, "Syntax error"},
		{`nobody`, "undeclared reference to 'nobody'"},
	}
	for _, tt := range tests {
		_, err := Compile(tt.expr)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Compile(%s) = %v, want an error with %q", tt.expr, err, tt.want)
		}
		if got, want := smsflow.ErrorCode(err), smsflow.EINVALID; got != want {
			t.Errorf("Compile(%s) code = %q, want %q", tt.expr, got, want)
		}
	}
}

func TestContactAndEventVars(t *testing.T) {
	c := ContactVars(smsflow.Contact{ID: "x"}, smsflow.ConsentNone)
	if c["traits"] == nil || c["timezones"] == nil || c["consent"] != "none" {
		t.Errorf("ContactVars = %v; want empty traits and timezones, consent none", c)
	}
	if got := EventVars(nil); len(got) != 0 {
		t.Errorf("EventVars(nil) = %v, want empty", got)
	}
	ok, err := EvalBool(mustCompile(t, `size(contact.traits) == 0 && !has(event.name)`), Vars{Contact: c}, nil)
	if err != nil || !ok {
		t.Errorf("empty contact: %v, %v; want true", ok, err)
	}
}
