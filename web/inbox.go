package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/sms/segments"
	"github.com/smsflow/smsflow/store"
)

// ReplyWindow is how long after a contact's last inbound text a person may
// answer it from the inbox.
const ReplyWindow = 24 * time.Hour

// MaxReply bounds a conversation reply, as MaxInboundBody bounds a text in.
const MaxReply = ingest.MaxInboundBody

// The inbox lists the conversations of the latest texts nothing consumed
// (no keyword, no flow: D100): it reads this many of them, newest first,
// and shows up to Conversations contacts.
const (
	inboxScan     = 1000
	Conversations = 50
	threadLength  = 100
	consoleShown  = 20
)

// sessionSender names who sends a conversation reply: the admin key's
// session (user accounts will name the person).
const sessionSender = "admin"

type conversation struct {
	ContactID, Phone, Body string
	At                     time.Time
}

type inboxData struct {
	Conversations []conversation
	Console       *consoleData // nil unless the console provider is in use
}

// consoleData is the live console: the texts the console provider sent
// lately, newest first, and where its event stream starts.
type consoleData struct {
	Sent   []smsflow.Message
	Events string // the /inbox/events URL
}

// inbox lists conversations: each contact whose replies no flow or keyword
// consumed came in lately, with its latest such text, newest first.
func (u *UI) inbox(w http.ResponseWriter, r *http.Request) {
	msgs, err := u.DB.Replies(r.Context(), inboxScan)
	if err != nil {
		u.Log.Error("web: inbox", "err", err)
		u.fail(w, r, http.StatusInternalServerError, "The inbox could not be read; the log says why.")
		return
	}
	var d inboxData
	seen := map[string]bool{}
	for _, m := range msgs {
		if seen[m.ContactID] || len(d.Conversations) >= Conversations {
			continue
		}
		seen[m.ContactID] = true
		d.Conversations = append(d.Conversations, conversation{ContactID: m.ContactID, Phone: m.Phone, Body: m.Body, At: m.CreatedAt})
	}
	d.Console = u.consoleFeed("")
	u.render(w, r, http.StatusOK, "inbox", page{Title: "Inbox", Nav: "inbox", Data: d})
}

// consoleFeed is the live console's start: the recent texts (to phone
// only, when given) and the stream that continues it.
func (u *UI) consoleFeed(phone string) *consoleData {
	if u.Console == nil {
		return nil
	}
	recent := u.Console.Recent()
	var after int64
	for _, m := range recent {
		after = max(after, m.ID)
	}
	d := &consoleData{Events: "/inbox/events?after=" + strconv.FormatInt(after, 10)}
	if phone != "" {
		d.Events += "&phone=" + url.QueryEscape(phone)
	}
	for i := len(recent) - 1; i >= 0 && len(d.Sent) < consoleShown; i-- {
		if phone == "" || recent[i].Phone == phone {
			d.Sent = append(d.Sent, recent[i])
		}
	}
	return d
}

type threadData struct {
	Contact  *smsflow.Contact
	Consent  smsflow.ConsentStatus
	Thread   []*smsflow.Message // oldest first
	LastIn   time.Time
	CanReply bool
	Why      string // why the reply box is disabled
	Problem  string // why a reply just sent was refused
	Sent     bool   // a reply was just queued
	Draft    string
	Console  *consoleData
}

// thread is one conversation: the contact's texts both ways, the reply box
// (or why it is closed), and with the console provider the live console
// of the texts sent to this contact and a box to text in as the contact.
func (u *UI) thread(w http.ResponseWriter, r *http.Request) {
	u.renderThread(w, r, http.StatusOK, "", "")
}

func (u *UI) renderThread(w http.ResponseWriter, r *http.Request, status int, problem, draft string) {
	c, ok := u.contactOr404(w, r, r.PathValue("contact"))
	if !ok {
		return
	}
	d := threadData{Contact: c, Problem: problem, Draft: draft, Sent: r.URL.Query().Get("done") == "sent"}
	msgs, err := u.DB.Messages(r.Context(), store.MessageFilter{ContactID: c.ID, Limit: threadLength})
	if err != nil {
		u.Log.Error("web: conversation", "err", err)
		u.fail(w, r, http.StatusInternalServerError, "The conversation could not be read; the log says why.")
		return
	}
	slices.Reverse(msgs)
	d.Thread = msgs
	now := u.now()
	d.LastIn, d.Consent, d.Why, err = u.replyCheck(r.Context(), c, now)
	if err != nil {
		u.Log.Error("web: conversation consent", "err", err)
		u.fail(w, r, http.StatusInternalServerError, "The conversation could not be read; the log says why.")
		return
	}
	d.CanReply = d.Why == ""
	d.Console = u.consoleFeed(c.Phone)
	u.render(w, r, status, "inbox-thread", page{Title: c.ID + " · Inbox", Nav: "inbox", Data: d})
}

func (u *UI) contactOr404(w http.ResponseWriter, r *http.Request, id string) (*smsflow.Contact, bool) {
	c, err := u.DB.Contact(r.Context(), id)
	if err == nil {
		return c, true
	}
	if smsflow.ErrorCode(err) == smsflow.ENOTFOUND {
		u.fail(w, r, http.StatusNotFound, "There is no contact "+strconv.Quote(id)+". The inbox lists the conversations.")
	} else {
		u.Log.Error("web: contact", "err", err)
		u.fail(w, r, http.StatusInternalServerError, "The contact could not be read; the log says why.")
	}
	return nil, false
}

// replyCheck says whether a person may answer the contact now, and if not
// why, in words: only within ReplyWindow of the contact's last inbound
// text, and never to a number that opted out.
func (u *UI) replyCheck(ctx context.Context, c *smsflow.Contact, now time.Time) (lastIn time.Time, consent smsflow.ConsentStatus, why string, err error) {
	consent = smsflow.ConsentNone
	if c.Phone == "" {
		return lastIn, consent, "This contact has no phone number.", nil
	}
	led, err := u.DB.ConsentLedger(ctx, c.Phone)
	if err != nil {
		return lastIn, consent, "", err
	}
	if led.Status != "" {
		consent = led.Status
	}
	in, err := u.DB.Messages(ctx, store.MessageFilter{ContactID: c.ID, Direction: "in", Limit: 1})
	if err != nil {
		return lastIn, consent, "", err
	}
	if len(in) > 0 {
		lastIn = in[0].CreatedAt
	}
	return lastIn, consent, replyRefusal(consent, lastIn, now), nil
}

// replyRefusal is why a reply may not go now ("" when it may).
func replyRefusal(consent smsflow.ConsentStatus, lastIn, now time.Time) string {
	switch {
	case consent == smsflow.ConsentUnsubscribed:
		return "This number opted out (STOP): nothing may be texted to it until it opts in again."
	case lastIn.IsZero():
		return "This contact has never texted in; replies are allowed within 24 hours of their last text."
	case now.Sub(lastIn) > ReplyWindow:
		return "The last text from this contact was " + ago(now.Sub(lastIn)) + "; replies are allowed within 24 hours of it."
	}
	return ""
}

// ago says a duration in the largest whole unit: "2 days ago".
func ago(d time.Duration) string {
	unit := func(n int64, one string) string {
		if n == 1 {
			return "1 " + one + " ago"
		}
		return strconv.FormatInt(n, 10) + " " + one + "s ago"
	}
	switch {
	case d >= 48*time.Hour:
		return unit(int64(d/(24*time.Hour)), "day")
	case d >= time.Hour:
		return unit(int64(d/time.Hour), "hour")
	default:
		return unit(int64(d/time.Minute), "minute")
	}
}

// errReplyRefused is a reply the transaction's own consent read refused.
var errReplyRefused = errors.New("reply refused")

// reply queues a person's answer as a conversation message through the
// outbox (so pacing, the last-moment STOP check and crash safety apply),
// after checking the window and consent again; it is in the timeline
// with who sent it (step conversation:admin).
func (u *UI) reply(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		u.fail(w, r, http.StatusBadRequest, "The reply could not be read; it may be too long. Go back and shorten it.")
		return
	}
	body := strings.TrimSpace(smsflow.CleanText(r.PostForm.Get("body")))
	if body == "" {
		u.renderThread(w, r, http.StatusBadRequest, "Write a reply first: it is empty.", "")
		return
	}
	if n := utf8.RuneCountInString(body); n > MaxReply {
		u.renderThread(w, r, http.StatusBadRequest, fmt.Sprintf("The reply is %d characters long; at most %d fit.", n, MaxReply), body)
		return
	}
	c, ok := u.contactOr404(w, r, r.PathValue("contact"))
	if !ok {
		return
	}
	now := u.now()
	_, _, why, err := u.replyCheck(r.Context(), c, now)
	if err != nil {
		u.Log.Error("web: reply check", "err", err)
		u.fail(w, r, http.StatusInternalServerError, "The reply could not be sent; the log says why.")
		return
	}
	if why != "" {
		u.renderThread(w, r, http.StatusConflict, "Not sent. "+why, body)
		return
	}
	info := segments.Measure(body)
	var m *smsflow.Message
	err = writeTx(r.Context(), u.DB, func(tx WriteTx) error {
		if err := tx.LockContact(c.ID); err != nil {
			return err
		}
		cur, err := tx.ContactByID(c.ID)
		if err != nil {
			return err
		}
		if cur == nil || cur.Phone == "" {
			return errReplyRefused
		}
		st, err := tx.ContactConsent(cur.Phone)
		if err != nil {
			return err
		}
		if st == smsflow.ConsentUnsubscribed {
			return errReplyRefused
		}
		m = &smsflow.Message{Direction: "out", ContactID: cur.ID, Phone: cur.Phone, Body: body, Encoding: info.Encoding,
			Characters: info.Characters, Segments: info.Segments, Status: smsflow.MessageQueued,
			Category: smsflow.CategoryConversation, StepID: smsflow.ConversationStepPrefix + sessionSender, CreatedAt: now, UpdatedAt: now}
		_, err = tx.InsertMessage(m)
		return err
	})
	if errors.Is(err, errReplyRefused) {
		u.renderThread(w, r, http.StatusConflict, "Not sent. This number opted out (STOP) or has no phone number any more.", body)
		return
	}
	if err != nil {
		u.Log.Error("web: queue reply", "err", err)
		u.fail(w, r, http.StatusInternalServerError, "The reply could not be sent; the log says why.")
		return
	}
	u.Log.Info("web: conversation reply queued", "contact", c.ID, "to", c.Phone, "message", m.ID, "by", sessionSender)
	if u.Sender != nil {
		u.Sender.Notify()
	}
	http.Redirect(w, r, "/inbox/"+url.PathEscape(c.ID)+"?done=sent", http.StatusSeeOther)
}

// consoleInbound texts in as the contact (console provider only), through
// the same path as POST /v1/console/inbound: keywords, consent, and the
// Message Replied event a waiting run reacts to.
func (u *UI) consoleInbound(w http.ResponseWriter, r *http.Request) {
	if u.Console == nil {
		u.fail(w, r, http.StatusConflict, "Texting in as a contact needs the console provider; with "+u.Config.Provider+" texts arrive through its webhook.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		u.fail(w, r, http.StatusBadRequest, "The text could not be read; it may be too long.")
		return
	}
	c, ok := u.contactOr404(w, r, r.PathValue("contact"))
	if !ok {
		return
	}
	if c.Phone == "" {
		u.fail(w, r, http.StatusConflict, "This contact has no phone number to text in from.")
		return
	}
	body := r.PostForm.Get("body")
	if strings.TrimSpace(body) == "" {
		u.renderThread(w, r, http.StatusBadRequest, "Write the contact's text first: it is empty.", "")
		return
	}
	if _, err := ingest.Inbound(r.Context(), u.DB, u.Clock, c.Phone, body, ingest.InboundOptionsFromConfig(u.Config, "console")); err != nil {
		if smsflow.ErrorCode(err) == smsflow.EINVALID {
			u.renderThread(w, r, http.StatusBadRequest, "Not received: "+smsflow.ErrorMessage(err), "")
			return
		}
		u.Log.Error("web: console inbound", "err", err)
		u.fail(w, r, http.StatusInternalServerError, "The text could not be received; the log says why.")
		return
	}
	if u.Engine != nil {
		u.Engine.Notify()
	}
	if u.Sender != nil {
		u.Sender.Notify()
	}
	http.Redirect(w, r, "/inbox/"+url.PathEscape(c.ID), http.StatusSeeOther)
}

// liveStreams ends the live console's event streams when the server shuts
// down (http.Server.Shutdown waits for handlers, and a stream never ends on
// its own).
type liveStreams struct {
	mu      sync.Mutex
	done    chan struct{}
	closed  bool
	running sync.WaitGroup
}

func (l *liveStreams) doneCh() chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done == nil {
		l.done = make(chan struct{})
	}
	return l.done
}

// Close ends every live console stream now and refuses new ones; smsflow
// serve calls it when shutdown starts. Safe to call twice.
func (u *UI) Close() {
	done := u.live.doneCh()
	u.live.mu.Lock()
	defer u.live.mu.Unlock()
	if !u.live.closed {
		u.live.closed = true
		close(done)
	}
}

// consoleKeepAlive is how often an idle stream sends a comment, so proxies
// and the browser keep the connection open, and looks again at its session
// (a variable for the tests).
var consoleKeepAlive = 25 * time.Second

// consoleEvent is one sent text on the live console's stream.
type consoleEvent struct {
	ID       int64     `json:"id"`
	Contact  string    `json:"contact"`
	To       string    `json:"to"`
	Body     string    `json:"body"`
	Flow     string    `json:"flow,omitempty"`
	Step     string    `json:"step,omitempty"`
	Segments int       `json:"segments"`
	At       time.Time `json:"at"`
}

// consoleEvents streams the console provider's texts as server-sent events
// ("sms", JSON): those sent after ?after= (an id the page already shows)
// and every one sent while the page is open, to ?phone= only when given.
// The stream ends when the browser leaves, the server shuts down, or its
// session ends — logged out on any node, or past its cookie's end — within
// consoleKeepAlive; the browser's EventSource then reconnects with the
// cookie it has, or gets the login page.
func (u *UI) consoleEvents(w http.ResponseWriter, r *http.Request) {
	if u.Console == nil {
		u.fail(w, r, http.StatusNotFound, "The live console needs the console provider (provider: console).")
		return
	}
	q := r.URL.Query()
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
	phone := q.Get("phone")
	done := u.live.doneCh()
	u.live.mu.Lock()
	if u.live.closed {
		u.live.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	u.live.running.Add(1)
	u.live.mu.Unlock()
	defer u.live.running.Done()

	feed, stop := u.Console.Watch() // before the backlog: nothing falls between
	defer stop()
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // the server's WriteTimeout would cut the stream
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	sent := map[int64]bool{}
	send := func(m smsflow.Message) bool {
		if (phone != "" && m.Phone != phone) || sent[m.ID] {
			return true
		}
		sent[m.ID] = true
		b, _ := json.Marshal(consoleEvent{ID: m.ID, Contact: m.ContactID, To: m.Phone, Body: m.Body, Flow: m.FlowID, Step: m.StepID, Segments: m.Segments, At: m.CreatedAt})
		if _, err := fmt.Fprintf(w, "event: sms\nid: %d\ndata: %s\n\n", m.ID, b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if _, err := fmt.Fprint(w, ": live console\n\n"); err != nil || rc.Flush() != nil {
		return
	}
	for _, m := range u.Console.Recent() {
		if m.ID > after && !send(m) {
			return
		}
	}
	tick := time.NewTicker(consoleKeepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-done:
			return
		case m := <-feed:
			if !send(m) {
				return
			}
		case <-tick.C:
			if !u.sessionLive(r) {
				return
			}
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}
