package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLimitsAndKeysFromFileAndEnvironment(t *testing.T) {
	c := Default()
	if c.Limits.ServicePerNumber != (ServiceLimit{Max: 10, Per: "24h"}) || c.Limits.IngestPerIP != "200/s" || c.Limits.IngestPerKey != "20000/s" {
		t.Fatalf("default limits %+v", c.Limits)
	}
	yaml := "server_key: sk_file\nlimits: {service_per_number: {max: 3, per: 12h}, ingest_per_ip: 50/s}\nlinks: {allowed_domains: [Track.Carrier.example., .shop.example]}\npublic_url: https://sms.glow.example\n"
	if err := decode("smsflow.yaml", []byte(yaml), &c); err != nil {
		t.Fatal(err)
	}
	if err := applyEnv(&c, []string{"SMSFLOW_SERVER_KEY=sk_env", "SMSFLOW_LIMITS_INGEST_PER_KEY=1000/m", "SMSFLOW_LIMITS_SERVICE_PER_NUMBER_MAX=5"}); err != nil {
		t.Fatal(err)
	}
	if c.ServerKey != "sk_env" || c.Limits.ServicePerNumber.Max != 5 || c.Limits.ServicePerNumber.Per != "12h" {
		t.Errorf("server key %q, service limit %+v", c.ServerKey, c.Limits.ServicePerNumber)
	}
	perIP, perKey, err := c.IngestLimits()
	if err != nil || perIP != (EventRate{50, time.Second}) || perKey != (EventRate{1000, time.Minute}) {
		t.Errorf("ingest limits %+v %+v %v", perIP, perKey, err)
	}
	p, err := c.Policy()
	if err != nil || p.ServicePerNumber.Max != 5 || p.ServicePerNumber.Per != 12*time.Hour {
		t.Errorf("policy service limit %+v, %v", p.ServicePerNumber, err)
	}
	hosts, err := c.AllowedLinkHosts()
	if err != nil || !slices.Equal(hosts, []string{"track.carrier.example", ".shop.example", "sms.glow.example"}) {
		t.Errorf("allowed link hosts %v, %v", hosts, err)
	}
	if err := c.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
	// "" turns an ingestion limit off; max 0 the service limit.
	c.Limits = Limits{}
	if perIP, perKey, err := c.IngestLimits(); err != nil || !perIP.IsZero() || !perKey.IsZero() {
		t.Errorf("limits off: %+v %+v %v", perIP, perKey, err)
	}
	if p, err := c.Policy(); err != nil || p.ServicePerNumber.Max != 0 {
		t.Errorf("service limit off: %+v %v", p.ServicePerNumber, err)
	}
}

func TestCheckKeysAndLimits(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"server key equal to the write key", func(c *Config) { c.WriteKey, c.ServerKey = "same-key", "same-key" }, "server_key"},
		{"per-address limit without unit", func(c *Config) { c.Limits.IngestPerIP = "200" }, "limits.ingest_per_ip"},
		{"per-key limit of zero", func(c *Config) { c.Limits.IngestPerKey = "0/s" }, "limits.ingest_per_key"},
		{"service limit without a window", func(c *Config) { c.Limits.ServicePerNumber = ServiceLimit{Max: 3} }, "limits.service_per_number.per"},
		{"negative service limit", func(c *Config) { c.Limits.ServicePerNumber.Max = -1 }, "limits.service_per_number.max"},
		{"a URL as an allowed domain", func(c *Config) { c.Links.AllowedDomains = []string{"https://shop.example/"} }, "links.allowed_domains"},
		{"a wildcard as an allowed domain", func(c *Config) { c.Links.AllowedDomains = []string{"*.shop.example"} }, "links.allowed_domains"},
	} {
		c := Default()
		tt.change(&c)
		if err := c.Check(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Check() = %v, want an error naming %q", tt.name, err, tt.want)
		}
	}
}
