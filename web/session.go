package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// A session is a signed cookie (D92): nothing is stored on the server for
// a live session, so it survives restarts and works on every node sharing
// the database. Its signing key is derived from the admin key: changing the
// admin key ends every session. Logging out records the session's id in
// web_logouts (D100), which every request with a session checks, so a
// copy of the cookie dies with the logout.

const (
	// SessionCookie is the session cookie's name.
	SessionCookie = "smsflow_session"
	// SessionIdle is how long a session lasts without a request (sliding).
	SessionIdle = 12 * time.Hour
	// SessionMax is how long a session lasts at most after logging in.
	SessionMax = 7 * 24 * time.Hour
	// sessionRefresh is how old a cookie gets before a request renews its
	// expiry: not every request needs a new Set-Cookie.
	sessionRefresh = 10 * time.Minute
)

// session is a logged-in browser.
type session struct {
	ID      string    // random, 32 bytes in hex; binds the CSRF token
	Started time.Time // login: SessionMax counts from here
	Expires time.Time
}

type sessionKeys struct {
	sign []byte // empty: no admin key, nobody logs in
}

func newSessionKeys(adminKey string) sessionKeys {
	if adminKey == "" {
		return sessionKeys{}
	}
	m := hmac.New(sha256.New, []byte(adminKey))
	m.Write([]byte("smsflow web session v1"))
	return sessionKeys{sign: m.Sum(nil)}
}

func (k sessionKeys) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, k.sign)
	m.Write([]byte(strings.Join(parts, "|")))
	return m.Sum(nil)
}

// newSession starts a session at now.
func newSession(now time.Time) *session {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return &session{ID: hex.EncodeToString(b), Started: now, Expires: now.Add(SessionIdle)}
}

// encode is the cookie value: the session's fields and their signature.
func (k sessionKeys) encode(s *session) string {
	payload := "v1|" + s.ID + "|" + strconv.FormatInt(s.Started.Unix(), 10) + "|" + strconv.FormatInt(s.Expires.Unix(), 10)
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(k.mac("session", payload))
}

// decode checks a cookie value's signature and expiry; nil when it is not
// a live session of this admin key.
func (k sessionKeys) decode(v string, now time.Time) *session {
	if len(k.sign) == 0 || len(v) > 512 {
		return nil
	}
	p64, m64, ok := strings.Cut(v, ".")
	if !ok {
		return nil
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	mac, err2 := base64.RawURLEncoding.DecodeString(m64)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, k.mac("session", string(payload))) {
		return nil
	}
	f := strings.Split(string(payload), "|")
	if len(f) != 4 || f[0] != "v1" || len(f[1]) != 64 {
		return nil
	}
	started, err1 := strconv.ParseInt(f[2], 10, 64)
	expires, err2 := strconv.ParseInt(f[3], 10, 64)
	if err1 != nil || err2 != nil {
		return nil
	}
	s := &session{ID: f[1], Started: time.Unix(started, 0), Expires: time.Unix(expires, 0)}
	if !now.Before(s.Expires) || !now.Before(s.Started.Add(SessionMax)) {
		return nil
	}
	return s
}

// csrf is the session's CSRF token: a signature of its id, so it needs no
// storage and is worthless without the cookie it belongs to.
func (k sessionKeys) csrf(s *session) string {
	return base64.RawURLEncoding.EncodeToString(k.mac("csrf", s.ID))
}

// csrfOK reports whether tok is s's CSRF token.
func (k sessionKeys) csrfOK(s *session, tok string) bool {
	return tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(k.csrf(s))) == 1
}

type sessionCtxKey struct{}

func sessionFrom(r *http.Request) *session {
	s, _ := r.Context().Value(sessionCtxKey{}).(*session)
	return s
}

func (u *UI) now() time.Time {
	if u.Clock != nil {
		return u.Clock.Now()
	}
	return time.Now()
}

// readSession returns the request's live session, or nil (see
// cookieSession); it is looked up once per request.
func (u *UI) readSession(r *http.Request) *session {
	if s := sessionFrom(r); s != nil {
		return s // checked once per request
	}
	return u.cookieSession(r)
}

// sessionLive says whether the cookie a long request (the live console's
// stream) came with is still a live session, looked up again: a rotation
// of the admin key, the session's end or a logout since it started ends it.
func (u *UI) sessionLive(r *http.Request) bool {
	return u.cookieSession(r) != nil
}

// cookieSession reads the request's session cookie: a session signed with
// the current admin key, unexpired, that did not log out, or nil. When the
// logouts cannot be read it answers nil (the login page) rather than risk
// letting a logged-out cookie in.
func (u *UI) cookieSession(r *http.Request) *session {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil
	}
	s := u.sessionKeys().decode(c.Value, u.now())
	if s == nil || u.DB == nil {
		return s
	}
	out, err := u.DB.SessionLoggedOut(r.Context(), s.hash())
	if err != nil {
		u.Log.Warn("web: could not check the session against the logouts; treated as logged out", "err", err)
		return nil
	}
	if out {
		return nil
	}
	return s
}

// hash is what web_logouts stores of a session: its id's SHA-256, so the
// table holds nothing a cookie could be made from.
func (s *session) hash() string {
	h := sha256.Sum256([]byte(s.ID))
	return hex.EncodeToString(h[:])
}

// endSession records that s logged out, until the latest its cookie
// could be live.
func (u *UI) endSession(r *http.Request, s *session) error {
	if s == nil || u.DB == nil {
		return nil
	}
	return u.DB.LogOut(r.Context(), s.hash(), s.Started.Add(SessionMax), u.now())
}

// setSession writes the session cookie: HttpOnly, SameSite=Lax, Secure
// when public_url is https.
func (u *UI) setSession(w http.ResponseWriter, s *session) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: u.sessionKeys().encode(s), Path: "/",
		Expires: s.Expires, HttpOnly: true, Secure: u.secure, SameSite: http.SameSiteLaxMode})
}

// clearSession removes the session cookie.
func (u *UI) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: u.secure, SameSite: http.SameSiteLaxMode})
}

// requireSession lets a request through with a live session (renewing its
// expiry now and then); without one, a page request goes to /login with
// the page to come back to, an htmx request is told to go there.
func (u *UI) requireSession(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := u.readSession(r)
		if s == nil {
			next := r.URL.Path
			if r.URL.RawQuery != "" {
				next += "?" + r.URL.RawQuery
			}
			to := "/login?next=" + url.QueryEscape(next)
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				to = "/login"
			}
			if r.Header.Get("HX-Request") != "" {
				w.Header().Set("HX-Redirect", to)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		now := u.now()
		if s.Expires.Sub(now) < SessionIdle-sessionRefresh {
			s.Expires = now.Add(SessionIdle)
			u.setSession(w, s)
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionCtxKey{}, s)))
	})
}
