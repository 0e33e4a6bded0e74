package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	for in, want := range map[string]Rate{
		"1/s": {1, time.Second}, "30/s": {30, time.Second}, " 100 / m ": {100, time.Minute}, "1/h": {1, time.Hour}, "": {},
	} {
		got, err := ParseRate("twilio.rate", in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"fast", "30", "30/d", "0/s", "-1/s", "1.5/s", "/s", "30/", "x/s", "2000000/s"} {
		_, err := ParseRate("smpp.rate", in)
		if err == nil || !strings.Contains(err.Error(), "smpp.rate") || !strings.Contains(err.Error(), `"30/s"`) {
			t.Errorf("ParseRate(%q) = %v, want an error naming smpp.rate with an example", in, err)
		}
	}
}

func TestCheckRejectsBadPacing(t *testing.T) {
	for name, tt := range map[string]struct {
		change func(*Config)
		want   string
	}{
		"twilio rate":      {func(c *Config) { c.Twilio.Rate = "fast" }, "twilio.rate"},
		"smpp rate":        {func(c *Config) { c.SMPP.Rate = "30 per second" }, "smpp.rate"},
		"http rate":        {func(c *Config) { c.HTTP.Rate = "0/s" }, "http.rate"},
		"console rate":     {func(c *Config) { c.Console.Rate = "10/d" }, "console.rate"},
		"negative cap":     {func(c *Config) { c.SMPP.DailyCap = -1 }, "smpp.daily_cap"},
		"unused provider ": {func(c *Config) { c.Provider = "console"; c.HTTP.Rate = "lots" }, "http.rate"},
	} {
		c := Default()
		tt.change(&c)
		if err := c.Check(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Check() = %v, want an error naming %s", name, err, tt.want)
		}
	}
}

func TestPacingOfTheConfiguredProvider(t *testing.T) {
	c := Default()
	if p, err := c.Pacing(); err != nil || !p.IsZero() || p.Sender != "console" {
		t.Errorf("console by default: %+v, %v; want no pacing", p, err)
	}
	b := []byte("provider: twilio\ntwilio: {from: \"+15005550006\", rate: 3/s, daily_cap: 5000}\n")
	if err := decode("smsflow.yaml", b, &c); err != nil {
		t.Fatal(err)
	}
	p, err := c.Pacing()
	if err != nil || p.Sender != "twilio:+15005550006" || p.Rate != (Rate{3, time.Second}) || p.DailyCap != 5000 {
		t.Errorf("twilio: %+v, %v", p, err)
	}
	if err := applyEnv(&c, []string{"SMSFLOW_PROVIDER=smpp", "SMSFLOW_SMPP_SOURCE_ADDR=12345", "SMSFLOW_SMPP_RATE=30/s", "SMSFLOW_SMPP_DAILY_CAP=100"}); err != nil {
		t.Fatal(err)
	}
	if p, err := c.Pacing(); err != nil || p.Sender != "smpp:12345" || p.Rate.PerSecond() != 30 || p.DailyCap != 100 {
		t.Errorf("smpp from the environment: %+v, %v", p, err)
	}
}
