package flow

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
)

func mustParseFile(t *testing.T, path string, opts Options) *Flow {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, problems := Parse(path, src, opts)
	if f == nil {
		t.Fatalf("Parse(%s) failed:\n%v", path, problems)
	}
	return f
}

func mustParse(t *testing.T, src string) *Flow {
	t.Helper()
	f, problems := Parse("t.yaml", []byte(src), Options{})
	if f == nil {
		t.Fatalf("Parse failed:\n%v", problems)
	}
	return f
}

func TestParseCartRecovery(t *testing.T) {
	f := mustParseFile(t, "testdata/valid/cart-recovery.yaml", Options{})
	if got, want := f.ID, "cart-recovery"; got != want {
		t.Errorf("ID = %q, want %q", got, want)
	}
	if got, want := f.Name, "Cart recovery"; got != want {
		t.Errorf("Name = %q, want %q", got, want)
	}
	if got, want := f.Category, CategoryBehavior; got != want {
		t.Errorf("Category = %q, want %q", got, want)
	}
	if got, want := f.Priority, 60; got != want {
		t.Errorf("Priority = %d, want %d", got, want)
	}
	if got, want := f.Trigger.Kind, TriggerEvent; got != want {
		t.Errorf("Trigger.Kind = %q, want %q", got, want)
	}
	if got, want := f.Trigger.Event, "Checkout Started"; got != want {
		t.Errorf("Trigger.Event = %q, want %q", got, want)
	}
	if got, want := f.Trigger.Where.String(), "double(event.properties.value) > 0"; got != want {
		t.Errorf("Trigger.Where = %q, want %q", got, want)
	}
	if got, want := f.Entry.Reentry, (Reentry{After: 7 * 24 * time.Hour}); got != want {
		t.Errorf("Reentry = %+v, want %+v", got, want)
	}
	if f.Entry.Unless == nil {
		t.Errorf("Entry.Unless is nil")
	}
	if got, want := f.Entry.Holdout, 10.0; got != want {
		t.Errorf("Holdout = %v, want %v", got, want)
	}
	if got, want := len(f.Exit), 1; got != want {
		t.Fatalf("len(Exit) = %d, want %d", got, want)
	}
	if got, want := f.Exit[0].Event, "Order Completed"; got != want {
		t.Errorf("Exit[0].Event = %q, want %q", got, want)
	}
	if f.Goal == nil || f.Goal.Within != 5*24*time.Hour || !f.Goal.Exit || f.Goal.Value == nil {
		t.Errorf("Goal = %+v, want Order Completed within 5d, exit, with value", f.Goal)
	}
	var ids []string
	for _, s := range f.AllSteps() {
		ids = append(ids, s.ID+":"+string(s.Kind))
	}
	if got, want := strings.Join(ids, " "), "step-1:wait reminder:send step-3:wait step-4:if incentive:send"; got != want {
		t.Errorf("steps = %s, want %s", got, want)
	}
	rem := f.Step("reminder")
	if rem == nil {
		t.Fatal("no step reminder")
	}
	if got, want := rem.Send.Template, `{{ brand.name }}: still thinking it over, {{ contact.traits.first_name | default: "friend" }}? Your cart is saved: {{ event.properties.checkout_url | track }}`; got != want {
		t.Errorf("template = %q, want %q", got, want)
	}
	if got, want := [2]int{rem.Line, rem.Col}, [2]int{21, 5}; got != want {
		t.Errorf("reminder at %v, want %v", got, want)
	}
	if got, want := f.Step("step-1").Wait.Duration, time.Hour; got != want {
		t.Errorf("wait = %v, want %v", got, want)
	}
	if !slices.Equal(f.Source, mustRead(t, "testdata/valid/cart-recovery.yaml")) {
		t.Errorf("Source differs from the file")
	}
	if len(f.Hash) != 64 {
		t.Errorf("Hash = %q, want 64 hex digits", f.Hash)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseEveryTriggerAndStep(t *testing.T) {
	welcome := mustParseFile(t, "testdata/valid/welcome.yaml", Options{})
	winback := mustParseFile(t, "testdata/valid/winback.yaml", Options{})
	vip := mustParseFile(t, "testdata/valid/vip-drop.yaml", Options{})
	post := mustParseFile(t, "testdata/valid/post-purchase.yaml", Options{})

	// Triggers.
	if got, want := welcome.Trigger.Consent, smsflow.ConsentSubscribed; got != want || welcome.Trigger.Kind != TriggerConsent {
		t.Errorf("welcome trigger = %+v, want consent subscribed", welcome.Trigger)
	}
	if in := winback.Trigger.Inactivity; winback.Trigger.Kind != TriggerInactivity || in == nil || in.Event != "Order Completed" || in.For != 60*24*time.Hour {
		t.Errorf("winback trigger = %+v, want inactivity Order Completed for 60d", winback.Trigger)
	}
	seg := vip.Trigger.Segment
	if vip.Trigger.Kind != TriggerSegment || seg == nil || !seg.Local || seg.Where == nil {
		t.Fatalf("vip trigger = %+v, want a local segment", vip.Trigger)
	}
	if got, want := seg.LocalAt.String(), "2025-11-28T10:00"; got != want || seg.LocalAt.Daily() {
		t.Errorf("segment at = %s (daily %v), want %s", got, seg.LocalAt.Daily(), want)
	}
	if got, want := post.Trigger.Event, "Order Completed"; got != want {
		t.Errorf("post trigger = %q, want %q", got, want)
	}

	// Defaults and entry rules.
	if got, want := welcome.Priority, 75; got != want {
		t.Errorf("welcome priority = %d, want %d (lifecycle default)", got, want)
	}
	if got, want := welcome.Name, "Welcome series"; got != want {
		t.Errorf("welcome name = %q, want %q", got, want)
	}
	if got, want := post.Name, "post-purchase"; got != want {
		t.Errorf("post name = %q, want the id %q", got, want)
	}
	if !welcome.Entry.Reentry.Never {
		t.Errorf("welcome reentry = %+v, want never", welcome.Entry.Reentry)
	}
	if got, want := winback.Entry.Holdout, 2.5; got != want {
		t.Errorf("winback holdout = %v, want %v", got, want)
	}
	if winback.Goal == nil || winback.Goal.Exit || winback.Goal.Within != 14*24*time.Hour {
		t.Errorf("winback goal = %+v, want within 2w and exit false", winback.Goal)
	}
	if got, want := len(winback.Exit), 2; got != want || winback.Exit[1].Where == nil {
		t.Errorf("winback exit rules = %+v, want 2, the second with where", winback.Exit)
	}

	// Every step kind, with its details.
	kinds := map[StepKind]bool{}
	waits := map[WaitKind]bool{}
	for _, f := range []*Flow{welcome, winback, vip, post} {
		for _, s := range f.AllSteps() {
			kinds[s.Kind] = true
			if s.Kind == StepWait {
				waits[s.Wait.Kind] = true
			}
		}
	}
	for _, k := range StepKinds {
		if !kinds[k] {
			t.Errorf("no %s step in the valid test flows", k)
		}
	}
	for _, k := range []WaitKind{WaitDuration, WaitUntil, WaitUntilLocal, WaitEvent, WaitReply} {
		if !waits[k] {
			t.Errorf("no %s wait in the valid test flows", k)
		}
	}
	ask := welcome.Step("ask")
	if ask.Wait.Kind != WaitReply || ask.Wait.Timeout != 48*time.Hour {
		t.Errorf("ask = %+v, want a reply wait with timeout 2d", ask.Wait)
	}
	sw := welcome.Step("step-3")
	if sw.Kind != StepSwitch || len(sw.Switch) != 3 || sw.Switch[2].When != nil {
		t.Fatalf("step-3 = %+v, want a switch of 2 cases and an else", sw)
	}
	set := welcome.Step("step-4").Set
	if len(set) != 2 || set[0].Trait != "interest" || set[1].Trait != "answered_at" {
		t.Errorf("set = %+v, want interest then answered_at", set)
	}
	split := welcome.Step("step-7")
	if split.Kind != StepSplit || len(split.Split) != 2 || split.Split[0].Name != "discount" || split.Split[0].Weight != 50 || len(split.Split[1].Then) != 0 {
		t.Errorf("step-7 = %+v, want a split discount/control", split)
	}
	we := welcome.Step("step-9").Wait
	if we.Kind != WaitEvent || we.Event != "Order Completed" || we.Where == nil || we.Timeout != 7*24*time.Hour {
		t.Errorf("step-9 = %+v, want an event wait", we)
	}
	if got, want := welcome.Step("step-11").Enter, "post-purchase"; got != want {
		t.Errorf("enter = %q, want %q", got, want)
	}
	if got, want := welcome.Step("step-12").Exit, "no-purchase"; got != want {
		t.Errorf("exit = %q, want %q", got, want)
	}
	if got, want := winback.Step("step-1").Wait.UntilLocal, (Clock{10, 0}); got != want {
		t.Errorf("until_local = %v, want %v", got, want)
	}
	if got, want := winback.Step("step-3").Wait.Duration, 36*time.Hour; got != want {
		t.Errorf("1d12h = %v, want %v", got, want)
	}
	from := post.Step("step-3").Send
	if from.From != "+15550100" || from.Template != "How is it going? Reply with any question." {
		t.Errorf("send map = %+v", from)
	}
	if post.Step("step-2").Wait.Until == nil {
		t.Errorf("wait until has no expression")
	}
}

func TestSegmentAt(t *testing.T) {
	base := "id: t\ncategory: promo\nexit: [event: X]\nsteps:\n  - send: hi\ntrigger:\n  segment:\n    where: 'true'\n"
	tests := []struct {
		at    string
		local bool
		want  string
	}{
		{"2025-11-28T10:00:00-05:00", false, "2025-11-28T15:00:00Z"},
		{"'2025-11-28T10:00:00Z'", false, "2025-11-28T10:00:00Z"},
		{"'10:00'", true, "daily 10:00"},
		{"2025-11-28T10:00", true, "2025-11-28T10:00"},
		{"2025-11-28 09:30", true, "2025-11-28T09:30"},
	}
	for _, tt := range tests {
		src := base + "    at: " + tt.at + "\n"
		if tt.local {
			src += "    local: true\n"
		}
		f := mustParse(t, src)
		seg := f.Trigger.Segment
		var got string
		switch {
		case !tt.local:
			got = seg.At.Format(time.RFC3339)
		case seg.LocalAt.Daily():
			got = "daily " + seg.LocalAt.String()
		default:
			got = seg.LocalAt.String()
		}
		if got != tt.want {
			t.Errorf("at %s (local %v) = %s, want %s", tt.at, tt.local, got, tt.want)
		}
	}
}

// nav is a flow with nested if, switch and split, to test navigation.
const nav = `id: nav
category: service
trigger: {event: E}
steps:
  - send: one                 # step-1
  - if: 'true'                # step-2
    then:
      - send: two             # step-3
      - switch:               # step-4
          - when: 'true'
            then:
              - id: deep      # step-5
                send: three
          - else:
              - wait: 1h      # step-6
    else:
      - split:                # step-7
          - variant: a
            weight: 1
            then:
              - send: four    # step-8
          - variant: b
            weight: 1
  - id: last                  # step-9
    send: five
  - if: 'false'               # step-10
    then:
      - exit: done            # step-11
`

func TestGeneratedIDsAndNext(t *testing.T) {
	f := mustParse(t, nav)
	var ids []string
	for _, s := range f.AllSteps() {
		ids = append(ids, s.ID)
		if got, want := s.Generated, strings.HasPrefix(s.ID, "step-"); got != want {
			t.Errorf("%s: Generated = %v, want %v", s.ID, got, want)
		}
	}
	if got, want := strings.Join(ids, " "), "step-1 step-2 step-3 step-4 deep step-6 step-7 step-8 last step-10 step-11"; got != want {
		t.Errorf("ids = %s\nwant  %s", got, want)
	}
	if got, want := f.Start(), "step-1"; got != want {
		t.Errorf("Start = %q, want %q", got, want)
	}
	next := []struct{ id, want string }{
		{"step-1", "step-2"},
		{"step-2", "last"}, // after the if
		{"step-3", "step-4"},
		{"step-4", "last"}, // end of then → after the if
		{"deep", "last"},
		{"step-6", "last"},
		{"step-7", "last"},
		{"step-8", "last"},
		{"last", "step-10"},
		{"step-10", ""},
		{"step-11", ""}, // exit ends the run
		{"nope", ""},
	}
	for _, tt := range next {
		if got := f.Next(tt.id); got != tt.want {
			t.Errorf("Next(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
	branch := []struct {
		id   string
		i    int
		want string
		ok   bool
	}{
		{"step-2", 0, "step-3", true},
		{"step-2", 1, "step-7", true},
		{"step-4", 0, "deep", true},
		{"step-4", 1, "step-6", true},
		{"step-7", 0, "step-8", true},
		{"step-7", 1, "last", true}, // empty variant → continuation
		{"step-10", 1, "", true},    // if without else, at the end of the flow
		{"step-10", 0, "step-11", true},
		{"step-2", 2, "", false},
		{"step-1", 0, "", false},
		{"nope", 0, "", false},
	}
	for _, tt := range branch {
		got, ok := f.Branch(tt.id, tt.i)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Branch(%q, %d) = %q, %v; want %q, %v", tt.id, tt.i, got, ok, tt.want, tt.ok)
		}
	}
	if f.Step("deep") == nil || f.Step("deep").Send.Template != "three" {
		t.Errorf("Step(deep) = %+v", f.Step("deep"))
	}
	if f.Step("nope") != nil {
		t.Errorf("Step(nope) is not nil")
	}
}

func TestHash(t *testing.T) {
	a := mustParse(t, nav)
	b := mustParse(t, nav)
	if a.Hash != b.Hash {
		t.Errorf("identical content, different hashes")
	}
	// Comments, quoting, block style and indentation do not count.
	restyled := strings.NewReplacer(
		"# step-1", "# first",
		"send: one", "send: \"one\"",
		"if: 'true'", "if: \"true\"",
		"trigger: {event: E}", "trigger:\n    event: 'E'",
	).Replace(nav) + "# trailing comment\n"
	c := mustParse(t, restyled)
	if c.Hash != a.Hash {
		t.Errorf("restyled flow has another hash")
	}
	// A changed value does.
	d := mustParse(t, strings.Replace(nav, "send: one", "send: one!", 1))
	if d.Hash == a.Hash {
		t.Errorf("changed template, same hash")
	}
}

func TestWarnings(t *testing.T) {
	src := "id: p\ncategory: promo\ntrigger: {event: E}\nsteps:\n  - send: hi\n"
	f, problems := Parse("p.yaml", []byte(src), Options{})
	if f == nil {
		t.Fatalf("a warning made the flow invalid: %v", problems)
	}
	if got, want := len(problems), 1; got != want {
		t.Fatalf("problems = %v, want one warning", problems)
	}
	if got, want := problems[0].String(), "p.yaml:2:11: warning: promo flow without an exit: add an exit: rule (like - event: Order Completed) or a goal, so people who convert stop getting promos"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// A goal that exits is an exit too.
	withGoal := strings.Replace(src, "steps:", "goal: {event: O, within: 3d}\nsteps:", 1)
	if _, problems := Parse("p.yaml", []byte(withGoal), Options{}); len(problems) != 0 {
		t.Errorf("promo with goal: problems %v, want none", problems)
	}
}

// fakeTemplates reports every "{{ oops" as an error at its position and
// every "é" as a warning, like the Liquid checker would.
func fakeTemplates(src string) []TemplateProblem {
	var out []TemplateProblem
	for i, line := range strings.Split(src, "\n") {
		r := []rune(line)
		for j := range r {
			if strings.HasPrefix(string(r[j:]), "{{ oops") {
				out = append(out, TemplateProblem{Line: i + 1, Col: j + 1, Severity: SeverityError, Message: "Liquid syntax error: unclosed {{"})
			}
			if r[j] == 'é' {
				out = append(out, TemplateProblem{Line: i + 1, Col: j + 1, Severity: SeverityWarning, Message: "é forces UCS-2"})
			}
		}
	}
	return out
}

func TestTemplatePositions(t *testing.T) {
	tests := []struct {
		name, steps string
		want        []string
	}{
		{"plain", "  - send: Hi {{ oops\n", []string{"t.yaml:6:14: Liquid syntax error: unclosed {{"}},
		{"quoted", "  - send: \"Hi \\\"x\\\" {{ oops\"\n", []string{"t.yaml:6:21: Liquid syntax error: unclosed {{"}},
		{"literal block", "  - send: |\n      Hello\n      Café {{ oops\n", []string{
			"t.yaml:8:10: warning: é forces UCS-2",
			"t.yaml:8:12: Liquid syntax error: unclosed {{",
		}},
		{"map form", "  - send:\n      from: X\n      template: 'a {{ oops'\n", []string{"t.yaml:8:20: Liquid syntax error: unclosed {{"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, problems := Parse("t.yaml", []byte(head+tt.steps), Options{CheckTemplate: fakeTemplates})
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
	// Template warnings alone keep the flow valid.
	f, _ := Parse("t.yaml", []byte(head+"  - send: Café\n"), Options{CheckTemplate: fakeTemplates})
	if f == nil {
		t.Errorf("template warning made the flow invalid")
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "a.yaml", Line: 3, Col: 7, Severity: SeverityError, Message: "bad"}, "a.yaml:3:7: bad"},
		{Problem{File: "a.yaml", Line: 3, Col: 7, Severity: SeverityWarning, Message: "meh"}, "a.yaml:3:7: warning: meh"},
		{Problem{File: "dir", Severity: SeverityError, Message: "cannot read"}, "dir: cannot read"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
	err := ProblemsError([]Problem{tests[1].p})
	if err != nil {
		t.Errorf("ProblemsError(warnings only) = %v, want nil", err)
	}
	err = ProblemsError([]Problem{tests[0].p, tests[1].p})
	if got, want := smsflow.ErrorCode(err), smsflow.EINVALID; got != want {
		t.Errorf("code = %q, want %q", got, want)
	}
	if got, want := smsflow.ErrorMessage(err), "a.yaml:3:7: bad"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct{ word, want string }{
		{"wiat", "wait"},
		{"Send", "send"},
		{"stpes", "steps"},
		{"colour", ""},
		{"x", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.word, stepKeys); got != tt.want && !(tt.word == "stpes" && suggest(tt.word, flowKeys) == tt.want) {
			t.Errorf("suggest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}

func TestSendFromChecked(t *testing.T) {
	known := func(from string) string {
		if from == "+15005550006" || from == "GLOW" {
			return ""
		}
		return "from " + strconv.Quote(from) + " is not one of the configured twilio senders (+15005550006 (default), GLOW)"
	}
	src := head + "  - send:\n      from: \"+15005550006\"\n      template: Hi\n  - send:\n      from: GL0W\n      template: Hi again\n"
	f, problems := Parse("t.yaml", []byte(src), Options{CheckFrom: known})
	var got []string
	for _, p := range problems {
		got = append(got, p.String())
	}
	want := []string{`t.yaml:10:13: send from "GL0W" is not one of the configured twilio senders (+15005550006 (default), GLOW)`}
	if f != nil || !slices.Equal(got, want) {
		t.Errorf("got %v\n%s\nwant\n%s", f != nil, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Without a check (no configuration known), any from: parses.
	f = mustParse(t, src)
	if steps := f.AllSteps(); steps[0].Send.From != "+15005550006" || steps[1].Send.From != "GL0W" {
		t.Errorf("from not parsed: %q, %q", steps[0].Send.From, steps[1].Send.From)
	}
}

// A flow file with the id the web UI reserves still parses (an installation
// that has one keeps loading it), with a warning that says why to rename it.
func TestReservedIDIsAWarning(t *testing.T) {
	src := "id: new\ncategory: service\ntrigger: {event: Order Completed}\nsteps:\n  - send: \"Thanks\"\n"
	f, problems := Parse("new.yaml", []byte(src), Options{})
	if f == nil || f.ID != ReservedID || HasErrors(problems) {
		t.Fatalf("id new: flow %v, problems %v; want it parsed, without errors", f, problems)
	}
	if len(problems) != 1 || problems[0].Severity != SeverityWarning || problems[0].Line != 1 ||
		!strings.Contains(problems[0].Message, "reserved") || !strings.Contains(problems[0].Message, "/flows/new") {
		t.Errorf("problems %v, want one warning at line 1 naming /flows/new", problems)
	}
	if _, problems := Parse("new-arrivals.yaml", []byte(strings.Replace(src, "id: new", "id: new-arrivals", 1)), Options{}); len(problems) != 0 {
		t.Errorf("id new-arrivals: %v, want no problem", problems)
	}
}
