package web

import "net/http"

// settings is a stub: its owner replaces it with the real page.
func (u *UI) settings(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, http.StatusOK, "settings", page{Title: "Settings", Nav: "settings"})
}
