package config

import (
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	if err := Default().Check(); err != nil {
		t.Fatalf("defaults do not pass Check: %v", err)
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"footer without opt-out language", func(c *Config) { c.Brand.Footer = "Thanks for shopping!" }, "brand.footer"},
		{"unknown UTM key", func(c *Config) { c.Links.UTM = map[string]string{"sorce": "sms"} }, "sorce"},
		{"opt-out word that is a standard keyword of another kind", func(c *Config) { c.Keywords.OptOut = []string{"HELP"} }, "HELP"},
		{"bad quiet hours", func(c *Config) { c.QuietHours.Allowed = "8-21" }, "quiet_hours.allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(&c)
			err := c.Check()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check() = %v, want an error naming %q", err, tt.want)
			}
		})
	}
	c := Default()
	c.Brand.Footer = ""
	if err := c.Check(); err != nil {
		t.Errorf("an empty footer (turned off) is allowed: %v", err)
	}
}

func TestFooterAndKeywordsFromYAML(t *testing.T) {
	c := Default()
	if err := decode("smsflow.yaml", []byte("brand: {name: Glow, footer: \"Txt STOP to end\"}\nkeywords: {opt_out: [ALTO], revocation: false}\n"), &c); err != nil {
		t.Fatal(err)
	}
	if c.Brand.Footer != "Txt STOP to end" || c.Brand.Name != "Glow" {
		t.Errorf("brand %+v", c.Brand)
	}
	kw := c.KeywordConfig()
	if len(kw.OptOut) != 1 || kw.OptOut[0] != "ALTO" || !kw.NoRevocation || len(kw.Join) != 1 {
		t.Errorf("keyword config %+v", kw)
	}
	if err := c.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func TestWorkersDefaultByDatabase(t *testing.T) {
	c := Default()
	if n, err := c.Workers(); err != nil || n != 1 {
		t.Fatalf("SQLite default: %d, %v; want 1", n, err)
	}
	c.DB = "postgres://u:p@127.0.0.1/db"
	if n, err := c.Workers(); err != nil || n != 2 {
		t.Fatalf("PostgreSQL default: %d, %v; want 2", n, err)
	}
	c.EngineWorkers = 4
	if n, err := c.Workers(); err != nil || n != 4 {
		t.Fatalf("engine_workers 4: %d, %v", n, err)
	}
	c.EngineWorkers = -1
	if err := c.Check(); err == nil || !strings.Contains(err.Error(), "engine_workers") {
		t.Fatalf("engine_workers -1: %v; want an error naming the key", err)
	}
}

func TestNodeLease(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 2 * time.Minute, true},
		{"2m", 2 * time.Minute, true},
		{" 5s ", 5 * time.Second, true},
		{"500ms", 0, false},
		{"2h", 0, false},
		{"soon", 0, false},
	} {
		c := Default()
		c.NodeTTL = tc.in
		d, err := c.NodeLease()
		if (err == nil) != tc.ok || d != tc.want {
			t.Errorf("node_ttl %q: %s, %v; want %s (ok %v)", tc.in, d, err, tc.want, tc.ok)
		}
		if err := c.Check(); (err == nil) != tc.ok || (err != nil && !strings.Contains(err.Error(), "node_ttl")) {
			t.Errorf("node_ttl %q: Check says %v", tc.in, err)
		}
	}
}
