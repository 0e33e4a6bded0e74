package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/phone"
)

// contactView is the JSON of GET /v1/contacts/{id}.
type contactView struct {
	*smsflow.Contact
	Consent    smsflow.Consent `json:"consent"`
	ActiveRuns []*smsflow.Run  `json:"active_runs"`
}

func (s *Server) contactView(r *http.Request, c *smsflow.Contact) (contactView, error) {
	consent, err := s.db.ConsentLedger(r.Context(), c.Phone)
	if err != nil {
		return contactView{}, err
	}
	runs, err := s.db.RunsByContact(r.Context(), c.ID, true)
	if runs == nil {
		runs = []*smsflow.Run{}
	}
	return contactView{Contact: c, Consent: consent, ActiveRuns: runs}, err
}

func (s *Server) getContact(w http.ResponseWriter, r *http.Request) {
	c, err := s.db.Contact(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.contactView(r, c)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// findContact answers GET /v1/contacts?phone=ANY-FORMAT.
func (s *Server) findContact(w http.ResponseWriter, r *http.Request) {
	raw := r.URL.Query().Get("phone")
	if raw == "" {
		s.writeError(w, r, smsflow.FieldErrorf(smsflow.EINVALID, "phone", "give ?phone= with a number in any format, e.g. ?phone=%%2B14155550100 or ?phone=(415)%%20555-0100"))
		return
	}
	n, err := phone.Parse(raw, s.cfg.DefaultRegion)
	if err != nil {
		s.writeError(w, r, smsflow.FieldErrorf(smsflow.EINVALID, "phone", "%s", smsflow.ErrorMessage(err)))
		return
	}
	c, err := s.db.ContactByPhone(r.Context(), n.E164)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.contactView(r, c)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) contactTimeline(w http.ResponseWriter, r *http.Request) {
	c, err := s.db.Contact(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items, err := s.db.Timeline(r.Context(), c)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"contact_id": c.ID, "items": items})
}

// postConsent appends an opt-in or opt-out to the contact's number's ledger.
// The answer carries the entry, the number's status afterwards and, when
// the entry left it pending (double opt-in), whether the confirmation
// request was queued.
func (s *Server) postConsent(w http.ResponseWriter, r *http.Request) {
	var ch ingest.ConsentChange
	if err := decodeJSON(r, 64<<10, &ch); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := ingest.RecordConsent(r.Context(), s.db, s.clock, r.PathValue("id"), ch, ingest.OptInOptionsFromConfig(s.cfg))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := map[string]any{"entry": res.Entry, "status": res.Status}
	if res.Confirmation != nil {
		out["confirmation"] = res.Confirmation
		if res.Confirmation.Queued && s.Sender != nil {
			s.Sender.Notify() // send the request now, not at the next poll
		}
	}
	writeJSON(w, http.StatusCreated, out)
}

// decodeJSON strictly decodes a JSON object body, turning every failure into
// a message that names the problem.
func decodeJSON(r *http.Request, limit int64, v any) error {
	body, err := readBody(r, limit, "the request body")
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return smsflow.Errorf(smsflow.EINVALID, "the request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return smsflow.Errorf(smsflow.EINVALID, "the body has data after its JSON object")
	}
	return nil
}

// jsonKind names what JSON value a Go type takes, in the words of the
// body's author (never a Go type name).
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	default:
		return "an object"
	}
}

func jsonError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn):
		return smsflow.Errorf(smsflow.EINVALID, "malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		return smsflow.FieldErrorf(smsflow.EINVALID, typ.Field, "%s must be %s, not %s", typ.Field, jsonKind(typ.Type), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return smsflow.FieldErrorf(smsflow.EINVALID, f, "unknown field %q", f)
	case strings.Contains(err.Error(), "parsing time"):
		return smsflow.FieldErrorf(smsflow.EINVALID, "timestamp", "timestamp must be RFC 3339, like 2026-11-28T10:00:00Z: %v", err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return smsflow.Errorf(smsflow.EINVALID, "malformed JSON: the body ends too early")
	default:
		var e *smsflow.Error
		if errors.As(err, &e) {
			return e
		}
		return smsflow.Errorf(smsflow.EINVALID, "malformed JSON: %v", fmt.Sprint(err))
	}
}
