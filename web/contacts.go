package web

import "net/http"

// contacts is a stub: its owner replaces it with the real page.
func (u *UI) contacts(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, http.StatusOK, "contacts", page{Title: "Contacts", Nav: "contacts"})
}
