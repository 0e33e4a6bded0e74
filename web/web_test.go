package web

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/internal/testkit"
)

// newTestUI is a UI with no database: enough for the login, sessions,
// CSRF and static files, which need none.
func newTestUI(t *testing.T, publicURL string) (*UI, *testkit.Clock) {
	t.Helper()
	clock := testkit.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	return New(Deps{Config: config.Config{PublicURL: publicURL}, Clock: clock, AdminKey: "ak_test"}), clock
}

func login(t testing.TB, u *UI) *http.Cookie {
	t.Helper()
	req := httptest.NewRequest("POST", "/login", strings.NewReader("key=ak_test&next=%2Fcontacts"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	u.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/contacts" {
		t.Fatalf("login: %d to %q, want 303 to /contacts", rec.Code, rec.Header().Get("Location"))
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == SessionCookie {
			return c
		}
	}
	t.Fatal("login set no session cookie")
	return nil
}

func TestTemplatesParse(t *testing.T) {
	u, _ := newTestUI(t, "")
	for _, name := range []string{"layout", "login", "error", "flows", "contacts", "contact", "messages", "inbox", "inbox-thread", "program", "settings", "flow", "editor"} {
		if name == "layout" {
			continue
		}
		if _, err := u.page(name); err != nil {
			t.Errorf("page %s: %v", name, err)
		}
	}
}

func TestSessionCookieFlags(t *testing.T) {
	for _, tc := range []struct {
		publicURL string
		secure    bool
	}{{"", false}, {"http://sms.example.com", false}, {"https://sms.example.com", true}} {
		u, _ := newTestUI(t, tc.publicURL)
		c := login(t, u)
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure != tc.secure {
			t.Errorf("public_url %q: cookie HttpOnly=%v SameSite=%v Path=%q Secure=%v, want HttpOnly, Lax, /, Secure=%v",
				tc.publicURL, c.HttpOnly, c.SameSite, c.Path, c.Secure, tc.secure)
		}
	}
}

func TestSessionExpiresAndEndsWithTheAdminKey(t *testing.T) {
	u, clock := newTestUI(t, "")
	c := login(t, u)
	get := func(u *UI, c *http.Cookie) int {
		req := httptest.NewRequest("GET", "/contacts", nil)
		req.AddCookie(c)
		rec := httptest.NewRecorder()
		u.ServeHTTP(rec, req)
		return rec.Code
	}
	if got := get(u, c); got != http.StatusOK {
		t.Fatalf("with a fresh session /contacts answers %d, want 200", got)
	}
	rotated := New(Deps{Clock: clock, AdminKey: "ak_other"})
	if got := get(rotated, c); got != http.StatusSeeOther {
		t.Errorf("after the admin key changed the old session answers %d, want 303 to the login", got)
	}
	tampered := *c
	tampered.Value = strings.Replace(c.Value, ".", "x.", 1)
	if got := get(u, &tampered); got != http.StatusSeeOther {
		t.Errorf("a tampered cookie answers %d, want 303 to the login", got)
	}
	clock.Add(SessionIdle + time.Minute)
	if got := get(u, c); got != http.StatusSeeOther {
		t.Errorf("a session idle for longer than %s answers %d, want 303 to the login", SessionIdle, got)
	}
}

func TestLoginRefusesAWrongKeyAndLimitsRetries(t *testing.T) {
	u, _ := newTestUI(t, "")
	post := func(key string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"key": {key}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = "203.0.113.9:5000"
		rec := httptest.NewRecorder()
		u.ServeHTTP(rec, req)
		return rec
	}
	rec := post("ak_wrong")
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "not the admin key") {
		t.Fatalf("a wrong key answers %d %q, want 401 saying it is not the admin key", rec.Code, rec.Body.String())
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == SessionCookie {
			t.Fatal("a wrong key got a session cookie")
		}
	}
	for range loginFailures {
		post("ak_wrong")
	}
	if rec := post("ak_test"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("after %d wrong keys the right one answers %d, want 429 until the window ends", loginFailures+1, rec.Code)
	}
}

func TestSafeNext(t *testing.T) {
	for next, want := range map[string]string{
		"":                     "/flows",
		"/contacts?q=1":        "/contacts?q=1",
		"//evil.example":       "/flows",
		"https://evil.example": "/flows",
		"/\\evil.example":      "/flows",
		"javascript:alert(1)":  "/flows",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestStateChangesNeedTheCSRFToken(t *testing.T) {
	u, _ := newTestUI(t, "https://sms.example.com")
	c := login(t, u)
	s := u.sessions.decode(c.Value, u.now())
	token := u.sessions.csrf(s)
	post := func(body string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/logout", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		req.AddCookie(c)
		rec := httptest.NewRecorder()
		u.ServeHTTP(rec, req)
		return rec
	}
	for name, tc := range map[string]struct {
		body string
		hdr  map[string]string
		want int
	}{
		"no token":               {"", nil, http.StatusForbidden},
		"wrong token":            {"csrf=abc", nil, http.StatusForbidden},
		"another session's":      {"csrf=" + u.sessions.csrf(&session{ID: strings.Repeat("0", 64)}), nil, http.StatusForbidden},
		"form field":             {"csrf=" + token, nil, http.StatusSeeOther},
		"header":                 {"", map[string]string{CSRFHeader: token}, http.StatusSeeOther},
		"cross-site fetch":       {"csrf=" + token, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		"other origin":           {"csrf=" + token, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		"public_url origin":      {"csrf=" + token, map[string]string{"Origin": "https://sms.example.com"}, http.StatusSeeOther},
		"same origin, same site": {"csrf=" + token, map[string]string{"Origin": "http://example.com", "Sec-Fetch-Site": "same-origin"}, http.StatusSeeOther},
	} {
		rec := post(tc.body, tc.hdr)
		if rec.Code != tc.want {
			t.Errorf("%s: %d, want %d", name, rec.Code, tc.want)
		}
		if tc.want == http.StatusForbidden && !strings.Contains(rec.Body.String(), "try again") {
			t.Errorf("%s: the refusal does not say what to do: %s", name, rec.Body.String())
		}
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	u, _ := newTestUI(t, "")
	for _, path := range []string{"/login", "/flows", "/static/" + strings.TrimPrefix(assetURL("app.css"), "/static/"), "/nowhere"} {
		rec := httptest.NewRecorder()
		u.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		h := rec.Header()
		csp := h.Get("Content-Security-Policy")
		if csp != CSP || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("%s: X-Content-Type-Options %q, Referrer-Policy %q", path, h.Get("X-Content-Type-Options"), h.Get("Referrer-Policy"))
		}
	}
	rec := httptest.NewRecorder()
	u.ServeHTTP(rec, httptest.NewRequest("GET", "/login", nil))
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("/login: Cache-Control %q, want no-store", got)
	}
	rec = httptest.NewRecorder()
	u.ServeHTTP(rec, httptest.NewRequest("GET", assetURL("app.css"), nil))
	if got := rec.Header().Get("Cache-Control"); rec.Code != 200 || !strings.Contains(got, "immutable") {
		t.Errorf("a versioned static file: %d, Cache-Control %q, want 200 cached for long", rec.Code, got)
	}
}

// TestJavaScriptIsSmall keeps the script every page may load under 300 KB
// gzipped (issue 20): app.js and the vendored libraries together.
func TestJavaScriptIsSmall(t *testing.T) {
	const limit = 300 << 10
	var total int
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(b)
		zw.Close()
		t.Logf("%s: %d bytes, %d gzipped", p, len(b), buf.Len())
		total += buf.Len()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total == 0 || total > limit {
		t.Errorf("the UI's JavaScript is %d bytes gzipped, want some and at most %d", total, limit)
	}
}

func TestHomeGoesToTheFlows(t *testing.T) {
	u, _ := newTestUI(t, "")
	c := login(t, u)
	for path, want := range map[string]int{"/": http.StatusSeeOther, "/flows": http.StatusOK, "/nowhere": http.StatusNotFound} {
		req := httptest.NewRequest("GET", path, nil)
		req.AddCookie(c)
		rec := httptest.NewRecorder()
		u.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("GET %s: %d, want %d", path, rec.Code, want)
		}
		if got := rec.Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("GET %s: Cache-Control %q, want no-store", path, got)
		}
	}
}
