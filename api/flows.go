package api

import (
	"net/http"
	"strings"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/store"
)

// flowView is the JSON of a flow.
type flowView struct {
	ID       string `json:"id"`
	Name     string `json:"name,omitempty"`
	Category string `json:"category,omitempty"`
	Priority int    `json:"priority,omitempty"`
	Trigger  string `json:"trigger,omitempty"`
	Version  int    `json:"version"`
	Status   string `json:"status"` // active, paused, held (this node runs nothing of it) or archived
	// HeldReason says why a held flow is held: "no live node has loaded
	// flows/welcome.yaml", "bundled example; the provider is twilio".
	HeldReason string `json:"held_reason,omitempty"`
	// LoadedBy names the live nodes that loaded a file flow.
	LoadedBy  []string `json:"loaded_by,omitempty"`
	Origin    string   `json:"origin"`
	File      string   `json:"file,omitempty"`
	UpdatedAt string   `json:"updated_at"`
	Source    string   `json:"source,omitempty"`
}

func (s *Server) flowView(h store.FlowHead, withSource bool) flowView {
	v := flowView{ID: h.ID, Version: h.Version, Status: h.Status, Origin: h.Origin, File: h.File, UpdatedAt: h.UpdatedAt.Format("2006-01-02T15:04:05Z07:00"),
		HeldReason: s.Catalog.HeldReason(h.ID)}
	if h.Origin != engine.OriginAPI {
		v.LoadedBy = s.Catalog.LoadedBy(h.ID)
	}
	if comp, err := s.Catalog.Version(s.ctxBG(), h.ID, h.Version); err == nil {
		v.Name, v.Category, v.Priority = comp.Name, string(comp.Category), comp.Priority
		v.Trigger = string(comp.Trigger.Kind)
		if comp.Trigger.Event != "" {
			v.Trigger += ": " + comp.Trigger.Event
		}
	}
	if withSource {
		v.Source = h.Source
	}
	return v
}

// listFlows lists the flows that are not archived, with the status this
// node acts on; ?status=active|paused|held|archived lists those only.
func (s *Server) listFlows(w http.ResponseWriter, r *http.Request) {
	want := r.URL.Query().Get("status")
	switch want {
	case "", engine.FlowActive, engine.FlowPaused, engine.FlowHeld, engine.FlowArchived:
	default:
		s.writeError(w, r, smsflow.FieldErrorf(smsflow.EINVALID, "status", "status must be active, paused, held or archived"))
		return
	}
	out := []flowView{}
	for _, h := range s.Catalog.Heads() {
		if (want == "" && h.Status != engine.FlowArchived) || h.Status == want {
			out = append(out, s.flowView(h, false))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"flows": out})
}

func (s *Server) head(w http.ResponseWriter, r *http.Request) (store.FlowHead, bool) {
	h, ok := s.Catalog.Head(r.PathValue("id"))
	if !ok || h.Status == engine.FlowArchived {
		s.writeError(w, r, smsflow.Errorf(smsflow.ENOTFOUND, "no flow %q", r.PathValue("id")))
		return h, false
	}
	return h, true
}

func wantsYAML(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return r.URL.Query().Get("format") == "yaml" || strings.Contains(a, "yaml")
}

func (s *Server) getFlow(w http.ResponseWriter, r *http.Request) {
	h, ok := s.head(w, r)
	if !ok {
		return
	}
	if wantsYAML(r) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write([]byte(h.Source))
		return
	}
	writeJSON(w, http.StatusOK, s.flowView(h, true))
}

// putFlow creates or edits a flow through the API. It is validated exactly
// like `smsflow validate`; a new flow starts paused; an identical body makes
// no new version; a flow loaded from a file answers 409.
func (s *Server) putFlow(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r, flow.MaxFileSize, "a flow")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	before, existed := s.Catalog.Head(r.PathValue("id"))
	head, problems, err := s.Catalog.Save(r.Context(), r.PathValue("id"), body, s.clock.Now())
	if err != nil {
		status := http.StatusBadRequest
		if smsflow.ErrorCode(err) != smsflow.EINVALID {
			s.writeError(w, r, err)
			return
		}
		var b errorBody
		b.Error.Code, b.Error.Message, b.Error.Field = smsflow.ErrorCode(err), smsflow.ErrorMessage(err), smsflow.ErrorField(err)
		writeJSON(w, status, map[string]any{"error": b.Error, "problems": problemLines(problems)})
		return
	}
	created := !existed || before.Version != head.Version || before.Status == engine.FlowArchived
	status := http.StatusOK
	if !existed {
		status = http.StatusCreated
	}
	writeJSON(w, status, map[string]any{"flow": s.flowView(head, false), "new_version": created, "warnings": problemLines(problems)})
}

func problemLines(ps []flow.Problem) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

// deleteFlow archives an API flow or a held file flow: its runs end
// (flow_archived), its queued messages are canceled
// (canceled:flow_archived), its reports stay. A file flow a live node has
// loaded answers 409 naming the file.
func (s *Server) deleteFlow(w http.ResponseWriter, r *http.Request) {
	h, ok := s.head(w, r)
	if !ok {
		return
	}
	res, err := s.Catalog.Archive(r.Context(), h.ID, s.clock.Now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": h.ID, "status": engine.FlowArchived, "runs_ended": res.Runs, "messages_canceled": res.Messages})
}

func (s *Server) flowStatus(status string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h, ok := s.head(w, r)
		if !ok {
			return
		}
		if err := s.db.SetFlowStatus(r.Context(), h.ID, status, s.clock.Now()); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := s.Catalog.Load(r.Context()); err != nil {
			s.writeError(w, r, err)
			return
		}
		h, _ = s.Catalog.Head(h.ID)
		writeJSON(w, http.StatusOK, s.flowView(h, false))
	}
}
