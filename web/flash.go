package web

import (
	"net/http"
	"unicode/utf8"
)

// flash is the one-line notice after a form's redirect (post, redirect,
// get): ?done=VERB&flow=ID says "Flow ID VERB." Only known verbs are
// shown, and the id is escaped by the template like any text.
func flash(r *http.Request) string {
	q := r.URL.Query()
	id := q.Get("flow")
	if len(id) > 200 || !utf8.ValidString(id) {
		return ""
	}
	switch v := q.Get("done"); v {
	case "paused", "resumed", "saved":
		return "Flow " + id + " " + v + "."
	}
	return ""
}
