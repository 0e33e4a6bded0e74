package web

import "net/http"

// messages is a stub: its owner replaces it with the real page.
func (u *UI) messages(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, http.StatusOK, "messages", page{Title: "Messages", Nav: "messages"})
}
