package twilio

import (
	"net/http"
	"testing"
)

// The account and numbers of the tests; send_test.go (package twilio_test,
// so that it can use twiliotest, which imports this package) has its own
// copy.
const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "0123456789abcdef0123456789abcdef"
	testFrom  = "+15005550006"
	testMG    = "MG0123456789abcdef0123456789abcdef"
	testTo    = "+14155550100"
)

// testConfig is a valid configuration pointing at apiBase.
func testConfig(apiBase string) Config {
	return Config{AccountSID: testSID, AuthToken: testToken, From: testFrom, APIBase: apiBase, PublicURL: "https://sms.example.com"}
}

func newTestTwilio(t *testing.T, cfg Config, client *http.Client) *Twilio {
	t.Helper()
	tw, err := New(cfg, client, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tw
}
