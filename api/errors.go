package api

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/smsflow/smsflow"
)

var statusByCode = map[string]int{
	smsflow.EINVALID:      http.StatusBadRequest,
	smsflow.ENOTFOUND:     http.StatusNotFound,
	smsflow.ECONFLICT:     http.StatusConflict,
	smsflow.EUNAUTHORIZED: http.StatusUnauthorized,
	smsflow.EFORBIDDEN:    http.StatusForbidden,
	smsflow.ETOOLARGE:     http.StatusBadRequest, // Segment answers 400 past its size limits
	smsflow.ERATELIMITED:  http.StatusTooManyRequests,
	smsflow.EINTERNAL:     http.StatusInternalServerError,
}

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := smsflow.ErrorCode(err)
	status, ok := statusByCode[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if code == smsflow.EINTERNAL {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		s.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "code", code, "msg", smsflow.ErrorMessage(err))
	}
	if code == smsflow.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Basic realm="smsflow"`)
	}
	var b errorBody
	b.Error.Code, b.Error.Message, b.Error.Field = code, smsflow.ErrorMessage(err), smsflow.ErrorField(err)
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		slog.Debug("write response", "err", err)
	}
}
