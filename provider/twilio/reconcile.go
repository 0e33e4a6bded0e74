package twilio

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/provider"
	"github.com/smsflow/smsflow/provider/internal/httpx"
)

// messageParam is the StatusCallback URL's query parameter carrying
// smsflow's message id: any callback of the message then settles it, even
// when a crash lost the sid Twilio answered.
const messageParam = "m"

// statusCallback is the StatusCallback URL of message id (0: none known).
func (t *Twilio) statusCallback(id int64) string {
	if id <= 0 {
		return t.statusURL
	}
	return t.statusURL + "?" + messageParam + "=" + strconv.FormatInt(id, 10)
}

var _ provider.Reconciler = (*Twilio)(nil)

// ReconcilePages bounds how many pages of the To number's messages one
// Reconcile reads (ReconcilePageSize each, newest first).
const (
	ReconcilePages    = 10
	ReconcilePageSize = 100
)

// listed is the part of a Message resource of the list API smsflow reads.
type listed struct {
	SID         string `json:"sid"`
	To          string `json:"to"`
	Body        string `json:"body"`
	Status      string `json:"status"`
	Direction   string `json:"direction"`
	DateCreated string `json:"date_created"`
}

// Reconcile lists the messages Twilio holds for m's number, newest first by
// creation, back to since, and returns those with m's body: any status
// counts as received (a queued, accepted or scheduled message has no send
// date yet, so the list is not filtered by DateSent). The From is not
// compared: a Messaging Service sends from a number of its pool. A
// message to the number in the range whose body is empty (redacted by the
// account's settings) makes the answer Unclear.
func (t *Twilio) Reconcile(ctx context.Context, m *smsflow.Message, since time.Time) (provider.Reconciled, error) {
	var out provider.Reconciled
	q := url.Values{"To": {m.Phone}, "PageSize": {strconv.Itoa(ReconcilePageSize)}}
	next := t.endpoint + "?" + q.Encode()
	for range ReconcilePages {
		page, err := t.listPage(ctx, next)
		if err != nil {
			return provider.Reconciled{}, err
		}
		older := false
		for _, lm := range page.Messages {
			created, err := time.Parse(time.RFC1123Z, lm.DateCreated)
			if err != nil {
				return provider.Reconciled{}, fmt.Errorf("twilio list: message %s has date_created %q, not a date", lm.SID, lm.DateCreated)
			}
			if created.Before(since) {
				older = true
				break
			}
			if !strings.HasPrefix(lm.Direction, "outbound") || lm.To != m.Phone {
				continue
			}
			switch {
			case lm.Body == "":
				out.Unclear = true
			case lm.Body == m.Body:
				st, ok := statuses[lm.Status]
				if !ok {
					st = smsflow.MessageSent // scheduled and the like: received
				}
				out.Candidates = append(out.Candidates, provider.Result{ProviderID: lm.SID, Status: st})
			}
		}
		if older || page.NextPageURI == "" {
			return out, nil
		}
		next = t.cfg.APIBase + page.NextPageURI
	}
	// More pages than read: what is further back is not known.
	out.Unclear = true
	return out, nil
}

// listPage reads one page of the list API.
func (t *Twilio) listPage(ctx context.Context, u string) (*struct {
	Messages    []listed `json:"messages"`
	NextPageURI string   `json:"next_page_uri"`
}, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(t.cfg.AccountSID, t.cfg.AuthToken)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "smsflow")
	resp, perr := httpx.Do(t.client, req, "Twilio")
	if perr != nil {
		return nil, perr
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4*maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("twilio list: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		code, text := parseError(body, resp.StatusCode)
		return nil, fmt.Errorf("twilio list answered %d (code %s): %s", resp.StatusCode, code, text)
	}
	var page struct {
		Messages    []listed `json:"messages"`
		NextPageURI string   `json:"next_page_uri"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, fmt.Errorf("twilio list: the answer is not a page of messages: %w", err)
	}
	return &page, nil
}
