package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsflow/smsflow/api"
	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/internal/testkit"
)

// memSettings keeps settings in memory: the keyring's storage, for tests
// of the UI that need no database.
type memSettings struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *memSettings) SettingOrInit(_ context.Context, key string, init func() string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.m[key]; ok {
		return v, false, nil
	}
	s.m[key] = init()
	return s.m[key], true, nil
}

func (s *memSettings) Settings(_ context.Context, keys ...string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for _, k := range keys {
		if v, ok := s.m[k]; ok {
			out[k] = v
		}
	}
	return out, nil
}

func (s *memSettings) SetSettings(_ context.Context, values map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range values {
		s.m[k] = v
	}
	return nil
}

var csrfMeta = regexp.MustCompile(`name="csrf-token" content="([^"]+)"`)

// TestRotatingTheAdminKeyEndsSessions rotates the admin key on the
// settings page: the page shows the new key once, the session that did it
// and every other one end, and the new key logs in.
func TestRotatingTheAdminKeyEndsSessions(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	ring, _, err := api.OpenKeyring(context.Background(), &memSettings{m: map[string]string{}}, api.KeyringOptions{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	u := New(Deps{Config: config.Config{}, Clock: clock, Keys: ring})
	old := ring.Keys().Admin
	do := func(method, path, body string, c *http.Cookie, csrf string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if csrf != "" {
			req.Header.Set(CSRFHeader, csrf)
		}
		if c != nil {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		u.ServeHTTP(rec, req)
		return rec
	}
	loginWith := func(key string) *http.Cookie {
		rec := do("POST", "/login", "key="+key+"&next=%2Fsettings", nil, "")
		for _, c := range rec.Result().Cookies() {
			if c.Name == SessionCookie {
				return c
			}
		}
		return nil
	}
	c := loginWith(old)
	if c == nil {
		t.Fatal("the admin key did not log in")
	}
	page := do("GET", "/settings", "", c, "")
	m := csrfMeta.FindStringSubmatch(page.Body.String())
	if page.Code != http.StatusOK || m == nil {
		t.Fatalf("settings: %d, no CSRF token", page.Code)
	}
	rec := do("POST", "/settings/keys/admin/rotate", "", c, m[1])
	newKey := ring.Keys().Admin
	if rec.Code != http.StatusOK || newKey == old || !strings.Contains(rec.Body.String(), newKey) || !strings.Contains(rec.Body.String(), "log in again") {
		t.Fatalf("rotating the admin key: %d, new key %q shown: %v", rec.Code, newKey, strings.Contains(rec.Body.String(), newKey))
	}
	if got := do("GET", "/settings", "", c, ""); got.Code != http.StatusSeeOther {
		t.Errorf("the session of the old admin key answers %d, want 303 to the login", got.Code)
	}
	if loginWith(old) != nil {
		t.Errorf("the old admin key still logs in")
	}
	if loginWith(newKey) == nil {
		t.Errorf("the new admin key does not log in")
	}
}
