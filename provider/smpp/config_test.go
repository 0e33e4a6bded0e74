package smpp

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
)

func TestConfigDefaults(t *testing.T) {
	for _, c := range []struct {
		source   string
		ton, npi uint8
		addr     string
	}{
		{"12345", TONNetwork, NPIUnknown, "12345"},
		{"+14155550100", TONInternational, NPIE164, "14155550100"},
		{"14155550100", TONInternational, NPIE164, "14155550100"},
		{"GlowBeauty", TONAlphanumeric, NPIUnknown, "GlowBeauty"},
	} {
		p, err := New(Config{Addr: "smsc.example:2775", SystemID: "glow", Password: "pw", SourceAddr: c.source}, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.source, err)
		}
		got := p.cfg
		if *got.SourceTON != c.ton || *got.SourceNPI != c.npi || got.SourceAddr != c.addr {
			t.Errorf("%s: TON %d NPI %d addr %q, want %d %d %q", c.source, *got.SourceTON, *got.SourceNPI, got.SourceAddr, c.ton, c.npi, c.addr)
		}
		if got.EnquireLink != 30*time.Second || got.SubmitTimeout != DefaultSubmitTimeout || got.ReconnectMin != time.Second || got.ReconnectMax != time.Minute {
			t.Errorf("%s: durations %+v, want the defaults", c.source, got)
		}
	}
	ton, npi := uint8(0), uint8(1)
	p, err := New(Config{Addr: "h:1", SystemID: "s", SourceAddr: "12345", SourceTON: &ton, SourceNPI: &npi}, nil)
	if err != nil || *p.cfg.SourceTON != 0 || *p.cfg.SourceNPI != 1 {
		t.Errorf("explicit TON/NPI 0/1 not kept: %v", err)
	}
}

func TestConfigInvalid(t *testing.T) {
	ok := Config{Addr: "smsc.example:2775", SystemID: "glow", Password: "pw", SourceAddr: "12345"}
	for _, c := range []struct {
		field string
		mod   func(*Config)
	}{
		{"smpp.addr", func(c *Config) { c.Addr = "" }},
		{"smpp.addr", func(c *Config) { c.Addr = "smsc.example" }},
		{"smpp.addr", func(c *Config) { c.Addr = "smsc.example:http" }},
		{"smpp.addr", func(c *Config) { c.Addr = ":2775" }},
		{"smpp.system_id", func(c *Config) { c.SystemID = "" }},
		{"smpp.system_id", func(c *Config) { c.SystemID = strings.Repeat("a", 16) }},
		{"smpp.password", func(c *Config) { c.Password = "123456789" }},
		{"smpp.source_addr", func(c *Config) { c.SourceAddr = " " }},
		{"smpp.source_addr", func(c *Config) { c.SourceAddr = "TwelveLetter" }},
		{"smpp.enquire_link", func(c *Config) { c.EnquireLink = -time.Second }},
		{"smpp.reconnect_max", func(c *Config) { c.ReconnectMin, c.ReconnectMax = time.Minute, time.Second }},
	} {
		cfg := ok
		c.mod(&cfg)
		_, err := New(cfg, nil)
		var e *smsflow.Error
		if !errors.As(err, &e) || e.Code != smsflow.EINVALID || e.Field != c.field {
			t.Errorf("%+v: error %v, want invalid %s", cfg, err, c.field)
		}
	}
}
