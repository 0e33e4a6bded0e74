package web

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/api"
	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/provider/console"
	"github.com/smsflow/smsflow/report"
)

//go:embed templates/*.html
var templateFS embed.FS

// Deps are the parts the web UI reads and acts through: the same ones the
// HTTP API gets (api.Deps), so that every number the UI shows comes from
// the code that answers the API.
type Deps struct {
	Config  config.Config
	DB      Store
	Clock   smsflow.Clock
	Log     *slog.Logger
	Catalog *engine.Catalog
	Engine  *engine.Engine
	Writer  *ingest.Writer
	Sender  *delivery.Sender
	Console *console.Console // nil unless the console provider is in use
	// AdminKey opens the UI at /login; sessions are signed with a key
	// derived from it, so changing it ends every session.
	AdminKey string
	// Keys, when set, holds the API keys in force instead of AdminKey: the
	// settings page rotates them, and a new admin key ends every session
	// (D94).
	Keys *api.Keyring
	// Webhooks are the provider's webhook paths served next to the API,
	// for the settings page (public_url in front).
	Webhooks []string
}

// UI is the web UI's handler.
type UI struct {
	Deps
	mux      *http.ServeMux
	pages    map[string]*template.Template
	sessions sessionKeys
	signed   atomic.Pointer[signedBy] // sessionKeys of the keyring's admin key
	logins   *loginLimiter
	secure   bool                                // cookies get Secure: public_url is https
	figs     reportCache[map[string]flowFigures] // the flows list's figures (figures.go)
	programs reportCache[*report.ProgramReport]  // the program page's reports (cache.go)
	// segmentPrice prices a segment in the reports, as the API's.
	segmentPrice float64
	live         liveStreams // the live console's event streams (inbox.go)
	// base is canceled by Stop: background work (the figures' refresh)
	// runs under it, and Stop waits for it in background.
	base       context.Context
	cancel     context.CancelFunc
	background sync.WaitGroup
}

// Paths are the URL patterns the UI answers; smsflow serve mounts the UI
// on them next to the API (which keeps /v1/, /healthz, /readyz, /metrics,
// /l/ and the provider webhooks).
var Paths = []string{"/{$}", "/login", "/logout", "/flows", "/flows/", "/contacts", "/contacts/",
	"/messages", "/messages/", "/inbox", "/inbox/", "/program", "/settings", "/settings/", "/static/"}

// Mount registers ui on mux under Paths.
func Mount(mux *http.ServeMux, ui http.Handler) {
	for _, p := range Paths {
		mux.Handle(p, ui)
	}
}

// New builds the UI: templates parsed, routes registered (routes.go).
func New(d Deps) *UI {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	u := &UI{Deps: d, mux: http.NewServeMux(), pages: map[string]*template.Template{},
		sessions: newSessionKeys(d.AdminKey), logins: newLoginLimiter()}
	u.base, u.cancel = context.WithCancel(context.Background())
	u.loadPages()
	u.segmentPrice, _ = report.ParseSegmentPrice(d.Config.SegmentPrice) // config.Check read it already
	if pu, err := url.Parse(d.Config.PublicURL); err == nil && pu.Scheme == "https" {
		u.secure = true
	}
	for _, r := range routes(u) {
		h := r.handler
		if !r.public {
			h = u.requireSession(h)
		}
		u.mux.Handle(r.pattern, u.checkCSRF(h, r.public))
	}
	return u
}

// Stop ends the UI's background work — a figures refresh under way stops
// reading and is waited for — and its live console streams (Close), so
// nothing reads the database after smsflow serve closes it. Call it after
// the HTTP server has shut down; safe to call twice.
func (u *UI) Stop() {
	u.Close()
	u.cancel()
	// A computation starts under its cache's lock only while base is live:
	// once these are taken and released none starts, and Wait sees them all.
	u.figs.mu.Lock()
	u.figs.mu.Unlock()
	u.programs.mu.Lock()
	u.programs.mu.Unlock()
	u.background.Wait()
}

// ServeHTTP sets the security headers every UI response carries, and turns
// a panic in a page into a logged 500 page.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			u.Log.Error("panic in web page", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			u.fail(w, r, http.StatusInternalServerError, "Something went wrong on our side; the log says what.")
		}
	}()
	u.mux.ServeHTTP(w, r)
}

// CSP is the Content-Security-Policy of every UI response: scripts and
// styles only from our own files (no inline script or style), no framing.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"

// page is what the layout gets: the page's own data in Data.
type page struct {
	Title string
	Nav   string // the nav entry to mark as current ("flows", "contacts", …)
	CSRF  string // the session's CSRF token; empty on /login
	// Flash is a one-line notice above the content (e.g. "Flow paused").
	Flash string
	Data  any
}

// funcs are the helpers every template may call.
var funcs = template.FuncMap{
	"asset":     assetURL,
	"sparkline": sparkline,
	"pct":       pct,
	"num":       num,
	"money":     money,
	"path":      url.PathEscape, // one path segment from data: /contacts/{{path .ID}}
	"consumed":  consumedBy,
	// The words of a page whose numbers are still being computed (pending.go).
	"figuresPending": func() string { return FiguresPending },
	"programPending": func() string { return ProgramPending },
}

// consumedBy says in words what took an inbound text (Message.ConsumedBy),
// "" when nothing did: the inbox thread shows why a text is not in the
// inbox.
func consumedBy(by string) string {
	kind, rest, _ := strings.Cut(by, ":")
	switch {
	case kind == "keyword" && rest == "revocation":
		return "taken as an opt-out (a STOP in other words)"
	case kind == "keyword" && rest != "":
		return "answered as the " + strings.ToUpper(rest) + " keyword"
	case kind == "flow" && rest != "":
		if flow, step, ok := strings.Cut(rest, "/"); ok {
			return "taken by flow " + flow + " (step " + step + ")"
		}
		return "started flow " + rest
	}
	return ""
}

// parsePage parses the layout with one page's template.
func parsePage(name string) (*template.Template, error) {
	return template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
}

// render writes a page with the layout; the page's template is
// templates/NAME.html and defines "content".
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, err := u.page(name)
	if err != nil {
		u.Log.Error("render page", "page", name, "err", err)
		u.fail(w, r, http.StatusInternalServerError, "This page could not be drawn; the log says why.")
		return
	}
	if s := sessionFrom(r); s != nil && p.CSRF == "" {
		p.CSRF = u.sessionKeys().csrf(s)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		u.Log.Error("render page", "page", name, "err", err)
		u.fail(w, r, http.StatusInternalServerError, "This page could not be drawn; the log says why.")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fail answers with a small error page that says what to do.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	t, err := u.page("error")
	if err != nil {
		http.Error(w, msg, status)
		return
	}
	var buf bytes.Buffer
	p := page{Title: http.StatusText(status), Data: msg}
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// page returns a parsed page template (parsed at start-up by loadPages).
func (u *UI) page(name string) (*template.Template, error) {
	if t, ok := u.pages[name]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("no page %q", name)
}

// loadPages parses every page template once, at New; a broken template
// fails the tests (TestTemplatesParse), never a request.
func (u *UI) loadPages() {
	names, _ := fs.Glob(templateFS, "templates/*.html")
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := parsePage(name)
		if err != nil {
			panic(fmt.Sprintf("web: template %s: %v", name, err))
		}
		u.pages[name] = t
	}
}
