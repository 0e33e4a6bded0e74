package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// maxForm bounds a UI request's body: a form or a flow's YAML.
const maxForm = 4 << 20

// CSRFField and CSRFHeader carry the session's CSRF token: the hidden
// form field every form has ({{template "csrf" .}}) and the header app.js
// adds to every htmx or fetch request (from <meta name="csrf-token">).
const (
	CSRFField  = "csrf"
	CSRFHeader = "X-CSRF-Token"
)

// checkCSRF refuses a state-changing request (any method but GET, HEAD,
// OPTIONS) sent from another site, and, on a page behind the login, one
// without the session's CSRF token. public pages (/login) have no session
// yet: only where the request comes from is checked.
func (u *UI) checkCSRF(h http.Handler, public bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			h.ServeHTTP(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if msg := u.crossSite(r); msg != "" {
			u.fail(w, r, http.StatusForbidden, msg)
			return
		}
		if !public {
			s := u.readSession(r)
			if s == nil {
				h.ServeHTTP(w, r) // requireSession sends it to /login
				return
			}
			tok := r.Header.Get(CSRFHeader)
			if tok == "" {
				tok = r.PostFormValue(CSRFField)
			}
			if !u.sessionKeys().csrfOK(s, tok) {
				u.fail(w, r, http.StatusForbidden, "This form is out of date or was not sent from this site (its security token is missing or wrong). Reload the page and try again.")
				return
			}
			// requireSession reads it from here: one logout check per request.
			r = r.WithContext(context.WithValue(r.Context(), sessionCtxKey{}, s))
		}
		h.ServeHTTP(w, r)
	})
}

// crossSite says why a state-changing request comes from another site,
// by the headers browsers set (Sec-Fetch-Site, Origin), or "" when it does
// not. Clients that send neither (curl) are judged by the token alone.
func (u *UI) crossSite(r *http.Request) string {
	const msg = "This request came from another site, so it was refused. Open smsflow's own page and try again there."
	if sfs := r.Header.Get("Sec-Fetch-Site"); sfs != "" && sfs != "same-origin" && sfs != "none" {
		return msg
	}
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" && r.Header.Get("Sec-Fetch-Site") == "same-origin" {
		return ""
	}
	o, err := url.Parse(origin)
	if err != nil || o.Host == "" {
		return msg
	}
	if strings.EqualFold(o.Host, r.Host) {
		return ""
	}
	if pu, err := url.Parse(u.Config.PublicURL); err == nil && pu.Host != "" && strings.EqualFold(o.Host, pu.Host) {
		return ""
	}
	return msg
}
