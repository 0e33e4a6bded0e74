package httpgw

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/provider"
)

// maxBody bounds a webhook request body.
const maxBody = 64 << 10

// statuses are the delivery report statuses a gateway may send, and the
// smsflow status each one means.
var statuses = map[string]string{
	"sent":        smsflow.MessageSent,
	"delivered":   smsflow.MessageDelivered,
	"undelivered": smsflow.MessageUndelivered,
	"failed":      smsflow.MessageFailed,
}

// statusReport is a delivery report (see the package comment).
type statusReport struct {
	ID        flexString `json:"id"`
	Status    string     `json:"status"`
	ErrorCode flexString `json:"error_code"`
}

// inboundText is a text a contact sent (see the package comment).
type inboundText struct {
	From string     `json:"from"`
	To   string     `json:"to"`
	Body string     `json:"body"`
	ID   flexString `json:"id"`
}

// Webhooks returns the delivery report and inbound text handlers, keyed by
// StatusPath and InboundPath. Each accepts only a signed POST (401
// otherwise) of the documented JSON (400 otherwise), and answers 500 only
// when ev could not store it, so the gateway tries again.
func (g *Gateway) Webhooks(ev provider.Events) map[string]http.Handler {
	return map[string]http.Handler{
		StatusPath:  g.webhook(ev, g.status),
		InboundPath: g.webhook(ev, g.inbound),
	}
}

// webhook wraps a JSON handler with the method, size and signature checks.
func (g *Gateway) webhook(ev provider.Events, handle func(http.ResponseWriter, *http.Request, provider.Events, []byte)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, smsflow.EINVALID, "gateway webhooks are POST requests")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeError(w, http.StatusRequestEntityTooLarge, smsflow.ETOOLARGE, fmt.Sprintf("the body is larger than %d bytes", maxBody))
				return
			}
			writeError(w, http.StatusBadRequest, smsflow.EINVALID, "could not read the body: "+err.Error())
			return
		}
		if why := checkSignature(g.cfg.Secret, r.Header.Get(TimestampHeader), r.Header.Get(SignatureHeader), body, g.now()); why != "" {
			g.log.Warn("gateway webhook refused", "path", r.URL.Path, "remote", r.RemoteAddr, "why", why)
			writeError(w, http.StatusUnauthorized, smsflow.EUNAUTHORIZED, why)
			return
		}
		if ev == nil {
			writeError(w, http.StatusServiceUnavailable, smsflow.EINTERNAL, "smsflow is not ready to receive webhooks yet; try again")
			return
		}
		handle(w, r, ev, body)
	})
}

// status handles a delivery report.
func (g *Gateway) status(w http.ResponseWriter, r *http.Request, ev provider.Events, body []byte) {
	var rep statusReport
	if err := json.Unmarshal(body, &rep); err != nil {
		writeError(w, http.StatusBadRequest, smsflow.EINVALID, `malformed JSON; want {"id": "…", "status": "delivered", "error_code": "…"}: `+err.Error())
		return
	}
	if rep.ID == "" {
		writeField(w, "id", "id is required: the gateway's id for the message, as it answered the send")
		return
	}
	st, ok := statuses[rep.Status]
	if !ok {
		writeField(w, "status", fmt.Sprintf("status %q is not one of sent, delivered, undelivered, failed", truncate(rep.Status, 40)))
		return
	}
	rc := provider.Receipt{ProviderID: string(rep.ID), Status: st, ErrorCode: truncate(string(rep.ErrorCode), 64)}
	if err := ev.Receipt(r.Context(), rc); err != nil {
		g.log.Error("store gateway receipt", "id", rc.ProviderID, "status", st, "err", err)
		writeError(w, http.StatusInternalServerError, smsflow.EINTERNAL, "the report could not be stored; try again")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// inbound handles a text a contact sent.
func (g *Gateway) inbound(w http.ResponseWriter, r *http.Request, ev provider.Events, body []byte) {
	var in inboundText
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, smsflow.EINVALID, `malformed JSON; want {"from": "+1…", "to": "…", "body": "…", "id": "…"}: `+err.Error())
		return
	}
	if in.From == "" {
		writeField(w, "from", "from is required: the contact's phone number")
		return
	}
	if in.ID == "" {
		writeField(w, "id", "id is required: the gateway's id for the inbound message, so a report sent twice is stored once")
		return
	}
	m := provider.Inbound{From: in.From, To: in.To, Body: in.Body, ProviderID: string(in.ID)}
	if err := ev.Inbound(r.Context(), m); err != nil {
		g.log.Error("store gateway inbound message", "from", phone.Mask(m.From), "id", m.ProviderID, "err", err)
		writeError(w, http.StatusInternalServerError, smsflow.EINTERNAL, "the message could not be stored; try again")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiError is the JSON error answer, as in the rest of smsflow's API.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSONError(w, status, code, message, "")
}

func writeField(w http.ResponseWriter, field, message string) {
	writeJSONError(w, http.StatusBadRequest, smsflow.EINVALID, message, field)
}

func writeJSONError(w http.ResponseWriter, status int, code, message, field string) {
	var e apiError
	e.Error.Code, e.Error.Message, e.Error.Field = code, message, field
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(e)
}
