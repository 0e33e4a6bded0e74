package httpgw

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/provider/internal/httpx"
)

// maxAnswer bounds how much of the gateway's answer is read.
const maxAnswer = 1 << 20

// outbound is the JSON body of a send (see the package comment).
type outbound struct {
	ID        string `json:"id"`
	From      string `json:"from,omitempty"`
	To        string `json:"to"`
	Body      string `json:"body"`
	Encoding  string `json:"encoding"`
	Segments  int    `json:"segments"`
	StatusURL string `json:"status_url"`
}

// Send posts m to the gateway once, signed. A 2xx answer with an id is
// Result{id, "sent"}; 429 and 5xx are Transient (with Retry-After), other
// 4xx Permanent with the HTTP status as code; no connection is Transient;
// anything ambiguous is Unknown.
func (g *Gateway) Send(ctx context.Context, m *smsflow.Message) (provider.Result, error) {
	if m == nil || m.Phone == "" {
		return provider.Result{}, &provider.Error{Kind: provider.Permanent, Message: "the message has no phone number to send to"}
	}
	body, err := json.Marshal(outbound{
		ID: strconv.FormatInt(m.ID, 10), From: m.Sender, To: m.Phone, Body: m.Body,
		Encoding: m.Encoding, Segments: m.Segments, StatusURL: g.statusURL,
	})
	if err != nil {
		return provider.Result{}, &provider.Error{Kind: provider.Permanent, Message: "encode the message: " + err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return provider.Result{}, &provider.Error{Kind: provider.Permanent, Message: "build the gateway request: " + err.Error()}
	}
	ts := g.now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "smsflow")
	req.Header.Set(TimestampHeader, strconv.FormatInt(ts, 10))
	req.Header.Set(SignatureHeader, Sign(g.cfg.Secret, ts, body))

	resp, perr := httpx.Do(g.client, req, "the gateway")
	if perr != nil {
		g.log.Warn("gateway send failed", "to", phone.Mask(m.Phone), "message", m.ID, "kind", perr.Kind, "err", perr.Message)
		return provider.Result{}, perr
	}
	defer resp.Body.Close()
	answer, readErr := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	res, perr := g.answer(resp, answer, readErr)
	if perr != nil {
		g.log.Warn("gateway refused a message", "to", phone.Mask(m.Phone), "message", m.ID, "kind", perr.Kind, "code", perr.Code, "err", perr.Message)
		return provider.Result{}, perr
	}
	g.log.Debug("gateway accepted a message", "to", phone.Mask(m.Phone), "message", m.ID, "gateway_id", res.ProviderID)
	return res, nil
}

// answer turns the gateway's HTTP answer into a result or a classified
// error.
func (g *Gateway) answer(resp *http.Response, body []byte, readErr error) (provider.Result, *provider.Error) {
	status := resp.StatusCode
	code := strconv.Itoa(status)
	switch {
	case status >= 200 && status < 300:
		var a struct {
			ID flexString `json:"id"`
		}
		if readErr != nil {
			return provider.Result{}, &provider.Error{Kind: provider.Unknown, Code: code, Message: fmt.Sprintf("the gateway answered %d but the answer could not be read (%v); the message may have been sent", status, readErr)}
		}
		if err := json.Unmarshal(body, &a); err != nil || a.ID == "" {
			return provider.Result{}, &provider.Error{Kind: provider.Unknown, Code: code, Message: fmt.Sprintf(`the gateway answered %d without {"id": "…"} (%s); the message may have been sent`, status, snippet(body))}
		}
		return provider.Result{ProviderID: string(a.ID), Status: smsflow.MessageSent}, nil
	case status == http.StatusTooManyRequests || status >= 500:
		return provider.Result{}, &provider.Error{Kind: provider.Transient, Code: code, Message: errorText(body, status), Retry: httpx.RetryAfter(resp.Header, g.now())}
	case status >= 400:
		return provider.Result{}, &provider.Error{Kind: provider.Permanent, Code: code, Message: errorText(body, status)}
	}
	return provider.Result{}, &provider.Error{Kind: provider.Unknown, Code: code, Message: fmt.Sprintf("unexpected HTTP %d from the gateway; check http.url", status)}
}

// errorText is the gateway's explanation of a refusal: {"error": "…"},
// {"error": {"message": "…"}}, {"message": "…"} or the start of the body.
func errorText(body []byte, status int) string {
	var e struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil {
		var s string
		var nested struct {
			Message string `json:"message"`
		}
		switch {
		case json.Unmarshal(e.Error, &s) == nil && s != "":
			return fmt.Sprintf("HTTP %d: %s", status, s)
		case json.Unmarshal(e.Error, &nested) == nil && nested.Message != "":
			return fmt.Sprintf("HTTP %d: %s", status, nested.Message)
		case e.Message != "":
			return fmt.Sprintf("HTTP %d: %s", status, e.Message)
		}
	}
	return fmt.Sprintf("HTTP %d: %s", status, snippet(body))
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

// flexString is a JSON string or number, read as a string: gateways write
// ids and error codes both ways.
type flexString string

// UnmarshalJSON accepts "abc", 123 and null.
func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a number, got %s", truncate(string(b), 40))
	}
	*f = flexString(n.String())
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
