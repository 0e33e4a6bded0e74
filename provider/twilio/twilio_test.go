package twilio

import (
	"errors"
	"strings"
	"testing"

	"github.com/smsflow/smsflow"
)

func TestNewRejectsBadConfigNamingTheKey(t *testing.T) {
	ok := testConfig("")
	for _, tc := range []struct {
		name   string
		change func(*Config)
		fields []string // every key the error must name
	}{
		{"empty sid", func(c *Config) { c.AccountSID = "" }, []string{"twilio.account_sid"}},
		{"API key instead of sid", func(c *Config) { c.AccountSID = "SK0123456789abcdef0123456789abcdef" }, []string{"twilio.account_sid"}},
		{"short sid", func(c *Config) { c.AccountSID = "AC0123" }, []string{"twilio.account_sid"}},
		{"non-hex sid", func(c *Config) { c.AccountSID = "ACzz23456789abcdef0123456789abcdef" }, []string{"twilio.account_sid"}},
		{"no token", func(c *Config) { c.AuthToken = "" }, []string{"twilio.auth_token"}},
		{"no sender", func(c *Config) { c.From = "" }, []string{"twilio.from"}},
		{"both senders", func(c *Config) { c.MessagingServiceSID = testMG }, []string{"twilio.from"}},
		{"bad service sid", func(c *Config) { c.From, c.MessagingServiceSID = "", "MG12" }, []string{"twilio.messaging_service_sid"}},
		{"relative api base", func(c *Config) { c.APIBase = "api.twilio.com" }, []string{"twilio.api_base"}},
		{"no public url", func(c *Config) { c.PublicURL = "" }, []string{"public_url"}},
		{"public url with query", func(c *Config) { c.PublicURL = "https://x.example/?a=1" }, []string{"public_url"}},
		{"opt-out replies", func(c *Config) { c.OptOutReplies = "carrier" }, []string{"twilio.opt_out_replies"}},
		{"everything at once", func(c *Config) { *c = Config{} }, []string{"twilio.account_sid", "twilio.auth_token", "twilio.from", "public_url"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.change(&cfg)
			tw, err := New(cfg, nil, nil)
			if err == nil || tw != nil {
				t.Fatalf("New accepted %+v", cfg)
			}
			for _, f := range tc.fields {
				if !hasField(err, f) {
					t.Errorf("error %q does not name %s", err, f)
				}
			}
			if strings.Contains(err.Error(), testToken) {
				t.Error("the error repeats the auth token")
			}
		})
	}
}

// hasField reports whether err (possibly joined) holds a field error for f.
func hasField(err error, f string) bool {
	if e, ok := err.(*smsflow.Error); ok {
		return e.Field == f && e.Code == smsflow.EINVALID
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if hasField(e, f) {
				return true
			}
		}
	}
	return false
}

func TestNewDefaults(t *testing.T) {
	cfg := testConfig("")
	cfg.PublicURL = "https://sms.example.com/"
	tw, err := New(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://api.twilio.com/2010-04-01/Accounts/" + testSID + "/Messages.json"; tw.endpoint != want {
		t.Errorf("endpoint = %s, want %s", tw.endpoint, want)
	}
	if tw.statusURL != "https://sms.example.com/webhooks/twilio/status" {
		t.Errorf("status callback = %s", tw.statusURL)
	}
	if !tw.RepliesToOptOuts() || tw.Name() != "twilio" {
		t.Error("default opt_out_replies should be twilio")
	}
	cfg.OptOutReplies = OptOutRepliesSmsflow
	if tw, err := New(cfg, nil, nil); err != nil || tw.RepliesToOptOuts() {
		t.Errorf("opt_out_replies smsflow: %v", err)
	}
	var e *smsflow.Error
	if _, err := New(Config{}, nil, nil); !errors.As(err, &e) {
		t.Errorf("config errors should be *smsflow.Error, got %T", err)
	}
}
