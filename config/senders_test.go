package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// load reads a configuration file with the environment given.
func load(t *testing.T, yaml string, env ...string) (Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "smsflow.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(path, env)
}

func TestSendersList(t *testing.T) {
	c, err := load(t, `provider: twilio
twilio:
  senders:
    - {from: "+1 (415) 555-0100", rate: 2/s, daily_cap: 2000}
    - {messaging_service_sid: MG0123456789abcdef0123456789abcdef, rate: 30/s}
    - {from: "12345", rate: ""}
    - {from: GLOW}
`)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	s, err := c.Senders()
	if err != nil {
		t.Fatal(err)
	}
	want := []Sender{
		{Key: "twilio.senders[0]", Address: "+14155550100", Pacing: Pacing{Sender: "twilio:+14155550100", Rate: Rate{2, time.Second}, DailyCap: 2000}},
		{Key: "twilio.senders[1]", Address: "MG0123456789abcdef0123456789abcdef", Pacing: Pacing{Sender: "twilio:MG0123456789abcdef0123456789abcdef", Rate: Rate{30, time.Second}}},
		{Key: "twilio.senders[2]", Address: "12345", Pacing: Pacing{Sender: "twilio:12345"}},                           // rate "": no limit
		{Key: "twilio.senders[3]", Address: "GLOW", Pacing: Pacing{Sender: "twilio:GLOW", Rate: Rate{1, time.Second}}}, // no rate: twilio's default
	}
	if len(s.List) != len(want) {
		t.Fatalf("senders %+v", s.List)
	}
	for i := range want {
		if s.List[i] != want[i] {
			t.Errorf("sender %d = %+v, want %+v", i, s.List[i], want[i])
		}
	}
	if s.Open || s.Provider != "twilio" {
		t.Errorf("twilio senders: %+v", s)
	}
	if got := s.Others(); strings.Join(got, ",") != "MG0123456789abcdef0123456789abcdef,12345,GLOW" {
		t.Errorf("Others() = %v", got)
	}
	if p, err := c.Pacing(); err != nil || p != want[0].Pacing {
		t.Errorf("Pacing() = %+v, %v; want the default sender's", p, err)
	}
	for from, want := range map[string]string{
		"": "", "+14155550100": "", "+1 415 555 0100": "", " +1-415-555-0100 ": "", // the default
		"MG0123456789abcdef0123456789abcdef": "MG0123456789abcdef0123456789abcdef", "12345": "12345", "GLOW": "GLOW",
	} {
		if got, ok := s.Resolve(from); !ok || got != want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", from, got, ok, want)
		}
		if msg := s.Check(from); msg != "" {
			t.Errorf("Check(%q) = %q", from, msg)
		}
	}
	for _, from := range []string{"+14155550199", "glow", "MG0000", "1234"} {
		if _, ok := s.Resolve(from); ok {
			t.Errorf("Resolve(%q) accepted an unknown sender", from)
		}
		msg := s.Check(from)
		if !strings.Contains(msg, from) || !strings.Contains(msg, "+14155550100 (default)") || !strings.Contains(msg, "GLOW") || !strings.Contains(msg, "twilio.senders") {
			t.Errorf("Check(%q) = %q; want it to name the from and list the senders", from, msg)
		}
	}
}

func TestSingleSenderKeysAreAOneSenderList(t *testing.T) {
	c, err := load(t, "provider: twilio\ntwilio: {messaging_service_sid: MG0123456789abcdef0123456789abcdef, rate: 10/s}\n")
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Senders()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.List) != 1 || s.List[0] != (Sender{Key: "twilio", Address: "MG0123456789abcdef0123456789abcdef",
		Pacing: Pacing{Sender: "twilio:MG0123456789abcdef0123456789abcdef", Rate: Rate{10, time.Second}}}) {
		t.Errorf("twilio single keys: %+v", s.List)
	}
	// The environment variables of the single keys keep working.
	c, err = load(t, "provider: smpp\n", "SMSFLOW_SMPP_SOURCE_ADDR=12345", "SMSFLOW_SMPP_RATE=30/s", "SMSFLOW_SMPP_DAILY_CAP=100")
	if err != nil {
		t.Fatal(err)
	}
	if s, err = c.Senders(); err != nil || len(s.List) != 1 || s.List[0].Address != "12345" || s.List[0].Pacing != (Pacing{Sender: "smpp:12345", Rate: Rate{30, time.Second}, DailyCap: 100}) {
		t.Errorf("smpp from the environment: %+v, %v", s, err)
	}
	if addr, ok := s.Resolve("12345"); !ok || addr != "" {
		t.Errorf("the one sender is the default: %q, %v", addr, ok)
	}
	// http and console have no address of their own by default.
	c, err = load(t, "provider: http\nhttp: {rate: 5/s}\n")
	if err != nil {
		t.Fatal(err)
	}
	if s, err = c.Senders(); err != nil || len(s.List) != 1 || s.List[0].Address != "" || s.List[0].Pacing.Sender != "http" || s.Open {
		t.Errorf("http single keys: %+v, %v", s, err)
	}
	if _, ok := s.Resolve("+15005550006"); ok {
		t.Error("http without senders accepted a from:")
	}
}

func TestSendersAndSingleKeysBothSet(t *testing.T) {
	list := "  senders: [{from: \"+15005550006\"}]\n"
	for name, tt := range map[string]struct {
		yaml string
		env  []string
		keys []string
	}{
		"twilio from":         {"twilio:\n  from: \"+15005550001\"\n" + list, nil, []string{"twilio.senders", "twilio.from"}},
		"twilio service":      {"twilio:\n  messaging_service_sid: MG0123456789abcdef0123456789abcdef\n" + list, nil, []string{"twilio.messaging_service_sid"}},
		"twilio rate default": {"twilio:\n  rate: 1/s\n" + list, nil, []string{"twilio.rate"}},
		"twilio rate env":     {"twilio:\n" + list, []string{"SMSFLOW_TWILIO_RATE=5/s"}, []string{"twilio.rate"}},
		"twilio from env":     {"twilio:\n" + list, []string{"SMSFLOW_TWILIO_FROM=+15005550001"}, []string{"twilio.from"}},
		"smpp":                {"smpp:\n  source_addr: \"12345\"\n  senders: [{source_addr: \"54321\"}]\n", nil, []string{"smpp.senders", "smpp.source_addr"}},
		"http daily cap":      {"http:\n  daily_cap: 10\n" + list, nil, []string{"http.senders", "http.daily_cap"}},
		"console rate":        {"console:\n  rate: 1/s\n" + list, nil, []string{"console.senders", "console.rate"}},
	} {
		c, err := load(t, tt.yaml, tt.env...)
		if err == nil {
			err = c.Check()
		}
		for _, k := range tt.keys {
			if err == nil || !strings.Contains(err.Error(), k) {
				t.Errorf("%s: %v; want an error naming %s", name, err, k)
			}
		}
	}
}

func TestSenderErrorsNameTheKey(t *testing.T) {
	for name, tt := range map[string]struct{ yaml, want string }{
		"bad rate":          {"twilio: {senders: [{from: \"+15005550006\"}, {from: \"+15005550007\", rate: fast}]}", "twilio.senders[1].rate"},
		"negative cap":      {"smpp: {senders: [{source_addr: \"12345\", daily_cap: -1}]}", "smpp.senders[0].daily_cap"},
		"no address":        {"smpp: {senders: [{source_addr: \"12345\"}, {rate: 1/s}]}", "smpp.senders[1].source_addr"},
		"http no from":      {"http: {senders: [{rate: 1/s}]}", "http.senders[0].from"},
		"neither":           {"twilio: {senders: [{rate: 1/s}]}", "twilio.senders[0]"},
		"both from and sid": {"twilio: {senders: [{from: \"+15005550006\", messaging_service_sid: MG0123456789abcdef0123456789abcdef}]}", "twilio.senders[0]"},
		"bad sid":           {"twilio: {senders: [{messaging_service_sid: MG12}]}", "twilio.senders[0].messaging_service_sid"},
		"sid as from":       {"twilio: {senders: [{from: MG0123456789abcdef0123456789abcdef}]}", "twilio.senders[0].from"},
		"duplicate":         {"twilio: {senders: [{from: \"+15005550006\"}, {from: \"+1 500 555 0006\"}]}", "twilio.senders[1].from"},
		"unused provider":   {"provider: console\nhttp: {senders: [{from: x, rate: lots}]}", "http.senders[0].rate"},
	} {
		c, err := load(t, tt.yaml)
		if err == nil {
			err = c.Check()
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v; want an error naming %s", name, err, tt.want)
		}
	}
	if _, err := load(t, "provider: twilio\n", "SMSFLOW_TWILIO_SENDERS=+15005550006"); err == nil || !strings.Contains(err.Error(), "SMSFLOW_TWILIO_SENDERS") {
		t.Errorf("a senders list from the environment: %v; want an error saying it belongs in the file", err)
	}
	// Lists and maps the environment cannot set are refused, not ignored.
	for _, env := range []string{"SMSFLOW_CAPS=promo:1/24h", "SMSFLOW_LINKS_UTM=source=sms"} {
		name, _, _ := strings.Cut(env, "=")
		if _, err := load(t, "provider: console\n", env); err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "configuration file") {
			t.Errorf("%s: %v; want an error saying it belongs in the file", env, err)
		}
	}
}

func TestConsoleSenders(t *testing.T) {
	s, err := Default().Senders()
	if err != nil {
		t.Fatal(err)
	}
	if !s.Open || len(s.List) != 1 || s.List[0].Address != "" || s.List[0].Pacing.Sender != "console" {
		t.Fatalf("console by default: %+v", s)
	}
	if addr, ok := s.Resolve("+15005550006"); !ok || addr != "" || s.Check("anything") != "" {
		t.Errorf("console without senders: any from: goes from the one sender; got %q, %v", addr, ok)
	}
	c, err := load(t, "console: {senders: [{from: \"+15005550006\"}, {from: \"12345\", rate: 1/s}]}\n")
	if err != nil {
		t.Fatal(err)
	}
	if s, err = c.Senders(); err != nil || s.Open {
		t.Fatalf("console with senders: %+v, %v", s, err)
	}
	if addr, ok := s.Resolve("12345"); !ok || addr != "12345" {
		t.Errorf("Resolve(12345) = %q, %v", addr, ok)
	}
	if msg := s.Check("+15005550007"); !strings.Contains(msg, "console") {
		t.Errorf("console with senders accepts only them: %q", msg)
	}
}
