package web

import "net/http"

// program is a stub: its owner replaces it with the real page.
func (u *UI) program(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, http.StatusOK, "program", page{Title: "Program", Nav: "program"})
}
