package template

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/smsflow/smsflow"
)

// recordingTracker is a LinkTracker that shortens to a numbered code and
// remembers what it was asked.
type recordingTracker struct {
	mu   sync.Mutex
	urls []string
	err  error
}

func (r *recordingTracker) Track(url string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return "", r.err
	}
	r.urls = append(r.urls, url)
	return fmt.Sprintf("https://sms.glow.example/l/c%d", len(r.urls)), nil
}

func mustCompile(t *testing.T, src string) *Template {
	t.Helper()
	tpl, err := Compile(src)
	if err != nil {
		t.Fatalf("Compile(%q): %v", src, err)
	}
	return tpl
}

func TestRenderEveryScopeKey(t *testing.T) {
	tests := []struct {
		src, want string
	}{
		{"{{ contact.id }}", "user-1842"},
		{"{{ contact.phone }}", "+14155550142"},
		{"{{ contact.timezone }}", "America/Los_Angeles"},
		{"Hi {{ contact.traits.first_name }} {{ contact.traits.last_name }}", "Hi Ana Silva"},
		{"{{ contact.traits.visit_count }} visits", "3 visits"},
		{"{{ event.name }}", "Checkout Started"},
		{"Order #{{ event.properties.order_id }}: ${{ event.properties.revenue }}", "Order #1001: $49.5"},
		{`{{ event.properties["checkout_url"] }}`, "https://glow.example/checkouts/c1a2b3"},
		{"{{ event.properties.products[1].name }}", "Daily Moisturizer"},
		{"{{ event.timestamp | date: '%H:%M' }}", "09:30"},
		{"You said {{ reply.text }}", "You said YES"},
		{"{{ waited.event.name }} / {{ waited.event.properties.url }}", "Link Clicked / https://glow.example/checkouts/c1a2b3"},
		{"{{ brand.name }}", "Glow"},
		{"{{ flow.id }} is {{ flow.name }}", "cart-recovery is Cart recovery"},
		{`{{ now | date: "%b %d" }}`, "Mar 14"},
		{`{{ now | date: "%Y-%m-%d %H:%M %Z" }}`, "2025-03-14 10:30 PDT"},
		{`{{ "now" | date: "%H:%M" }}`, "10:30"},
		{`{{ 1700000000 | date: "%Y-%m-%d" }}`, "2023-11-14"},
		{`{{ event.properties.shipped_at | date: "%b %d" | default: "soon" }}`, "soon"},
		{`{{ "2025-01-02T03:04:05Z" | date: "%b %d %H:%M" }}`, "Jan 01 19:04"},
		{"{{ contact.traits.first_name | upcase }}", "ANA"},
		{"{{ 'glow serum' | capitalize }}", "Glow serum"},
		{"{{ event.properties.product_name | truncate: 10 }}", "Vitamin..."},
		{"{{ event.properties.products | map: 'name' | join: ', ' }}", "Vitamin C Serum, Daily Moisturizer"},
		{"{% if contact.traits.vip %}VIP {% endif %}{{ brand.name }}", "VIP Glow"},
		{"{% for p in event.properties.products %}{{ p.name }}{% unless forloop.last %}, {% endunless %}{% endfor %}", "Vitamin C Serum, Daily Moisturizer"},
		{"{% assign n = contact.traits.first_name | downcase %}{{ n }}!", "ana!"},
		{"  \n Hi {{ contact.traits.first_name }} \n ", "Hi Ana"},
		{"{%- for p in event.properties.products -%}\n  [{{ p.name }}]\n{%- endfor -%}", "[Vitamin C Serum][Daily Moisturizer]"},
		{`{% for p in event.properties.products | sort: "price" limit: 1 %}{{ p.name }}{% endfor %}`, "Daily Moisturizer"},
		{`{% for p in event.properties.products | reverse reversed %}{{ p.name | slice: 0, 3 }}{% endfor %}`, "VitDai"},
		{`{% if event.properties.products | size %}has items{% endif %}`, "has items"},
		{`{% assign t = contact.traits.first_name | replace: "A", "E" | append: "!" %}{{ t }}`, "Ena!"},
		{`{% case reply.text | downcase %}{% when "yes", "y" %}Great{% else %}Hm{% endcase %}`, "Great"},
		{`{{ contact.traits.first_name | default: brand.name | prepend: "Hi " }}`, "Hi Ana"},
		{"{% comment %}{{ ignored }}{% endcomment %}{% raw %}a {b}{% endraw %}", "a {b}"},
	}
	for _, tt := range tests {
		got, err := mustCompile(t, tt.src).Render(SampleScope(), nil)
		if err != nil {
			t.Errorf("Render(%q): %v", tt.src, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Render(%q) = %q, want %q", tt.src, got, tt.want)
		}
	}
}

func TestNowUsesContactZoneElseNowLocation(t *testing.T) {
	tpl := mustCompile(t, `{{ now | date: "%H:%M" }}`)
	tests := []struct {
		name string
		tz   any
		want string
	}{
		{"contact zone", "Europe/Lisbon", "17:30"},
		{"another zone", "Asia/Tokyo", "02:30"},
		{"unknown zone", "Mars/Olympus", "17:30"},
		{"no zone", nil, "17:30"},
		{"Local is not a contact zone", "Local", "17:30"},
	}
	for _, tt := range tests {
		scope := SampleScope()
		scope.Contact["timezone"] = tt.tz
		got, err := tpl.Render(scope, nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestMissingVariablesRenderTheirFallback(t *testing.T) {
	const src = `Hi {{ contact.traits.first_name | default: "there" }}, {{ contact.traits.prefs.color | default: "any color" }} {{ event.properties.coupon.code | default: "no code" | upcase }}`
	tpl := mustCompile(t, src)
	tests := []struct {
		name   string
		modify func(*Scope)
		want   string
	}{
		{"all there", func(s *Scope) {
			s.Contact["traits"].(map[string]any)["prefs"] = map[string]any{"color": "red"}
			s.Event["properties"].(map[string]any)["coupon"] = map[string]any{"code": "glow5"}
		}, "Hi Ana, red GLOW5"},
		{"missing trait", func(s *Scope) { delete(s.Contact["traits"].(map[string]any), "first_name") }, "Hi there, any color NO CODE"},
		{"empty trait", func(s *Scope) { s.Contact["traits"].(map[string]any)["first_name"] = "" }, "Hi there, any color NO CODE"},
		{"nil trait", func(s *Scope) { s.Contact["traits"].(map[string]any)["first_name"] = nil }, "Hi there, any color NO CODE"},
		{"nil traits map", func(s *Scope) { s.Contact["traits"] = nil }, "Hi there, any color NO CODE"},
		{"typed nil traits", func(s *Scope) { s.Contact["traits"] = map[string]any(nil) }, "Hi there, any color NO CODE"},
		{"no traits key", func(s *Scope) { delete(s.Contact, "traits") }, "Hi there, any color NO CODE"},
		{"nil contact", func(s *Scope) { s.Contact = nil }, "Hi there, any color NO CODE"},
		{"nested key on a string", func(s *Scope) { s.Contact["traits"].(map[string]any)["prefs"] = "blue" }, "Hi Ana, any color NO CODE"},
		{"nil event", func(s *Scope) { s.Event = nil }, "Hi Ana, any color NO CODE"},
	}
	for _, tt := range tests {
		scope := SampleScope()
		tt.modify(&scope)
		got, err := tpl.Render(scope, nil)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestTrackUsesTheLinkTracker(t *testing.T) {
	tpl := mustCompile(t, "{{ brand.name }}: finish your order {{ event.properties.checkout_url | track }} or browse {{ event.properties.product_url | track }}")
	links := &recordingTracker{}
	got, err := tpl.Render(SampleScope(), links)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Glow: finish your order https://sms.glow.example/l/c1 or browse https://sms.glow.example/l/c2"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	wantURLs := []string{"https://glow.example/checkouts/c1a2b3", "https://glow.example/products/vitamin-c-serum"}
	if got, want := strings.Join(links.urls, " "), strings.Join(wantURLs, " "); got != want {
		t.Errorf("tracked %q, want %q", got, want)
	}

	got, err = tpl.Render(SampleScope(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Glow: finish your order https://glow.example/checkouts/c1a2b3 or browse https://glow.example/products/vitamin-c-serum"; got != want {
		t.Errorf("without tracker: got %q, want %q", got, want)
	}
}

func TestTrackInTagsAndAfterDefault(t *testing.T) {
	tpl := mustCompile(t, `{% assign u = event.properties.missing_url | default: "https://glow.example/shop" | track %}Shop: {{ u }}`)
	links := &recordingTracker{}
	got, err := tpl.Render(SampleScope(), links)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := got, "Shop: https://sms.glow.example/l/c1"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := len(links.urls), 1; got != want {
		t.Fatalf("tracked %d links, want %d", got, want)
	}
	if got, want := links.urls[0], "https://glow.example/shop"; got != want {
		t.Errorf("tracked %q, want %q", got, want)
	}
}

func TestTrackerFailureIsNotATemplateError(t *testing.T) {
	boom := errors.New("database is locked")
	tpl := mustCompile(t, "Cart: {{ event.properties.checkout_url | track }}")
	_, err := tpl.Render(SampleScope(), &recordingTracker{err: boom})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap %v", err, boom)
	}
	var re *RenderError
	if errors.As(err, &re) {
		t.Errorf("a tracker failure must not be a RenderError (it would skip the send): %v", err)
	}
}

func TestTrackRefusesWhatIsNotAURL(t *testing.T) {
	tests := []struct{ name, value string }{
		{"not a URL", "see you soon"},
		{"other scheme", "javascript:alert(1)"},
		{"no host", "https://"},
	}
	tpl := mustCompile(t, "Go: {{ event.properties.link | track }}")
	for _, tt := range tests {
		scope := SampleScope()
		scope.Event["properties"].(map[string]any)["link"] = tt.value
		links := &recordingTracker{}
		_, err := tpl.Render(scope, links)
		var re *RenderError
		if !errors.As(err, &re) || !strings.Contains(re.Reason, "not an http(s) URL") {
			t.Errorf("%s: err = %v, want a RenderError about the URL", tt.name, err)
		}
		if got := len(links.urls); got != 0 {
			t.Errorf("%s: tracked %d links, want none", tt.name, got)
		}
	}
}

func TestCompileErrorsCarryTheirPosition(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		line, col int
		message   string // a substring of the message
	}{
		{"unclosed if on line 2", "Hi {{ contact.traits.first_name | default: 'there' }}\n  {% if contact.traits.vip %}VIP!\nBye", 2, 3, "unclosed {% if %}: add {% endif %}"},
		{"unknown tag", "Hello\nthere {% shout 'hi' %}", 2, 7, `unknown tag "shout"`},
		{"bad filter syntax", "Line one\n{{ contact.id | }}", 2, 1, "syntax error"},
		{"filter syntax with colon and no argument", "{{ contact.id | truncate: }}", 1, 1, "syntax error"},
		{"unknown filter", "Hi {{ contact.id | shout }}", 1, 20, `unknown filter "shout"`},
		{"unknown filter in a tag", "{% if contact.id | shout %}x{% endif %}", 1, 20, `unknown filter "shout"`},
		{"track with an argument", "{{ event.properties.checkout_url | track: 'utm' }}", 1, 36, `filter "track" takes no arguments`},
		{"too many arguments", "{{ contact.id | upcase: 1, 2, 3 }}", 1, 17, `filter "upcase" takes at most 1 argument(s), not 3`},
		{"unclosed output", "Hi {{ contact.traits.first_name", 1, 4, "unclosed {{"},
		{"output split over lines", "Hi {{ contact.traits\n.first_name }}", 1, 4, "unclosed {{"},
		{"unclosed tag", "ok\n{% if x", 2, 1, "malformed tag"},
		{"endif without if", "a\n b {% endif %}", 2, 4, "{% endif %} without a matching {% if %}"},
		{"include", "{% include 'x.liquid' %}", 1, 1, "include tag is not supported"},
		{"tablerow", "{% tablerow p in event.properties.products %}{{ p }}{% endtablerow %}", 1, 1, "tablerow tag"},
		{"range", "{% for i in (1..100000000) %}x{% endfor %}", 1, 15, "ranges (a..b) are not supported"},
		{"integer too large", "Total: {{ 10000000000000000000 | plus: 1 }}", 1, 11, "number 10000000000000000000 is too large"},
		{"float too large", "{% if x > 1" + strings.Repeat("0", 400) + ".5 %}y{% endif %}", 1, 11, "is too large"},
		{"reserved name", "{{ __smsflow__ }}", 1, 4, "reserved"},
		{"assign to scope", "{% assign contact = 1 %}x", 1, 11, `cannot assign to "contact"`},
		{"capture forloop", "{% capture forloop %}x{% endcapture %}", 1, 12, `"forloop"`},
		{"column counts code points", "Olá ☀️ {{ x | nope }}", 1, 15, `unknown filter "nope"`},
		{"earliest error wins", "{{ a | nope }}\n{% if %}", 1, 8, `unknown filter "nope"`},
		{"library error before ours", "{% if %}{% endif %}\n{{ a | nope }}", 1, 1, "syntax error"},
	}
	for _, tt := range tests {
		_, err := Compile(tt.src)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%s: Compile error = %v, want a *SyntaxError", tt.name, err)
			continue
		}
		if se.Line != tt.line || se.Col != tt.col {
			t.Errorf("%s: position %d:%d, want %d:%d (%s)", tt.name, se.Line, se.Col, tt.line, tt.col, se.Message)
		}
		if !strings.Contains(se.Message, tt.message) {
			t.Errorf("%s: message %q, want it to contain %q", tt.name, se.Message, tt.message)
		}
		if got, want := smsflow.ErrorCode(err), smsflow.EINVALID; got != want {
			t.Errorf("%s: ErrorCode = %q, want %q", tt.name, got, want)
		}
	}
}

func TestCompileRefusesWholeTemplateProblems(t *testing.T) {
	tests := []struct {
		name, src, message string
	}{
		{"too large", strings.Repeat("a", MaxSourceBytes+1), "the limit is 10240"},
		{"invalid UTF-8", "Hi \xff there", "not valid UTF-8"},
	}
	for _, tt := range tests {
		_, err := Compile(tt.src)
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(se.Message, tt.message) {
			t.Errorf("%s: err = %v, want a SyntaxError containing %q", tt.name, err, tt.message)
		}
	}
	if _, err := Compile(strings.Repeat("a", MaxSourceBytes)); err != nil {
		t.Errorf("a template of exactly MaxSourceBytes: %v", err)
	}
}

func TestRenderRefusesBrokenMessages(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		modify func(*Scope)
		reason string // prefix of RenderError.Reason
	}{
		{"empty", "", nil, "empty"},
		{"whitespace only", " \n\t ", nil, "empty"},
		{"false condition leaves nothing", "{% if contact.traits.never %}Hi{% endif %}", nil, "empty"},
		{"empty fallback", `{{ contact.traits.nick | default: "" }}`, nil, "empty"},
		{"missing trait without fallback", "Hi {{ contact.traits.nickname }}, welcome", nil, "missing variable contact.traits.nickname"},
		{"empty trait without fallback", "Hi {{ contact.traits.first_name }}", func(s *Scope) { s.Contact["traits"].(map[string]any)["first_name"] = "" }, "missing variable contact.traits.first_name"},
		{"missing nested map", "Code {{ event.properties.coupon.code | upcase }}", nil, "missing variable event.properties.coupon.code"},
		{"first missing is named", "{{ contact.traits.a }} {{ contact.traits.b }}", nil, "missing variable contact.traits.a"},
		{"missing link", "Cart: {{ event.properties.cart | track }}", nil, "missing variable event.properties.cart"},
		{"markup from data", "Hi {{ contact.traits.first_name }}", func(s *Scope) { s.Contact["traits"].(map[string]any)["first_name"] = "{{ hack }}" }, "unrendered markup"},
		{"markup from raw", "{% raw %}Hi {{ name }}{% endraw %}", nil, "unrendered markup"},
		{"liquid error", "{{ event.properties.revenue | divided_by: 0 }}", nil, "liquid error: line 1:"},
		{"bad date", "{{ contact.traits.first_name | date: '%b' }}", nil, "liquid error"},
		{"break outside loop", "x{% break %}", nil, "liquid error"},
		{"unexported field", "{{ now.wall }}", nil, "liquid error"},
	}
	for _, tt := range tests {
		scope := SampleScope()
		if tt.modify != nil {
			tt.modify(&scope)
		}
		out, err := mustCompile(t, tt.src).Render(scope, nil)
		var re *RenderError
		if !errors.As(err, &re) {
			t.Errorf("%s: Render = %q, %v; want a *RenderError", tt.name, out, err)
			continue
		}
		if !strings.HasPrefix(re.Reason, tt.reason) {
			t.Errorf("%s: reason %q, want prefix %q", tt.name, re.Reason, tt.reason)
		}
		if out != "" {
			t.Errorf("%s: output %q alongside an error", tt.name, out)
		}
	}
}

func TestMissingVariableInsideFalseBranchIsFine(t *testing.T) {
	tpl := mustCompile(t, "{% if contact.traits.nickname %}Hey {{ contact.traits.nickname }}{% else %}Hi {{ contact.traits.first_name }}{% endif %}")
	got, err := tpl.Render(SampleScope(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Hi Ana"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// items returns n strings of the given length.
func items(n, size int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = strings.Repeat("x", size)
	}
	return out
}

func TestRenderLimits(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		list   []any
		reason string
	}{
		{"nested loops", "{% for a in event.properties.list %}{% for b in event.properties.list %}.{% endfor %}{% endfor %}", items(100, 1), "too many loop iterations"},
		{"capture doubling", "{% assign s = 'ab' %}{% for x in event.properties.list %}{% capture s %}{{ s }}{{ s }}{% endcapture %}{% endfor %}{{ s | size }}", items(40, 1), "too large"},
		{"assign doubling", "{% assign s = 'abcdefgh' %}{% for x in event.properties.list %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}", items(40, 1), "too large"},
		{"replace amplification", `{% assign s = event.properties.list | join: "" %}{{ s | replace: "", s }}`, items(1, 2000), "too large"},
		{"split list too long", `{{ event.properties.list | join: "" | split: "" | size }}`, items(1, 5000), "too large"},
		{"huge output", "{% for x in event.properties.list %}{{ x }}{% endfor %}", items(900, 100), "too large"},
		{"list input too long", "{{ event.properties.list | size }}", items(MaxItems+1, 1), "too large"},
	}
	for _, tt := range tests {
		scope := SampleScope()
		scope.Event["properties"].(map[string]any)["list"] = tt.list
		_, err := mustCompile(t, tt.src).Render(scope, nil)
		var re *RenderError
		if !errors.As(err, &re) || !strings.HasPrefix(re.Reason, tt.reason) {
			t.Errorf("%s: err = %v, want a RenderError with reason %q", tt.name, err, tt.reason)
		}
	}
}

func TestVariables(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []Variable
	}{
		{"with and without default", `Hi {{ contact.traits.first_name | default: "there" }}, {{ brand.name }}`, []Variable{
			{Path: "contact.traits.first_name", HasFallback: true, Line: 1, Col: 7},
			{Path: "brand.name", Line: 1, Col: 59},
		}},
		{"default later in the chain", `{{ contact.traits.city | upcase | default: "YOUR CITY" }}`, []Variable{
			{Path: "contact.traits.city", HasFallback: true, Line: 1, Col: 4},
		}},
		{"track", "Cart: {{ event.properties.checkout_url | track }}", []Variable{
			{Path: "event.properties.checkout_url", Line: 1, Col: 10},
		}},
		{"inside if, on later lines", "{% if contact.traits.vip %}\nHey {{ contact.traits.first_name }}\n{% else %}\n  {{- reply.text | default: 'hi' -}}\n{% endif %}", []Variable{
			{Path: "contact.traits.first_name", Line: 2, Col: 8},
			{Path: "reply.text", HasFallback: true, Line: 4, Col: 7},
		}},
		{"bracket paths", `{{ event.properties["order id"] }} {{ event.properties['coupon'] }} {{ event.properties.products[0].name }}`, []Variable{
			{Path: `event.properties["order id"]`, Line: 1, Col: 4},
			{Path: "event.properties.coupon", Line: 1, Col: 39},
			{Path: "event.properties.products[0].name", Line: 1, Col: 72},
		}},
		{"locals and literals are not scope variables", `{% assign n = contact.id %}{% capture c %}x{% endcapture %}{% for p in event.properties.products %}{{ p.name }}{{ forloop.index }}{% endfor %}{{ n }}{{ c }}{{ "lit" | upcase }}{{ 3 }}`, nil},
		{"comments and raw are skipped", `{% comment %}{{ contact.a }}{% endcomment %}{% raw %}{{ contact.b }}{% endraw %}{{ contact.c }}`, []Variable{
			{Path: "contact.c", Line: 1, Col: 84},
		}},
		{"comparisons are not outputs", `{{ contact.traits.vip == true }}`, nil},
		{"characters, not bytes", "¡Olá, {{ contact.id }}", []Variable{{Path: "contact.id", Line: 1, Col: 10}}},
	}
	for _, tt := range tests {
		got := mustCompile(t, tt.src).Variables()
		if len(got) != len(tt.want) {
			t.Errorf("%s: Variables() = %+v, want %+v", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: variable %d = %+v, want %+v", tt.name, i, got[i], tt.want[i])
			}
		}
	}
}

func TestSourceIsKeptAsWritten(t *testing.T) {
	const src = "Hi {{ contact.traits.first_name | upcase }} {% for p in event.properties.products %}{{ p.name }}{% endfor %}"
	if got := mustCompile(t, src).Source(); got != src {
		t.Errorf("Source() = %q, want %q", got, src)
	}
}

func TestVariablesReturnsACopy(t *testing.T) {
	tpl := mustCompile(t, "{{ contact.id }}")
	tpl.Variables()[0].Path = "changed"
	if got, want := tpl.Variables()[0].Path, "contact.id"; got != want {
		t.Errorf("Variables()[0].Path = %q after changing a copy, want %q", got, want)
	}
}

func TestSampleScopeIsFreshAndDeterministic(t *testing.T) {
	a, b := SampleScope(), SampleScope()
	a.Contact["traits"].(map[string]any)["first_name"] = "Changed"
	if got, want := b.Contact["traits"].(map[string]any)["first_name"], "Ana"; got != want {
		t.Errorf("second SampleScope first_name = %v, want %v", got, want)
	}
	if !a.Now.Equal(b.Now) {
		t.Errorf("SampleScope Now differs between calls: %v, %v", a.Now, b.Now)
	}
	if got, want := b.Brand["name"], "Glow"; got != want {
		t.Errorf("brand name = %v, want %v", got, want)
	}
}

func TestConcurrentRenders(t *testing.T) {
	tpl := mustCompile(t, `{{ contact.traits.first_name | default: "there" | upcase }} {{ event.properties.checkout_url | track }} {% for p in event.properties.products %}{{ p.name | truncate: 8 }}{% endfor %} {{ now | date: "%d" }}`)
	links := &recordingTracker{}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			scope := SampleScope()
			name := fmt.Sprintf("n%d", i)
			scope.Contact["traits"].(map[string]any)["first_name"] = name
			for range 20 {
				out, err := tpl.Render(scope, links)
				if err != nil {
					errs <- err
					return
				}
				if !strings.HasPrefix(out, strings.ToUpper(name)+" ") {
					errs <- fmt.Errorf("render for %s got %q", name, out)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got, want := len(links.urls), 16*20; got != want {
		t.Errorf("tracked %d links, want %d", got, want)
	}
}

func TestErrorMessages(t *testing.T) {
	se := &SyntaxError{Line: 2, Col: 5, Message: "unknown tag \"x\""}
	if got, want := se.Error(), `template line 2, column 5: unknown tag "x"`; got != want {
		t.Errorf("SyntaxError.Error() = %q, want %q", got, want)
	}
	if got, want := (&SyntaxError{Message: "too big"}).Error(), "template: too big"; got != want {
		t.Errorf("SyntaxError.Error() without position = %q, want %q", got, want)
	}
	re := &RenderError{Reason: "empty"}
	if got, want := re.Error(), "render template: empty"; got != want {
		t.Errorf("RenderError.Error() = %q, want %q", got, want)
	}
	if got, want := smsflow.ErrorCode(re), smsflow.EINVALID; got != want {
		t.Errorf("ErrorCode(RenderError) = %q, want %q", got, want)
	}
}

// TestHugeAndNestedTemplates runs the pathological shapes that are too slow
// to be fuzz seeds (the fuzzer spends its time minimizing them): deep
// nesting, long filter chains, many outputs, at the size limit.
func TestHugeAndNestedTemplates(t *testing.T) {
	tests := []struct {
		name string
		src  string
		ok   bool // compiles
	}{
		{"deeply nested ifs", strings.Repeat("{% if true %}", 400) + "x" + strings.Repeat("{% endif %}", 400), true},
		{"unclosed nested ifs", strings.Repeat("{% if true %}", 700), false},
		{"deep parentheses", "{{ " + strings.Repeat("(", 2000) + "contact.id" + strings.Repeat(")", 2000) + " }}", true},
		{"long filter chain", "{{ contact.id" + strings.Repeat(" | upcase", 900) + " }}", true},
		{"many outputs", strings.Repeat("{{ contact.id }}", 640), true},
		{"many loops", strings.Repeat("{% for p in event.properties.products %}{{ p.name }}{% endfor %}", 150), true},
		{"many unclosed outputs", strings.Repeat("{{", 5000), false},
		{"many unclosed tags", strings.Repeat("{% a", 2500), false},
	}
	for _, tt := range tests {
		if len(tt.src) > MaxSourceBytes {
			t.Fatalf("%s: test template is %d bytes, over the limit", tt.name, len(tt.src))
		}
		tpl, err := Compile(tt.src)
		if got := err == nil; got != tt.ok {
			t.Errorf("%s: Compile error = %v, want ok=%v", tt.name, err, tt.ok)
			continue
		}
		if err != nil {
			continue
		}
		if _, err := tpl.Render(SampleScope(), nil); err != nil {
			var re *RenderError
			if !errors.As(err, &re) {
				t.Errorf("%s: Render error %T %v, want nil or *RenderError", tt.name, err, err)
			}
		}
	}
}

func TestLiquidErrorsQuoteTheUsersText(t *testing.T) {
	tests := []struct{ src, reason string }{
		{`{{ event.properties.revenue | divided_by: 0 }}`, `liquid error: line 1: error applying filter "divided_by" ("divided_by: division by zero") in {{ event.properties.revenue | divided_by: 0 }}`},
		{"a\n{% cycle 'x', 'y' %}", `liquid error: line 2: cycle must be within a forloop in {% cycle 'x', 'y' %}`},
		{`{{ now | date: 5 }}`, `liquid error: line 1: error applying filter "date" ("date: the format must be a string, not a int") in {{ now | date: 5 }}`},
	}
	for _, tt := range tests {
		_, err := mustCompile(t, tt.src).Render(SampleScope(), nil)
		var re *RenderError
		if !errors.As(err, &re) {
			t.Errorf("Render(%q) = %v, want a RenderError", tt.src, err)
			continue
		}
		if re.Reason != tt.reason {
			t.Errorf("Render(%q) reason\n got %q\nwant %q", tt.src, re.Reason, tt.reason)
		}
	}
}

// Values from events and traits reach the body cleaned: no NUL or other
// control character goes to a provider or the outbox, line breaks stay, and
// a body that was only control characters is empty, so not sent.
func TestRenderCleansControlCharacters(t *testing.T) {
	tpl := mustCompile(t, "Hi {{ contact.traits.first_name }}!\r\nSee you.")
	scope := SampleScope()
	scope.Contact["traits"].(map[string]any)["first_name"] = "A\x00na\x1b[31m\u0085"
	got, err := tpl.Render(scope, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Hi Ana[31m!\nSee you."; got != want {
		t.Errorf("Render = %q, want %q", got, want)
	}
	scope.Contact["traits"].(map[string]any)["first_name"] = "\x00\x01"
	_, err = mustCompile(t, "{{ contact.traits.first_name }}").Render(scope, nil)
	if re, ok := err.(*RenderError); !ok || re.Reason != "empty" {
		t.Errorf("a body of control characters: %v, want RenderError empty", err)
	}
}
