package twilio

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/provider/internal/httpx"
)

// maxAnswer bounds how much of an API answer is read.
const maxAnswer = 1 << 20

// Send posts m to the Messages API once, from m.Sender (a number, or a
// Messaging Service SID as MessagingServiceSid) or, when that is empty, the
// configured From or MessagingServiceSID. A 201 answer is Result{sid,
// "sent"}; a failure is a *provider.Error: 21610 Unsubscribed; 21211, 21614,
// 21635 InvalidNumber; any other 4xx Permanent; 429 and 5xx Transient (with
// Retry-After); no connection Transient; a break after the request went out,
// or a 2xx that is not a message, Unknown.
func (t *Twilio) Send(ctx context.Context, m *smsflow.Message) (provider.Result, error) {
	if m == nil || m.Phone == "" {
		return provider.Result{}, &provider.Error{Kind: provider.Permanent, Message: "the message has no phone number to send to"}
	}
	form := url.Values{}
	form.Set("To", m.Phone)
	form.Set("Body", m.Body)
	switch from := m.Sender; {
	case from == "" && t.cfg.MessagingServiceSID != "":
		form.Set("MessagingServiceSid", t.cfg.MessagingServiceSID)
	case from == "":
		form.Set("From", t.cfg.From)
	case serviceSIDShape.MatchString(from):
		// A sender of twilio.senders that is a Messaging Service.
		form.Set("MessagingServiceSid", from)
	default:
		form.Set("From", from)
	}
	form.Set("StatusCallback", t.statusCallback(m.ID))

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return provider.Result{}, &provider.Error{Kind: provider.Permanent, Message: "build the Twilio request: " + err.Error()}
	}
	req.SetBasicAuth(t.cfg.AccountSID, t.cfg.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "smsflow")

	resp, perr := httpx.Do(t.client, req, "Twilio")
	if perr != nil {
		t.log.Warn("twilio send failed", "to", phone.Mask(m.Phone), "message", m.ID, "kind", perr.Kind, "err", perr.Message)
		return provider.Result{}, perr
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))

	res, perr := t.answer(resp, body, readErr)
	if perr != nil {
		t.log.Warn("twilio refused a message", "to", phone.Mask(m.Phone), "message", m.ID, "http_status", resp.StatusCode, "kind", perr.Kind, "code", perr.Code, "err", perr.Message)
		return provider.Result{}, perr
	}
	t.log.Debug("twilio accepted a message", "to", phone.Mask(m.Phone), "message", m.ID, "sid", res.ProviderID)
	return res, nil
}

// message is the part of Twilio's Message resource smsflow reads.
type message struct {
	SID    string `json:"sid"`
	Status string `json:"status"`
}

// apiError is Twilio's error answer: {"code": 21211, "message": "…",
// "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}.
type apiError struct {
	Code     json.RawMessage `json:"code"`
	Message  string          `json:"message"`
	MoreInfo string          `json:"more_info"`
}

// answer turns Twilio's HTTP answer into a result or a classified error.
func (t *Twilio) answer(resp *http.Response, body []byte, readErr error) (provider.Result, *provider.Error) {
	status := resp.StatusCode
	switch {
	case status >= 200 && status < 300:
		var msg message
		if readErr != nil {
			return provider.Result{}, &provider.Error{Kind: provider.Unknown, Message: fmt.Sprintf("Twilio answered %d but the answer could not be read (%v); the message may have been sent", status, readErr)}
		}
		if err := json.Unmarshal(body, &msg); err != nil || msg.SID == "" {
			return provider.Result{}, &provider.Error{Kind: provider.Unknown, Message: fmt.Sprintf("Twilio answered %d without a message sid (%s); the message may have been sent", status, snippet(body))}
		}
		return provider.Result{ProviderID: msg.SID, Status: smsflow.MessageSent}, nil
	case status == http.StatusTooManyRequests || status >= 500:
		code, text := parseError(body, status)
		return provider.Result{}, &provider.Error{Kind: provider.Transient, Code: code, Message: text, Retry: httpx.RetryAfter(resp.Header, t.now())}
	case status >= 400:
		code, text := parseError(body, status)
		kind, ok := errorKinds[code]
		if !ok {
			kind = provider.Permanent
		}
		return provider.Result{}, &provider.Error{Kind: kind, Code: code, Message: text}
	}
	// 1xx/3xx: not an answer the Messages API gives; whether Twilio (or
	// whatever answered) took the message is not known.
	return provider.Result{}, &provider.Error{Kind: provider.Unknown, Code: strconv.Itoa(status), Message: fmt.Sprintf("unexpected HTTP %d from %s; check twilio.api_base", status, t.cfg.APIBase)}
}

// parseError reads Twilio's error code and words from an error answer. An
// answer that is not Twilio's JSON (a proxy's HTML page) gets the HTTP
// status as its code.
func parseError(body []byte, status int) (code, text string) {
	var e apiError
	if err := json.Unmarshal(body, &e); err == nil {
		code = strings.Trim(string(bytes.TrimSpace(e.Code)), `"`)
		if code == "null" {
			code = ""
		}
		text = e.Message
		if e.MoreInfo != "" {
			text += " (" + e.MoreInfo + ")"
		}
	}
	if code == "" {
		code = strconv.Itoa(status)
	}
	if text == "" {
		text = fmt.Sprintf("HTTP %d: %s", status, snippet(body))
	}
	return code, text
}

// snippet is the start of an answer body, for error messages.
func snippet(b []byte) string {
	const max = 200
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "empty body"
	}
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strconv.Quote(s)
}
