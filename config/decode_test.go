package config

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// loadAt writes yaml to a file named name and loads it.
func loadAt(t *testing.T, name, yaml string, env ...string) (Config, string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, env)
	return c, path, err
}

// goTypeName is how Go type names look in yaml.v3's errors
// ("config.Brand", "[]config.Cap", "map[string]string", "!!str").
var goTypeName = regexp.MustCompile(`\bconfig\.[A-Z]|\[\]|map\[|!!|\bint\b|\bbool\b|\bstring\b|unmarshal`)

// Every malformed configuration is reported at its file, line and column,
// in words: the key, what it must be, the nearest key — never a Go type
// (issue 17).
func TestLoadProblems(t *testing.T) {
	for _, tt := range []struct {
		name, yaml string
		want       []string // the problems, "FILE" standing for the path
	}{
		{"unknown key with suggestion", "brand:\n  nam: Glow\n",
			[]string{"FILE:2:3: unknown key `nam` in brand (did you mean `name`?)"}},
		{"unknown top-level key", "provider: console\nprovder: twilio\n",
			[]string{"FILE:2:1: unknown key `provder` (did you mean `provider`?)"}},
		{"unknown key without suggestion", "brand:\n  colour: red\n",
			[]string{"FILE:2:3: unknown key `colour` in brand; the keys in brand are name, help and footer"}},
		{"unknown key in a list item", "caps:\n  - {name: a, max: 1, per: 24h, categroies: [promo]}\n",
			[]string{"FILE:2:33: unknown key `categroies` in caps[0] (did you mean `categories`?)"}},
		{"unknown key in a sender", "twilio:\n  senders:\n    - from: \"+15005550006\"\n      rat: 2/s\n",
			[]string{"FILE:4:7: unknown key `rat` in twilio.senders[0] (did you mean `rate`?)"}},
		{"deep unknown key", "limits:\n  service_per_number: {max: 3, pr: 12h}\n",
			[]string{"FILE:2:32: unknown key `pr` in limits.service_per_number (did you mean `per`?)"}},
		{"text where a section belongs", "brand: Glow\n",
			[]string{`FILE:1:8: brand must be a section of key: value lines (name, help and footer), not "Glow"`}},
		{"mapping where a list belongs", "caps: {name: a}\n",
			[]string{`FILE:1:7: caps must be a list (lines starting with "- ", or [a, b]), not a mapping`}},
		{"list where a value belongs", "brand:\n  name: [a, b]\n",
			[]string{"FILE:2:9: brand.name must be a single value, not a list"}},
		{"not a bool", "quiet_hours:\n  state_rules: maybe\n",
			[]string{`FILE:2:16: quiet_hours.state_rules must be true or false, not "maybe"`}},
		{"not a whole number", "engine_workers: two\ncaps:\n  - {name: a, max: lots, per: 1d}\n",
			[]string{`FILE:1:17: engine_workers must be a whole number, not "two"`, `FILE:3:20: caps[0].max must be a whole number, not "lots"`}},
		{"list where a mapping belongs", "links:\n  utm: [a]\n",
			[]string{"FILE:2:8: links.utm must be a mapping of key: value lines, not a list"}},
		{"the file is a list", "- provider\n",
			[]string{"FILE:1:1: the configuration must be a section of key: value lines (" + strings.Join(Keys()[:len(Keys())-1], ", ") + " and engine_workers), not a list"}},
		{"duplicate key", "brand:\n  name: A\n  name: B\n",
			[]string{"FILE:3:3: `name` appears twice in brand (first at line 2); keep one"}},
		{"syntax error", "brand:\n  name: Glow\n bad: [\n",
			[]string{"FILE:2:1: YAML syntax error: did not find expected key"}},
		{"second document", "provider: console\n---\nprovider: twilio\n",
			[]string{"FILE:2:1: a configuration file holds one YAML document: remove the second one (after ---)"}},
		{"several problems, in order", "smart_encoding: sure\nbrand: {nam: x}\n",
			[]string{`FILE:1:17: smart_encoding must be true or false, not "sure"`, "FILE:2:9: unknown key `nam` in brand (did you mean `name`?)"}},
		{"alias bomb", "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
			[]string{"FILE:1:1: unknown key `a`; the keys are " + keyListOf(Keys())}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, path, err := loadAt(t, "bad.yaml", tt.yaml)
			ps, ok := err.(Problems)
			if !ok {
				t.Fatalf("Load: %v (%T), want Problems", err, err)
			}
			var got []string
			for _, p := range ps {
				got = append(got, strings.ReplaceAll(p.String(), path, "FILE"))
				if goTypeName.MatchString(p.Message) {
					t.Errorf("%q names a Go type", p.Message)
				}
			}
			// The bomb's other keys are unknown too; the first is enough here.
			if tt.name == "alias bomb" {
				got = got[:1]
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func keyListOf(keys []string) string {
	return strings.Join(keys[:len(keys)-1], ", ") + " and " + keys[len(keys)-1]
}

// What the file accepts is unchanged: YAML 1.1 booleans, numbers as text,
// empty values, anchors and merge keys decode as before.
func TestLoadAcceptsWhatDecodes(t *testing.T) {
	c, _, err := loadAt(t, "smsflow.yaml", `
defaults: &pace {rate: 2/s, daily_cap: 100}
brand:
  name: 123
  help:
smart_encoding: yes
caps:
  - {name: a, max: 1, per: 24h}
twilio:
  senders:
    - {<<: *pace, from: "+15005550006"}
`)
	if err == nil || !strings.Contains(err.Error(), "unknown key `defaults`") {
		t.Fatalf("an unknown top-level key, even one used as an anchor, is reported: %v", err)
	}
	c, _, err = loadAt(t, "smsflow.yaml", `
brand:
  name: 123
  help:
smart_encoding: yes
caps:
  - &cap {name: a, max: 1, per: 24h, categories: [promo]}
  - {<<: *cap, name: b}
links: {utm: {source: sms}}
`)
	if err != nil {
		t.Fatal(err)
	}
	if c.Brand.Name != "123" || !c.SmartEncoding || len(c.Caps) != 2 || c.Caps[1].Name != "b" || c.Caps[1].Per != "24h" || c.Links.UTM["source"] != "sms" {
		t.Errorf("decoded %+v", c)
	}
	if err := c.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
}

// Check's problems carry the position of the key they are about when it
// came from the file, and name the variable when it came from the
// environment; a missing key is reported at its section.
func TestCheckProblemsArePlaced(t *testing.T) {
	yaml := "provider: twilo\nquiet_hours:\n  allowed: 8-21\ncaps:\n  - {name: a, max: 1, per: 1x}\ntwilio:\n  senders:\n    - {from: \"+15005550006\", messaging_service_sid: MG0123456789abcdef0123456789abcdef}\nlog_level: loud\n"
	c, path, err := loadAt(t, "prod.yaml", yaml)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Check()
	ps, ok := err.(Problems)
	if !ok {
		t.Fatalf("Check: %v (%T)", err, err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, strings.ReplaceAll(p.String(), path, "FILE"))
	}
	want := []string{
		"FILE:1:1: provider `twilo` is not one of console, twilio, smpp or http (did you mean `twilio`?)",
		`FILE:3:3: quiet_hours.allowed: window "8-21": its start "8" is not a time of day; write HH:MM from 00:00 to 23:59, like 10:00`,
		`FILE:5:23: caps[0].per: invalid duration "1x": unknown unit; use a whole number and a unit s, m, h, d or w, like 90s, 30m, 24h, 7d or 2w`,
		"FILE:8:7: twilio.senders[0] has both from and messaging_service_sid: Twilio refuses a message with both; make them two senders",
		"FILE:9:1: log_level `loud` is not one of debug, info, warn, error",
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// From the environment: the variable is named, not the file.
	c, _, err = loadAt(t, "prod.yaml", "quiet_hours: {allowed: '08:00-21:00'}\n", "SMSFLOW_QUIET_HOURS_ALLOWED=8-21")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(); err == nil || !strings.HasPrefix(err.Error(), "environment SMSFLOW_QUIET_HOURS_ALLOWED: quiet_hours.allowed: window \"8-21\"") {
		t.Errorf("Check with the window from the environment: %v", err)
	}
	if _, _, err := loadAt(t, "prod.yaml", "", "SMSFLOW_ENGINE_WORKERS=two"); err == nil || err.Error() != `environment SMSFLOW_ENGINE_WORKERS: engine_workers is "two": write a whole number` {
		t.Errorf("a bad number from the environment: %v", err)
	}

	// A key the file does not have is reported at its section, or at the
	// file.
	c, path, err = loadAt(t, "prod.yaml", "brand:\n  name: Glow\ntwilio:\n  senders:\n    - {rate: 1/s}\n")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(); err == nil || strings.ReplaceAll(err.Error(), path, "FILE") != "FILE:5:7: twilio.senders[0] has neither from nor messaging_service_sid: give the number (from: \"+15005550006\") or the Messaging Service (messaging_service_sid: MG…) it sends as" {
		t.Errorf("a missing key: %v", err)
	}
	if p := c.problem("public_url", "public_url is empty"); p.String() != path+": public_url is empty" {
		t.Errorf("a key in no section: %q", p.String())
	}
	if p := Default().problem("brand.footer", "x"); p.String() != "configuration: brand.footer: x" {
		t.Errorf("without a file: %q", p.String())
	}
}

// A configuration file is recognized by its content: more configuration
// keys than flow keys at its top level.
func TestLooksLikeConfig(t *testing.T) {
	for _, tt := range []struct {
		src  string
		want bool
	}{
		{"provider: twilio\ntwilio: {from: x}\n", true},
		{"brand: {name: Glow}\nprovder: twilio\n", true},    // a typo does not count against
		{"name: Glow\nprovider: twilio\nbrand: {}\n", true}, // nor one flow-like key among more
		{"id: welcome\ncategory: lifecycle\ntrigger: {consent: subscribed}\nsteps:\n  - send: hi\n", false},
		{"id: welcome\nbrand: x\nsteps: []\n", false},
		{"provder: twilio\n", false}, // nothing to go by: a flow, whose checker reports the keys
		{"- a\n", false},
		{"", false},
		{"{{{", false},
	} {
		if got := LooksLikeConfig([]byte(tt.src)); got != tt.want {
			t.Errorf("LooksLikeConfig(%q) = %v", tt.src, got)
		}
	}
}
