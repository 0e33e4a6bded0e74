package web

import "net/http"

// editor is a stub: its owner replaces it with the real page.
func (u *UI) editor(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, http.StatusOK, "editor", page{Title: "Editor", Nav: "flows"})
}
