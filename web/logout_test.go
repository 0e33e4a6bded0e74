package web

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

// Logging out ends the session on the server (D100): the old cookie — a
// copy kept by anyone — gets the login page afterwards, on every node
// sharing the database; a new login works.
func TestLogoutEndsTheCookie(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPeopleUI(t, db)
		old := p.cookie
		if code, _, _ := p.get(t, "/contacts"); code != http.StatusOK {
			t.Fatalf("logged in: %d", code)
		}
		code, _, h := p.post(t, "/logout", url.Values{})
		if code != http.StatusSeeOther || h.Get("Location") != "/login" {
			t.Fatalf("logout: %d to %q", code, h.Get("Location"))
		}
		// The same cookie, sent again, as a copy would be.
		p.cookie = old
		code, _, h = p.get(t, "/contacts")
		if code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
			t.Errorf("the logged-out cookie: %d to %q, want the login page", code, h.Get("Location"))
		}
		// Another node (its own UI on the same database) refuses it too.
		other := newPeopleUI(t, db)
		other.cookie = old
		if code, _, _ := other.get(t, "/contacts"); code != http.StatusSeeOther {
			t.Errorf("another node lets the logged-out cookie in: %d", code)
		}
		if code, _, _ := p.post(t, "/inbox/ana/reply", url.Values{"body": {"hi"}, CSRFField: {p.csrf}}); code != http.StatusSeeOther {
			t.Errorf("a post with the logged-out cookie: %d, want the login page", code)
		}
		p.relogin(t)
		if code, _, _ := p.get(t, "/contacts"); code != http.StatusOK {
			t.Errorf("a new login after the logout: %d", code)
		}
	})
}

// A live console stream opened before a logout ends with the session
// (within consoleKeepAlive), rather than streaming texts to a logged-out
// browser for as long as it stays open.
func TestLogoutEndsTheLiveConsoleStream(t *testing.T) {
	old := consoleKeepAlive
	consoleKeepAlive = 20 * time.Millisecond
	t.Cleanup(func() { consoleKeepAlive = old })
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPeopleUI(t, db)
		srv := httptest.NewServer(p.UI)
		defer srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/inbox/events", nil)
		req.AddCookie(p.cookie)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("stream: %d", res.StatusCode)
		}
		lines := bufio.NewScanner(res.Body)
		keepAlives := 0
		for keepAlives < 2 && lines.Scan() {
			if lines.Text() == ": keep-alive" {
				keepAlives++ // the session was looked at, and is live
			}
		}
		if keepAlives < 2 {
			t.Fatalf("the stream ended before the logout: %v", lines.Err())
		}
		if code, _, _ := p.post(t, "/logout", url.Values{}); code != http.StatusSeeOther {
			t.Fatalf("logout: %d", code)
		}
		for lines.Scan() {
		}
		if err := lines.Err(); err != nil {
			t.Fatalf("the stream did not end after the logout: %v", err)
		}
	})
}
