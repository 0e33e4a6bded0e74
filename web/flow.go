package web

import "net/http"

// flow is a stub: its owner replaces it with the real page.
func (u *UI) flow(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, http.StatusOK, "flow", page{Title: "Flow", Nav: "flows"})
}
