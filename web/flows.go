package web

import (
	"net/http"
	"net/url"

	"github.com/smsflow/smsflow/engine"
)

// flowRow is one line of the flows list.
type flowRow struct {
	ID, Name, Status, Category string
	HeldReason                 string
	Version, Priority          int
	Origin                     string
	CanPause, CanResume        bool
	Figures                    *flowFigures // nil: not computed yet
}

type flowsData struct {
	Flows []flowRow
	// FiguresAt is when the figures were computed (zero: not yet).
	FiguresAt string
}

// flows lists the flows that are not archived, as GET /v1/flows does.
func (u *UI) flows(w http.ResponseWriter, r *http.Request) {
	var d flowsData
	if u.Catalog == nil { // a UI built without the engine (tests of the login)
		u.render(w, r, http.StatusOK, "flows", page{Title: "Flows", Nav: "flows", Data: d})
		return
	}
	figs, at := u.figures(r.Context())
	if !at.IsZero() {
		d.FiguresAt = at.UTC().Format("15:04:05 UTC")
	}
	for _, h := range u.Catalog.Heads() {
		if h.Status == engine.FlowArchived {
			continue
		}
		row := flowRow{ID: h.ID, Name: h.ID, Status: h.Status, Version: h.Version, Origin: h.Origin, HeldReason: u.Catalog.HeldReason(h.ID)}
		if comp, err := u.Catalog.Version(r.Context(), h.ID, h.Version); err == nil {
			if comp.Name != "" {
				row.Name = comp.Name
			}
			row.Category, row.Priority = string(comp.Category), comp.Priority
		}
		row.CanPause = h.Status == engine.FlowActive || h.Status == engine.FlowHeld
		row.CanResume = h.Status == engine.FlowPaused
		if f, ok := figs[h.ID]; ok {
			row.Figures = &f
		}
		d.Flows = append(d.Flows, row)
	}
	u.render(w, r, http.StatusOK, "flows", page{Title: "Flows", Nav: "flows", Flash: flash(r), Data: d})
}

func (u *UI) pauseFlow(w http.ResponseWriter, r *http.Request) {
	u.setFlowStatus(w, r, engine.FlowPaused)
}
func (u *UI) resumeFlow(w http.ResponseWriter, r *http.Request) {
	u.setFlowStatus(w, r, engine.FlowActive)
}

// setFlowStatus pauses or resumes a flow as POST /v1/flows/{id}/pause and
// /resume do, then goes back to the list.
func (u *UI) setFlowStatus(w http.ResponseWriter, r *http.Request, status string) {
	h, ok := u.Catalog.Head(r.PathValue("id"))
	if !ok || h.Status == engine.FlowArchived {
		u.fail(w, r, http.StatusNotFound, "There is no flow "+r.PathValue("id")+".")
		return
	}
	if err := u.DB.SetFlowStatus(r.Context(), h.ID, status, u.now()); err != nil {
		u.Log.Error("web: set flow status", "flow", h.ID, "err", err)
		u.fail(w, r, http.StatusInternalServerError, "The flow's status could not be changed; the log says why.")
		return
	}
	if err := u.Catalog.Load(r.Context()); err != nil {
		u.Log.Error("web: reload flows", "err", err)
	}
	verb := "resumed"
	if status == engine.FlowPaused {
		verb = "paused"
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/flows?done="+verb+"&flow="+url.QueryEscape(h.ID), http.StatusSeeOther)
}
