// Package web is smsflow's web UI (issue 20, D92): server-rendered pages
// under a strict Content-Security-Policy, served by `smsflow serve` on the
// API's port. cmd/smsflow mounts it with web.Mount on the paths in Paths;
// the API keeps /v1/, /healthz, /readyz, /metrics, /l/ and the webhooks.
//
// # Adding a page
//
// One page is one Go file and one template: web/PAGE.go and
// web/templates/PAGE.html (the flows list is flows.go; one flow is flow.go;
// the editor editor.go; contacts.go, messages.go, inbox.go, program.go,
// settings.go). Each nav entry has a stub ("Contacts: coming"): replace the
// stub's handler and template. Add the page's routes to the one list in
// routes.go, one line per route, e.g.
//
//	f("GET /contacts/{id}", u.contact),
//	f("POST /inbox/{contact}/reply", u.reply),
//
// f routes need a session (a logged-out browser is sent to /login?next=…)
// and, for every method but GET/HEAD/OPTIONS, the CSRF token: both are
// checked before the handler runs. Only the login and the static files are
// public (pub). A new top-level path (say /reports) must also be added to
// Paths, or the API answers it.
//
// # The layout
//
// templates/layout.html is every page's frame: head, nav, <main>. A page's
// template defines "content" and reads its own data as .Data:
//
//	{{define "content"}}<h1>Contacts</h1>{{range .Data.Contacts}}…{{end}}{{end}}
//
// The handler renders it with
//
//	u.render(w, r, http.StatusOK, "contacts", page{Title: "Contacts", Nav: "contacts", Data: d})
//
// (Nav marks the current nav entry; Flash is a one-line notice). render
// sets Cache-Control: no-store; every UI response gets the security
// headers (CSP, nosniff, Referrer-Policy) in UI.ServeHTTP. Errors: u.fail(w,
// r, status, "a sentence a person can act on") draws the error page; never
// show an error's Go text, log it (slog, phone numbers masked).
// Templates may call asset, sparkline, pct, num and money (web.go funcs).
//
// Templates are parsed once at New from the embedded templates/*.html;
// TestTemplatesParse fails on a broken one, so add your page's name there.
//
// # No inline script, no inline style
//
// The CSP is script-src 'self'; style-src 'self': no <script> blocks, no
// onclick=, no style= attributes (SVG presentation attributes such as
// fill= and stroke= are fine). Behaviour goes in static/app.js (attach by
// class or data- attribute; data-confirm="…" asks before a click), looks in
// static/app.css (classes). Link static files with {{asset "app.css"}}: the
// URL carries a content hash, so they are cached for a year.
//
// htmx (static/vendor/htmx.min.js, vendored from npm, 0BSD) is loaded on
// every page, configured in the layout for the CSP (no eval, no indicator
// styles, same-origin requests only). Use hx-get/hx-post for partial
// updates; a handler can answer a fragment by executing a named template of
// its page ({{define "rows"}}…) instead of the layout.
//
// # CSRF
//
// Every form that posts includes the token: {{template "csrf" $}} (a
// hidden input named csrf). htmx and fetch requests send it as the
// X-CSRF-Token header: app.js adds it to every htmx request and
// window.smsflow.fetch(url, opts) adds it to a fetch; the token is in
// <meta name="csrf-token">. A missing or wrong token is refused with 403
// and a readable message; so is a request whose Origin or Sec-Fetch-Site
// says it came from another site.
//
// # Sessions and the login
//
// /login takes the admin key and sets a signed session cookie (session.go:
// HttpOnly, SameSite=Lax, Secure when public_url is https; 12 h sliding,
// 7 days at most). The signing key is derived from the admin key, so
// changing the admin key ends every session. /logout records the session
// in web_logouts (D100), which readSession checks once per request, so a
// copied cookie dies with the logout. The admin-key form is one
// handler pair (login.go); when user accounts come it moves to /login/key
// as the break-glass way in, by changing its route lines.
//
// # Data access
//
// Pages read through the same code the API uses: the report package
// (report.Store), the engine's catalog (u.Catalog: heads, versions,
// compiled flows), and the database through the Store interface in
// store.go (D85). To read or write something new, add the *store.DB
// method's signature to Store; internal/storeuse (TestStorageDeclaredInStoreGo)
// fails if a page names store.DB or store.Tx. Never call the JSON API over
// HTTP from a page.
//
// # Charts
//
// Charts are SVG drawn in Go (svg.go: sparkline; add line and bar charts
// there), not a JavaScript chart library: they need no script, pass the
// CSP and render in the browser tests' screenshots. Only numbers go into
// the markup; labels go through html/template.HTMLEscapeString.
//
// # Browser tests
//
// internal/browsertest starts the real binary (console provider, bundled
// example flows) on SQLite and, when SMSFLOW_TEST_POSTGRES is set,
// PostgreSQL, and drives headless Chromium with chromedp (v0.23: generic
// actions, typed selectors such as chromedp.CSS and chromedp.ID). It skips
// with a message where Chromium is absent. In web's tests (TestMain calls
// browsertest.Main):
//
//	browsertest.Each(t, func(t *testing.T, ui *browsertest.UI) {
//		ui.Login(t)
//		ui.Open(t, "/contacts")
//		ui.Do(t, chromedp.SendKeys(chromedp.ID("q"), "(415) 555-0100"))
//		ui.Follow(t, chromedp.Submit(chromedp.ID("q")))                     // waits for the next page: use it for every click or submit that loads one
//		got := ui.Text(t, "#timeline")                                        // visible text of a CSS selector
//		n := browsertest.Eval[int](t, ui, `document.querySelectorAll("img").length`)
//		ui.API(t, "GET", "/v1/flows", nil, &out)                              // the JSON API, admin key
//		ui.Screenshot(t, "contacts")  // NAME-1280.png and NAME-390.png
//		ui.Axe(t)                     // fails on serious or critical axe-core violations
//		ui.NoConsoleErrors(t)         // nothing logged as an error (CSP violations are)
//	})
//
// Screenshots go to $SMSFLOW_SCREENSHOTS_DIR (default
// $TMPDIR/smsflow-screenshots/DB/); SMSFLOW_UPDATE_SCREENSHOTS=1 also
// copies the SQLite run's to docs/screenshots/, which the README shows.
// Seed data through the API or ingestion (ui.API, ui.WriteKey) like a
// client would; use browsertest.StartServer for a server with its own
// smsflow.yaml or flows directory.
package web
