package twilio

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
)

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "0123456789abcdef0123456789abcdef"
	testFrom  = "+15005550006"
	testMG    = "MG0123456789abcdef0123456789abcdef"
	testTo    = "+14155550100"
)

// fakeTwilio is a loopback server speaking the Messages API: it checks the
// path and Basic auth like Twilio (401 with error 20003 otherwise), decodes
// the form, records it, and answers what the test asks for, or a created
// message by default.
type fakeTwilio struct {
	*httptest.Server

	mu      sync.Mutex
	forms   []url.Values
	respond func(w http.ResponseWriter, r *http.Request) // nil: 201 with a message
}

func newFakeTwilio(t *testing.T) *fakeTwilio {
	t.Helper()
	f := &fakeTwilio{}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeTwilio) serve(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != testSID || pass != testToken {
		twilioError(w, http.StatusUnauthorized, 20003, "Authentication Error - invalid username")
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+testSID+"/Messages.json" {
		twilioError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		twilioError(w, http.StatusBadRequest, 21000, "unexpected Content-Type "+ct)
		return
	}
	if err := r.ParseForm(); err != nil {
		twilioError(w, http.StatusBadRequest, 21000, err.Error())
		return
	}
	f.mu.Lock()
	f.forms = append(f.forms, r.PostForm)
	respond := f.respond
	n := len(f.forms)
	f.mu.Unlock()
	if respond != nil {
		respond(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"account_sid": testSID, "api_version": "2010-04-01", "body": r.PostForm.Get("Body"),
		"direction": "outbound-api", "error_code": nil, "error_message": nil,
		"from": r.PostForm.Get("From"), "messaging_service_sid": r.PostForm.Get("MessagingServiceSid"),
		"num_media": "0", "num_segments": "1", "price": nil, "price_unit": "USD",
		"sid": fmt.Sprintf("SM%032x", n), "status": "queued", "to": r.PostForm.Get("To"),
		"uri": "/2010-04-01/Accounts/" + testSID + "/Messages/SM.json",
	})
}

// received returns the forms the server decoded so far.
func (f *fakeTwilio) received() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.forms...)
}

// setRespond replaces the default answer.
func (f *fakeTwilio) setRespond(h func(w http.ResponseWriter, r *http.Request)) {
	f.mu.Lock()
	f.respond = h
	f.mu.Unlock()
}

// twilioError writes Twilio's JSON error body.
func twilioError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code": code, "message": message, "status": status,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
	})
}

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
