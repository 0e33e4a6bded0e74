package web

import "net/http"

// inbox is a stub: its owner replaces it with the real page.
func (u *UI) inbox(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, http.StatusOK, "inbox", page{Title: "Inbox", Nav: "inbox"})
}
