package api

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/report"
)

// wantsCSV reports whether the client asked for CSV (?format=csv or
// Accept: text/csv).
func wantsCSV(r *http.Request) bool {
	return r.URL.Query().Get("format") == "csv" || strings.Contains(r.Header.Get("Accept"), "text/csv")
}

// flowReport serves GET /v1/flows/{id}/report?from=&to=: the measurement
// report as JSON, or its step table as CSV.
func (s *Server) flowReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if f := q.Get("format"); f != "" && f != "csv" && f != "json" {
		s.writeError(w, r, smsflow.FieldErrorf(smsflow.EINVALID, "format", "format must be json or csv, not %q", f))
		return
	}
	from, to, err := report.ParsePeriod(q.Get("from"), q.Get("to"), s.clock.Now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	price, err := report.ParseSegmentPrice(s.cfg.SegmentPrice)
	if err != nil {
		s.writeError(w, r, smsflow.Errorf(smsflow.EINTERNAL, "configuration: %s", smsflow.ErrorMessage(err)))
		return
	}
	opt := report.Options{SegmentPrice: price}
	id := r.PathValue("id")
	if s.Catalog != nil {
		h, ok := s.Catalog.Head(id)
		if !ok {
			s.writeError(w, r, smsflow.Errorf(smsflow.ENOTFOUND, "no flow %q (list flows with GET /v1/flows)", id))
			return
		}
		if comp, err := s.Catalog.Version(r.Context(), h.ID, h.Version); err == nil {
			opt.Flow = comp.Flow
		}
	}
	rep, err := report.Flow(r.Context(), s.db, id, from, to, opt)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if wantsCSV(r) {
		var buf bytes.Buffer
		if err := report.WriteStepsCSV(&buf, rep); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+id+`-steps.csv"`)
		w.Write(buf.Bytes())
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// programReport serves GET /v1/reports/program?from=&to=: list growth,
// delivery and opt-outs per flow, messages per contact.
func (s *Server) programReport(w http.ResponseWriter, r *http.Request) {
	from, to, err := report.ParsePeriod(r.URL.Query().Get("from"), r.URL.Query().Get("to"), s.clock.Now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rep, err := report.Program(r.Context(), s.db, from, to)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
