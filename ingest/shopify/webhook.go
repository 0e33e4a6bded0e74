package shopify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest"
)

// Shopify webhook request headers smsflow reads.
const (
	HmacHeader      = "X-Shopify-Hmac-Sha256"
	TopicHeader     = "X-Shopify-Topic"
	WebhookIDHeader = "X-Shopify-Webhook-Id"
	ShopHeader      = "X-Shopify-Shop-Domain"
)

// Path is where serve mounts the Shopify webhook.
const Path = "/webhooks/shopify"

// MaxBody bounds a webhook body; an order with hundreds of line
// items is a few hundred kilobytes.
const MaxBody = 4 << 20

// shopifyWebhookRetention is how long webhook ids are kept for dedupe:
// Shopify stops retrying after 4 hours, so a week is ample.
const shopifyWebhookRetention = 7 * 24 * time.Hour

// Sign returns the X-Shopify-Hmac-Sha256 value of a body:
// base64(HMAC-SHA256(secret, raw body)).
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Verify reports whether header is the body's signature under
// secret, comparing in constant time. An empty secret verifies nothing.
func Verify(secret string, body []byte, header string) bool {
	if secret == "" || header == "" {
		return false
	}
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// Webhook serves POST /webhooks/shopify. It verifies the signature
// over the raw body (401 otherwise), maps the topic (Map; 400 for a
// malformed body), writes through the ingest writer in one transaction with
// the webhook id, and answers 200 — also for a duplicate delivery and for a
// topic smsflow does not use, so Shopify does not retry them. It calls no
// provider: the engine picks the events up after the commit. Without a
// secret it answers 404 saying to set shopify.secret.
type Webhook struct {
	Secret string // shopify.secret: the app's client secret / the shop's webhook signing secret
	Region string // default region of numbers written without +country
	Writer *ingest.Writer
	Clock  smsflow.Clock
	Log    *slog.Logger
	// OptIn is the double opt-in configuration SMS consent is recorded with.
	OptIn ingest.OptInOptions

	pruneMu   sync.Mutex
	lastPrune time.Time
}

func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		shopifyError(w, http.StatusMethodNotAllowed, smsflow.Errorf(smsflow.EINVALID, "Shopify webhooks are POST requests"))
		return
	}
	if h.Secret == "" {
		shopifyError(w, http.StatusNotFound, smsflow.Errorf(smsflow.ENOTFOUND,
			"Shopify webhooks are off: set shopify.secret (or SMSFLOW_SHOPIFY_SECRET) to the secret Shopify signs webhooks with, then restart"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			shopifyError(w, http.StatusRequestEntityTooLarge, smsflow.Errorf(smsflow.ETOOLARGE, "the body is larger than %d MB", MaxBody>>20))
			return
		}
		shopifyError(w, http.StatusBadRequest, smsflow.Errorf(smsflow.EINVALID, "could not read the request body: %v", err))
		return
	}
	if !Verify(h.Secret, body, r.Header.Get(HmacHeader)) {
		h.Log.Warn("shopify webhook with a missing or wrong signature", "topic", r.Header.Get(TopicHeader), "remote", r.RemoteAddr)
		msg := "missing " + HmacHeader + " header"
		if r.Header.Get(HmacHeader) != "" {
			msg = "invalid " + HmacHeader + ": check that shopify.secret is the secret this shop signs webhooks with"
		}
		shopifyError(w, http.StatusUnauthorized, smsflow.FieldErrorf(smsflow.EUNAUTHORIZED, HmacHeader, "%s", msg))
		return
	}
	d := Delivery{
		Topic:     strings.ToLower(strings.TrimSpace(r.Header.Get(TopicHeader))),
		WebhookID: strings.TrimSpace(r.Header.Get(WebhookIDHeader)),
		Shop:      strings.TrimSpace(r.Header.Get(ShopHeader)),
		Body:      body,
	}
	if d.Topic == "" {
		shopifyError(w, http.StatusBadRequest, smsflow.FieldErrorf(smsflow.EINVALID, TopicHeader, "the %s header is required (orders/create, checkouts/update, customers/update, …)", TopicHeader))
		return
	}
	if len(d.WebhookID) > 200 {
		shopifyError(w, http.StatusBadRequest, smsflow.FieldErrorf(smsflow.EINVALID, WebhookIDHeader, "the %s header is longer than 200 characters", WebhookIDHeader))
		return
	}
	now := h.Clock.Now()
	m, err := Map(d, h.Region, now)
	if err != nil {
		h.Log.Debug("shopify webhook refused", "topic", d.Topic, "webhook_id", d.WebhookID, "err", err)
		shopifyError(w, http.StatusBadRequest, err)
		return
	}
	if m.Ignored != "" {
		h.Log.Debug("shopify webhook ignored", "topic", d.Topic, "webhook_id", d.WebhookID, "why", m.Ignored)
		shopifyJSON(w, http.StatusOK, Result{Topic: d.Topic, Ignored: m.Ignored})
		return
	}
	res, err := h.submit(r.Context(), d, m, h.pruneBefore(now))
	if err != nil {
		// The write failed and the webhook id was not kept: Shopify's retry
		// will be processed.
		h.Log.Error("store shopify webhook", "topic", d.Topic, "webhook_id", d.WebhookID, "err", err)
		shopifyError(w, http.StatusInternalServerError, smsflow.Errorf(smsflow.EINTERNAL, "the webhook could not be stored; Shopify will retry"))
		return
	}
	if len(res.Refused) > 0 {
		h.Log.Warn("shopify webhook partly refused", "topic", d.Topic, "webhook_id", d.WebhookID, "refused", res.Refused)
	}
	h.Log.Debug("shopify webhook", "topic", d.Topic, "webhook_id", d.WebhookID, "contact", res.ContactID,
		"events", res.Events, "duplicate", res.Duplicate, "consent", res.Consent, "consent_note", res.ConsentNote)
	shopifyJSON(w, http.StatusOK, res)
}

// pruneBefore returns the cutoff for deleting old webhook ids at most once
// an hour, zero otherwise.
func (h *Webhook) pruneBefore(now time.Time) time.Time {
	h.pruneMu.Lock()
	defer h.pruneMu.Unlock()
	if now.Sub(h.lastPrune) < time.Hour {
		return time.Time{}
	}
	h.lastPrune = now
	return now.Add(-shopifyWebhookRetention)
}

// shopifyError writes the API's JSON error shape.
func shopifyError(w http.ResponseWriter, status int, err error) {
	var b struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field,omitempty"`
		} `json:"error"`
	}
	b.Error.Code, b.Error.Message, b.Error.Field = smsflow.ErrorCode(err), smsflow.ErrorMessage(err), smsflow.ErrorField(err)
	shopifyJSON(w, status, b)
}

func shopifyJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away: nothing to do
}
