package web

import (
	"bytes"
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/store"
)

// The editor (D94): a flow's YAML in a textarea, checked as you type by
// the validator `smsflow validate` and PUT /v1/flows/{id} use (flow.Parse
// with engine.ValidateOptions and the configured senders), every send
// step previewed for a sample contact (editor_preview.go). Saving makes a
// new version exactly as PUT /v1/flows/{id} does (engine.Catalog.Save):
// an API flow stays paused until resumed. A flow loaded from a file or the
// bundled examples is read-only here: its file is the source of truth.

// editorData is the editor page's data.
type editorData struct {
	ID       string // "" for a new flow
	New      bool
	Version  int
	Status   string
	Origin   string
	File     string
	ReadOnly bool
	YAML     string
	Traits   []trait
	Checks   checks
	// Error is why the last save was refused, in words.
	Error string
}

// trait is one editable trait of the sample contact.
type trait struct{ Key, Value string }

// checks are what the validator and the previews say about a YAML text:
// the fragment the page redraws as you type.
type checks struct {
	Problems []problem
	Errors   int
	Warnings int
	Previews []preview
	// NoPreview says why no step is previewed ("" when Previews says it).
	NoPreview string
}

// problem is one finding of the validator, at its line and column.
type problem struct {
	Line, Col int
	Severity  string
	Message   string
}

// newFlowYAML is the starting text of a new flow.
const newFlowYAML = `id: my-flow
name: My flow
category: behavior
trigger:
  event: Signed Up
steps:
  - id: hello
    send: "Hi {{ contact.traits.first_name | default: \"there\" }}, thanks for signing up!"
`

func (u *UI) editor(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	h, ok := u.Catalog.Head(id)
	if !ok || h.Status == engine.FlowArchived {
		u.fail(w, r, http.StatusNotFound, "There is no flow "+id+". The flows list shows the ones there are.")
		return
	}
	src, _, err := u.DB.FlowSource(r.Context(), h.ID, h.Version)
	if err != nil {
		u.Log.Error("web: read flow source", "flow", h.ID, "err", err)
		u.fail(w, r, http.StatusInternalServerError, "The flow's definition could not be read; the log says why.")
		return
	}
	d := u.editorFor(h.ID, src, sampleTraits())
	d.Version, d.Status, d.Origin, d.File = h.Version, h.Status, h.Origin, h.File
	d.ReadOnly = h.Origin == engine.OriginFile || h.Origin == engine.OriginExample
	flash := ""
	if v := r.URL.Query().Get("saved"); v != "" {
		flash = "Saved as version " + v + ". The flow is paused until you resume it (Flows → Resume)."
		if r.URL.Query().Get("same") == "1" {
			flash = "Nothing changed: the text is the same as version " + v + "."
		}
	}
	u.render(w, r, http.StatusOK, "editor", page{Title: "Edit " + h.ID, Nav: "flows", Flash: flash, Data: d})
}

func (u *UI) newFlow(w http.ResponseWriter, r *http.Request) {
	d := u.editorFor("", newFlowYAML, sampleTraits())
	d.New = true
	u.render(w, r, http.StatusOK, "editor", page{Title: "New flow", Nav: "flows", Data: d})
}

// editorFor is the editor's data for a YAML text and the sample traits.
func (u *UI) editorFor(id, src string, traits []trait) editorData {
	return editorData{ID: id, YAML: src, Traits: traits, Checks: u.check(id, src, traits)}
}

// checkFlow answers the editor's as-you-type check: the problems and the
// previews, as a fragment of the page.
func (u *UI) checkFlow(w http.ResponseWriter, r *http.Request) {
	src, ok := u.yamlField(w, r)
	if !ok {
		return
	}
	traits := traitsOf(r)
	d := editorData{ID: r.PostFormValue("id"), Checks: u.check(r.PostFormValue("id"), src, traits)}
	u.fragment(w, r, "editor", "checks", d)
}

// yamlField reads the posted YAML, refusing one larger than a flow file
// may be.
func (u *UI) yamlField(w http.ResponseWriter, r *http.Request) (string, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, flow.MaxFileSize+64<<10)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		msg := "The form could not be read; reload the page and try again."
		if errors.As(err, &tooBig) {
			msg = "The flow is larger than " + strconv.Itoa(flow.MaxFileSize>>10) + " KB, the limit for a flow; make it shorter."
		}
		u.fail(w, r, http.StatusBadRequest, msg)
		return "", false
	}
	// Browsers send CR LF from a textarea; the line numbers are the same
	// and the stored text is what an editor would save.
	return strings.ReplaceAll(r.PostFormValue("yaml"), "\r\n", "\n"), true
}

// saveFlow saves the edited YAML as a new version of an API flow, as PUT
// /v1/flows/{id} does.
func (u *UI) saveFlow(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	h, ok := u.Catalog.Head(id)
	if !ok || h.Status == engine.FlowArchived {
		u.fail(w, r, http.StatusNotFound, "There is no flow "+id+". The flows list shows the ones there are.")
		return
	}
	src, ok := u.yamlField(w, r)
	if !ok {
		return
	}
	u.save(w, r, h.ID, src, &h)
}

// createFlow saves a new flow under the id its YAML gives.
func (u *UI) createFlow(w http.ResponseWriter, r *http.Request) {
	src, ok := u.yamlField(w, r)
	if !ok {
		return
	}
	id := yamlID(src)
	if _, exists := u.Catalog.Head(id); id == flow.ReservedID && !exists {
		d := u.editorFor("", src, traitsOf(r))
		d.New = true
		d.Error = "The id new is reserved: /flows/new is this page, so a flow called new could not be opened. Give the flow another id."
		u.render(w, r, http.StatusUnprocessableEntity, "editor", page{Title: "New flow", Nav: "flows", Data: d})
		return
	}
	if id != "" {
		if h, exists := u.Catalog.Head(id); exists && h.Status != engine.FlowArchived {
			d := u.editorFor("", src, traitsOf(r))
			d.New = true
			d.Error = "A flow with the id " + id + " exists already: open it from the flows list to edit it, or give this one another id."
			u.render(w, r, http.StatusConflict, "editor", page{Title: "New flow", Nav: "flows", Data: d})
			return
		}
	}
	u.save(w, r, id, src, nil)
}

func (u *UI) save(w http.ResponseWriter, r *http.Request, id, src string, before *store.FlowHead) {
	refuse := func(status int, msg string) {
		d := u.editorFor(id, src, traitsOf(r))
		if before == nil {
			d.ID, d.New = "", true
		} else {
			d.Version, d.Status, d.Origin, d.File = before.Version, before.Status, before.Origin, before.File
			d.ReadOnly = before.Origin == engine.OriginFile || before.Origin == engine.OriginExample
		}
		d.Error = msg
		u.render(w, r, status, "editor", page{Title: "Edit " + id, Nav: "flows", Data: d})
	}
	if id == "" {
		refuse(http.StatusBadRequest, "The flow has no id: add a line such as \"id: my-flow\" at the top.")
		return
	}
	head, _, err := u.Catalog.Save(r.Context(), id, []byte(src), u.now())
	if err != nil {
		switch smsflow.ErrorCode(err) {
		case smsflow.EINVALID:
			refuse(http.StatusUnprocessableEntity, "Not saved: fix the errors listed below first.")
		case smsflow.ECONFLICT:
			refuse(http.StatusConflict, "Not saved: "+smsflow.ErrorMessage(err))
		default:
			u.Log.Error("web: save flow", "flow", id, "err", err)
			refuse(http.StatusInternalServerError, "Not saved: the flow could not be stored; the log says why.")
		}
		return
	}
	q := url.Values{"saved": {strconv.Itoa(head.Version)}}
	if before != nil && before.Version == head.Version && before.Status != engine.FlowArchived {
		q.Set("same", "1")
	}
	http.Redirect(w, r, "/flows/"+url.PathEscape(head.ID)+"/edit?"+q.Encode(), http.StatusSeeOther)
}

// check validates src as the API would save it under id (a new flow: under
// the id it gives) and previews its send steps.
func (u *UI) check(id, src string, traits []trait) checks {
	if id == "" {
		id = yamlID(src)
	}
	opts := engine.ValidateOptions()
	opts.CheckFrom = u.Catalog.CheckFrom
	name := id
	if name == "" {
		name = "new-flow"
	}
	f, ps := flow.Parse(name+".yaml", []byte(src), opts)
	var c checks
	for _, p := range ps {
		c.add(p.Line, p.Col, string(p.Severity), p.Message)
	}
	if f != nil && id != "" && f.ID != id {
		line, col := idPosition(src)
		c.add(line, col, string(flow.SeverityError), "the flow's id \""+f.ID+"\" does not match this flow's \""+id+"\"; a flow's id cannot change (create a new flow instead)")
	}
	slices.SortStableFunc(c.Problems, func(a, b problem) int { return cmp.Or(a.Line-b.Line, a.Col-b.Col) })
	if f == nil {
		c.NoPreview = "Fix the errors to see the messages."
		return c
	}
	c.Previews = u.previews(f, traits)
	sends := 0
	for _, s := range f.AllSteps() {
		if s.Kind == flow.StepSend {
			sends++
		}
	}
	switch {
	case sends == 0:
		c.NoPreview = "This flow sends nothing: it has no send step."
	case sends > len(c.Previews):
		c.NoPreview = "The first " + strconv.Itoa(len(c.Previews)) + " of " + strconv.Itoa(sends) + " send steps are previewed."
	}
	return c
}

func (c *checks) add(line, col int, sev, msg string) {
	c.Problems = append(c.Problems, problem{Line: line, Col: col, Severity: sev, Message: msg})
	if sev == string(flow.SeverityWarning) {
		c.Warnings++
	} else {
		c.Errors++
	}
}

var idLine = regexp.MustCompile(`(?m)^id:[ \t]*["']?([a-z0-9][a-z0-9-]*)["']?[ \t]*(#.*)?$`)

// yamlID is the top-level id a flow's YAML gives, "" if none is readable.
func yamlID(src string) string {
	if m := idLine.FindStringSubmatch(src); m != nil {
		return m[1]
	}
	return ""
}

// idPosition is where the top-level id is written (1:1 when it is not).
func idPosition(src string) (int, int) {
	loc := idLine.FindStringIndex(src)
	if loc == nil {
		return 1, 1
	}
	return strings.Count(src[:loc[0]], "\n") + 1, 1
}

// fragment answers an htmx request with one named template of a page.
func (u *UI) fragment(w http.ResponseWriter, r *http.Request, pageName, name string, data any) {
	t, err := u.page(pageName)
	var buf bytes.Buffer
	if err == nil {
		err = t.ExecuteTemplate(&buf, name, data)
	}
	if err != nil {
		u.Log.Error("render fragment", "page", pageName, "fragment", name, "err", err)
		http.Error(w, "This part of the page could not be drawn; the log says why.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}
