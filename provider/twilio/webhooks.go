package twilio

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/provider"
)

// maxForm bounds a webhook request body; Twilio's are a few kilobytes.
const maxForm = 64 << 10

// emptyTwiML answers an inbound text without replying through TwiML: any
// reply goes out through the send pipeline.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response/>`

// Webhooks returns the status callback and inbound message handlers, keyed
// by StatusPath and InboundPath. Each accepts only a POST signed by Twilio
// for public_url + its path (403 otherwise), answers 400 to a malformed
// form, and 500 only when ev could not store what Twilio sent (so Twilio
// tries again).
func (t *Twilio) Webhooks(ev provider.Events) map[string]http.Handler {
	return map[string]http.Handler{
		StatusPath:  t.webhook(StatusPath, ev, t.status),
		InboundPath: t.webhook(InboundPath, ev, t.inbound),
	}
}

// webhook wraps a form handler with the method, size, form and signature
// checks every Twilio webhook needs.
func (t *Twilio) webhook(path string, ev provider.Events, handle func(http.ResponseWriter, *http.Request, provider.Events, url.Values)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			plain(w, http.StatusMethodNotAllowed, "Twilio webhooks are POST requests")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				plain(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the form is larger than %d bytes", maxForm))
				return
			}
			plain(w, http.StatusBadRequest, "malformed form body: "+err.Error())
			return
		}
		signed := t.cfg.PublicURL + path
		if r.URL.RawQuery != "" {
			signed += "?" + r.URL.RawQuery
		}
		if !Verify(t.cfg.AuthToken, signed, r.PostForm, r.Header.Get(SignatureHeader)) {
			t.log.Warn("twilio webhook with a missing or wrong signature", "path", path, "remote", r.RemoteAddr)
			plain(w, http.StatusForbidden, "missing or invalid "+SignatureHeader+" for "+signed+
				": check that twilio.auth_token is this account's Auth Token and public_url is the base URL Twilio calls")
			return
		}
		if ev == nil {
			plain(w, http.StatusServiceUnavailable, "smsflow is not ready to receive webhooks yet; Twilio will retry")
			return
		}
		handle(w, r, ev, r.PostForm)
	})
}

// status handles a status callback: MessageSid, MessageStatus, ErrorCode.
func (t *Twilio) status(w http.ResponseWriter, r *http.Request, ev provider.Events, form url.Values) {
	sid, raw := form.Get("MessageSid"), form.Get("MessageStatus")
	if sid == "" || raw == "" {
		plain(w, http.StatusBadRequest, "a status callback needs MessageSid and MessageStatus")
		return
	}
	st, ok := statuses[raw]
	if !ok {
		w.WriteHeader(http.StatusNoContent) // a status smsflow does not track
		return
	}
	rc := provider.Receipt{ProviderID: sid, Status: st, ErrorCode: clip(form.Get("ErrorCode"), 64)}
	if v := r.URL.Query().Get(messageParam); v != "" {
		// Signed with the URL: it is the id smsflow gave Twilio.
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			plain(w, http.StatusBadRequest, "the status callback's "+messageParam+" must be a message id (a positive whole number)")
			return
		}
		rc.MessageID = id
	}
	if err := ev.Receipt(r.Context(), rc); err != nil {
		t.log.Error("store twilio receipt", "sid", sid, "status", st, "err", err)
		plain(w, http.StatusInternalServerError, "the receipt could not be stored; try again")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// inbound handles a text a contact sent: From, To, Body, MessageSid.
func (t *Twilio) inbound(w http.ResponseWriter, r *http.Request, ev provider.Events, form url.Values) {
	m := provider.Inbound{From: form.Get("From"), To: form.Get("To"), Body: form.Get("Body"), ProviderID: form.Get("MessageSid")}
	if m.From == "" || m.ProviderID == "" {
		plain(w, http.StatusBadRequest, "an inbound message needs From and MessageSid")
		return
	}
	if err := ev.Inbound(r.Context(), m); err != nil {
		t.log.Error("store twilio inbound message", "from", phone.Mask(m.From), "sid", m.ProviderID, "err", err)
		plain(w, http.StatusInternalServerError, "the message could not be stored; try again")
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(emptyTwiML))
}

// plain writes a text/plain answer.
func plain(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(text + "\n"))
}

// clip cuts s to at most n bytes.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
