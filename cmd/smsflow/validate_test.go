package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// validateIn runs `smsflow validate args…` in dir and returns the exit code
// and everything it printed.
func validateIn(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	t.Chdir(dir)
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"validate"}, args...), &out, &errb)
	return code, out.String() + errb.String()
}

// put writes files into dir.
func put(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// clearProviderEnv keeps the test's own configuration from being changed
// by SMSFLOW_* variables of the machine running it.
func clearProviderEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "SMSFLOW_") && k != storetest.PostgresEnv {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

const welcomeFlow = "id: welcome\ncategory: lifecycle\ntrigger: {consent: subscribed}\nsteps:\n  - send: \"Welcome to {{ brand.name }}! Reply STOP to opt out.\"\n"

// validate checks a configuration exactly as serve does (issue 17): found
// by its content under any name, or by --config; the provider's own
// settings included; the environment applied; every problem at its
// file:line:col with the nearest key.
func TestValidateChecksConfigurationAsServe(t *testing.T) {
	clearProviderEnv(t)
	dir := t.TempDir()
	put(t, dir, map[string]string{
		"typo.yaml":          "provider: twilo\n",
		"nocreds.yaml":       "provider: twilio\ntwilio:\n  from: \"+15005550006\"\npublic_url: https://sms.example\n",
		"brand.yml":          "brand:\n  nam: Glow\nprovider: console\n",
		"prod.conf":          "provider: console\nquiet_hours: {allowed: 8-21}\n",
		"good.yaml":          "provider: console\nbrand: {name: Glow}\n",
		"flows/welcome.yaml": welcomeFlow,
	})
	for _, tt := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"typo.yaml"}, 1, []string{"typo.yaml:1:1: provider `twilo` is not one of console, twilio, smpp or http (did you mean `twilio`?)"}},
		{[]string{"nocreds.yaml"}, 1, []string{
			"nocreds.yaml:2:1: twilio.account_sid is empty: copy the Account SID (AC…) from console.twilio.com",
			"nocreds.yaml:2:1: twilio.auth_token is empty: set it (or SMSFLOW_TWILIO_AUTH_TOKEN)",
		}},
		{[]string{"brand.yml", "flows"}, 1, []string{"brand.yml:2:3: unknown key `nam` in brand (did you mean `name`?)"}},
		{[]string{"--config", "prod.conf", "flows"}, 1, []string{`prod.conf:2:15: quiet_hours.allowed: window "8-21"`}},
		{[]string{"--config", "good.yaml", "flows"}, 0, []string{"good.yaml: configuration valid", "1 flow(s) valid"}},
		{[]string{"good.yaml", "flows/welcome.yaml"}, 0, []string{"good.yaml: configuration valid", "1 flow(s) valid"}},
	} {
		code, out := validateIn(t, dir, tt.args...)
		if code != tt.code {
			t.Errorf("validate %v: exit %d, want %d\n%s", tt.args, code, tt.code, out)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("validate %v: output lacks %q:\n%s", tt.args, w, out)
			}
		}
		if strings.Contains(out, "config.") || strings.Contains(out, "unmarshal") {
			t.Errorf("validate %v names a Go type:\n%s", tt.args, out)
		}
	}
	// The environment is part of the configuration, as for serve.
	t.Setenv("SMSFLOW_TWILIO_ACCOUNT_SID", fakeSID)
	t.Setenv("SMSFLOW_TWILIO_AUTH_TOKEN", fakeToken)
	if code, out := validateIn(t, dir, "nocreds.yaml"); code != 0 {
		t.Errorf("credentials from the environment: exit %d\n%s", code, out)
	}
	t.Setenv("SMSFLOW_QUIET_HOURS_ALLOWED", "9-5")
	if code, out := validateIn(t, dir, "nocreds.yaml"); code != 1 || !strings.Contains(out, `environment SMSFLOW_QUIET_HOURS_ALLOWED: quiet_hours.allowed: window "9-5"`) {
		t.Errorf("a bad value from the environment: exit %d\n%s", code, out)
	}
}

// A configuration file inside a directory of flows is named for what it is:
// serve would read it as a flow.
func TestValidateConfigurationInAFlowsDirectory(t *testing.T) {
	clearProviderEnv(t)
	dir := t.TempDir()
	put(t, dir, map[string]string{"flows/welcome.yaml": welcomeFlow, "flows/prod.yaml": "provider: console\nbrand: {name: Glow}\n", "flows/smsflow.yaml": "provider: console\n"})
	code, out := validateIn(t, dir, "flows")
	if want := filepath.Join("flows", "prod.yaml") + ": this is a configuration file, but serve reads every .yaml file of a flows directory as a flow"; code != 1 || !strings.Contains(out, want) || strings.Contains(out, "unknown key") {
		t.Errorf("exit %d, want 1 and %q:\n%s", code, want, out)
	}
}

// serve refuses a bad configuration before it touches the database, naming
// the file it was given (issue 17): no database file, no schema.
func TestServeRefusesABadConfigurationBeforeTheDatabase(t *testing.T) {
	clearProviderEnv(t)
	for _, tt := range []struct {
		name, yaml, want string
	}{
		{"shape", "brand:\n  nam: Glow\n", "bad.yaml:2:3: unknown key `nam` in brand (did you mean `name`?)"},
		{"value", "quiet_hours:\n  allowed: 8-21\n", `bad.yaml:2:3: quiet_hours.allowed: window "8-21"`},
		{"provider name", "provider: twilo\n", "bad.yaml:1:1: provider `twilo` is not one of console, twilio, smpp or http (did you mean `twilio`?)"},
		{"provider settings", "provider: twilio\ntwilio: {from: \"+15005550006\"}\n", "bad.yaml:2:1: twilio.account_sid is empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			put(t, dir, map[string]string{"bad.yaml": tt.yaml})
			t.Chdir(dir)
			var out, errb bytes.Buffer
			code := run(context.Background(), []string{"serve", "--config", "bad.yaml", "--addr", "127.0.0.1:0"}, &out, &errb)
			if code != 1 || !strings.Contains(errb.String(), tt.want) || strings.Contains(errb.String(), "smsflow.yaml") {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q", code, errb.String(), tt.want)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Errorf("serve left %v in the directory; want only bad.yaml (no smsflow.db)", ents)
			}
			for name, dsn := range storetest.DSNs(t) {
				var out, errb bytes.Buffer
				if code := run(context.Background(), []string{"serve", "--config", "bad.yaml", "--addr", "127.0.0.1:0", "--db", dsn}, &out, &errb); code != 1 {
					t.Fatalf("%s: exit %d: %s", name, code, errb.String())
				}
				if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
					if _, err := os.Stat(path); !os.IsNotExist(err) {
						t.Errorf("sqlite: serve created %s (%v)", path, err)
					}
					continue
				}
				db, err := store.Open(dsn)
				if err != nil {
					t.Fatal(err)
				}
				none, _, err := db.SchemaState(context.Background())
				db.Close()
				if err != nil || !none {
					t.Errorf("%s: serve migrated the database (none=%v, %v)", name, none, err)
				}
			}
		})
	}
}

// validate catches the names a flow cannot read (issue 17), in CEL and in
// templates, at file:line:col; free-form event properties and traits stay
// free.
func TestValidateFlowNames(t *testing.T) {
	clearProviderEnv(t)
	dir := t.TempDir()
	put(t, dir, map[string]string{"flows/names.yaml": `id: names
category: lifecycle
trigger:
  event: Checkout Started
  where: 'contact.trait.vip == true && event.properties.anything != ""'
steps:
  - wait: {reply: true, timeout: 1d}
  - if: 'reply.txt == "YES"'
    then:
      - send: >-
          Hi {{ contact.traits.first_name | default: "there" }},
          see {{ contct.id }} {{ event.properties.url | track }}
`})
	code, out := validateIn(t, dir, "flows")
	p := filepath.Join("flows", "names.yaml")
	for _, want := range []string{
		p + ":5:19: trigger where: unknown field `trait` of contact (did you mean `traits`?)",
		p + ":8:16: if: unknown field `txt` of reply (did you mean `text`?)",
		p + ":12:18: unknown variable `contct` (did you mean `contact`?)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if code != 1 || strings.Count(out, "unknown") != 3 {
		t.Errorf("exit %d, want 1 and exactly three unknown names:\n%s", code, out)
	}
}
