package web

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/smsflow/smsflow/api"
)

// The admin-key login is this one handler pair. When user accounts come,
// it moves to /login/key as the break-glass way in (D92): only its route
// line in routes.go changes.

type loginData struct {
	Next  string
	Error string
}

func (u *UI) loginForm(w http.ResponseWriter, r *http.Request) {
	if u.readSession(r) != nil {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	u.render(w, r, http.StatusOK, "login", page{Title: "Log in", Data: loginData{Next: safeNext(r.URL.Query().Get("next"))}})
}

func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.PostFormValue("next"))
	addr := api.ClientAddress(r)
	now := u.now()
	if wait := u.logins.blocked(addr, now); wait > 0 {
		u.render(w, r, http.StatusTooManyRequests, "login", page{Title: "Log in", Data: loginData{Next: next,
			Error: "Too many wrong keys from your address. Try again in " + wait.Round(time.Minute).String() + "."}})
		return
	}
	key := strings.TrimSpace(r.PostFormValue("key"))
	if admin := u.adminKey(); key == "" || admin == "" || subtle.ConstantTimeCompare([]byte(key), []byte(admin)) != 1 {
		if key != "" {
			u.logins.failed(addr, now)
		}
		msg := "That is not the admin key. `smsflow keys` prints it (the line \"admin key:\")."
		if key == "" {
			msg = "Enter the admin key: `smsflow keys` prints it."
		}
		u.Log.Info("web login refused", "address", addr)
		u.render(w, r, http.StatusUnauthorized, "login", page{Title: "Log in", Data: loginData{Next: next, Error: msg}})
		return
	}
	u.setSession(w, newSession(now))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the session on the server too (web_logouts, D100): a copy
// of the cookie gets the login page from now on.
func (u *UI) logout(w http.ResponseWriter, r *http.Request) {
	if err := u.endSession(r, sessionFrom(r)); err != nil {
		u.Log.Error("web: log out", "err", err)
		u.fail(w, r, http.StatusInternalServerError, "You could not be logged out: the server could not record it. Try again; the log says why.")
		return
	}
	u.clearSession(w)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext is where to go after logging in: a path on this site, else
// the flows.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/flows"
	}
	p, err := url.Parse(next)
	if err != nil || p.Scheme != "" || p.Host != "" || p.User != nil {
		return "/flows"
	}
	return next
}

// loginLimiter counts wrong keys per address: after loginFailures within
// loginWindow, that address waits out the window.
type loginLimiter struct {
	mu sync.Mutex
	m  map[string]*loginFails
}

type loginFails struct {
	n     int
	since time.Time
}

const (
	loginFailures = 10
	loginWindow   = 15 * time.Minute
	maxLoginAddrs = 1 << 14
)

func newLoginLimiter() *loginLimiter { return &loginLimiter{m: map[string]*loginFails{}} }

// blocked says how long addr must wait, or 0.
func (l *loginLimiter) blocked(addr string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.m[addr]
	if f == nil {
		return 0
	}
	if now.Sub(f.since) >= loginWindow {
		delete(l.m, addr)
		return 0
	}
	if f.n < loginFailures {
		return 0
	}
	return loginWindow - now.Sub(f.since)
}

func (l *loginLimiter) failed(addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.m) >= maxLoginAddrs { // a flood: forget the windows that ended
		for a, f := range l.m {
			if now.Sub(f.since) >= loginWindow {
				delete(l.m, a)
			}
		}
	}
	f := l.m[addr]
	if f == nil || now.Sub(f.since) >= loginWindow {
		if len(l.m) >= maxLoginAddrs {
			return
		}
		f = &loginFails{since: now}
		l.m[addr] = f
	}
	f.n++
}
