package web

import "net/http"

// route is one line of the UI's routing table.
type route struct {
	pattern string
	handler http.Handler
	public  bool // served without a session (login, static files)
}

// routes is the UI's one routing table: one line per route. A page behind
// the login gets its session and CSRF checks from New; mark only what a
// logged-out browser must reach as public.
func routes(u *UI) []route {
	f := func(pattern string, h http.HandlerFunc) route { return route{pattern: pattern, handler: h} }
	pub := func(pattern string, h http.Handler) route { return route{pattern: pattern, handler: h, public: true} }
	return []route{
		pub("GET /static/", u.static()),
		pub("GET /login", http.HandlerFunc(u.loginForm)),
		pub("POST /login", http.HandlerFunc(u.login)),
		f("POST /logout", u.logout),
		f("GET /{$}", u.home),

		// flows (list: flows.go; one flow: flow.go; editor: editor.go)
		f("GET /flows", u.flows),
		f("POST /flows/{id}/pause", u.pauseFlow),
		f("POST /flows/{id}/resume", u.resumeFlow),
		f("GET /flows/{id}", u.flow),
		f("GET /flows/{id}/report.csv", u.flowCSV),
		f("GET /flows/{id}/edit", u.editor),
		f("POST /flows/{id}/edit", u.saveFlow),
		f("GET /flows/new", u.newFlow),
		f("POST /flows/new", u.createFlow),
		f("POST /flows/check", u.checkFlow),

		// contacts (contacts.go), messages (messages.go), inbox (inbox.go)
		f("GET /contacts", u.contacts),
		f("GET /contacts/{id}", u.contact),
		f("GET /messages", u.messages),
		f("POST /messages/resend", u.resendUnknown),
		f("POST /messages/give-up", u.giveUpUnknown),
		f("GET /inbox", u.inbox),
		f("GET /inbox/events", u.consoleEvents),
		f("GET /inbox/{contact}", u.thread),
		f("POST /inbox/{contact}/reply", u.reply),
		f("POST /inbox/{contact}/inbound", u.consoleInbound),
		f("GET /program", u.program),
		f("GET /settings", u.settings),
		f("POST /settings/keys/{name}/rotate", u.rotateKey),

		// anything else under the UI's paths
		f("/", u.notFound),
	}
}

func (u *UI) home(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/flows", http.StatusSeeOther)
}

func (u *UI) notFound(w http.ResponseWriter, r *http.Request) {
	u.fail(w, r, http.StatusNotFound, "There is no page at "+r.URL.Path+". The menu above lists the pages.")
}
