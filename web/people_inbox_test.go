package web

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/internal/testkit"
	"github.com/smsflow/smsflow/store"
	"github.com/smsflow/smsflow/store/storetest"
)

func countRows(body string) int { return strings.Count(body, "<tr data-message=") }

func TestMessagesFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPeopleUI(t, db)
		var unknown *smsflow.Message
		for i := range 60 {
			st := smsflow.MessageDelivered
			if i%20 == 0 {
				st = smsflow.MessageUnknown
			}
			m := addMessage(t, db, smsflow.Message{ContactID: "ana", Body: "promo", Status: st, FlowID: "promo", StepID: "s" + string(rune('a'+i%26)), CreatedAt: time.Date(2026, 3, 2, 9, i, 0, 0, time.UTC)})
			if st == smsflow.MessageUnknown {
				unknown = m
			}
		}
		addMessage(t, db, smsflow.Message{ContactID: "ana", Direction: "in", Body: "thanks", Status: "received", CreatedAt: time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)})

		_, body, _ := p.get(t, "/messages?status=unknown")
		if n := countRows(body); n != 3 || strings.Count(body, `data-status="unknown"`) != 3 {
			t.Errorf("status=unknown shows %d rows, want the 3 unknown", n)
		}
		if !strings.Contains(body, `action="/messages/resend"`) || !strings.Contains(body, `action="/messages/give-up"`) {
			t.Error("unknown messages have no resend / give-up buttons")
		}
		_, body, _ = p.get(t, "/messages?direction=in")
		if n := countRows(body); n != 1 || !strings.Contains(body, "thanks") {
			t.Errorf("direction=in shows %d rows", n)
		}
		_, body, _ = p.get(t, "/messages?from=2026-03-03&to=2026-03-03")
		if n := countRows(body); n != 1 {
			t.Errorf("the 3 March shows %d rows, want 1", n)
		}
		// Keyset pages: 61 messages, 50 then 11.
		_, body, _ = p.get(t, "/messages")
		if n := countRows(body); n != MessagesPage {
			t.Fatalf("the first page has %d rows", n)
		}
		older := regexp.MustCompile(`href="([^"]*)" rel="next" id="older"`).FindStringSubmatch(body)
		if older == nil {
			t.Fatal("the first page has no Older link")
		}
		next := strings.ReplaceAll(older[1], "&amp;", "&")
		_, body2, _ := p.get(t, next)
		if n := countRows(body2); n != 11 || strings.Contains(body2, `id="older"`) {
			t.Errorf("the second page (%s) has %d rows, want the last 11 and no Older link", next, n)
		}
		for q, want := range map[string]string{
			"status=lost":                   "There is no status",
			"direction=up":                  "The direction is",
			"from=3/2/2026":                 "year-month-day",
			"from=2026-03-04&to=2026-03-02": "after the",
			"before=-1":                     "Older",
		} {
			code, body, _ := p.get(t, "/messages?"+q)
			if code != http.StatusBadRequest || !strings.Contains(body, want) {
				t.Errorf("?%s: %d, want 400 saying %q", q, code, want)
			}
		}

		// Give up an unknown message, with the CSRF token; without it refused.
		if code, _, _ := p.post(t, "/messages/give-up", url.Values{"ids": {itoa(unknown.ID)}, CSRFField: {"wrong"}}); code != http.StatusForbidden {
			t.Errorf("give up with a wrong token: %d, want 403", code)
		}
		code, _, h := p.post(t, "/messages/give-up", url.Values{"ids": {itoa(unknown.ID), itoa(unknown.ID - 1)}})
		if code != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "done=given_up&n=1&skipped=1") {
			t.Fatalf("give up: %d to %s", code, h.Get("Location"))
		}
		got := must(db.Messages(bg, store.MessageFilter{Status: smsflow.MessageCanceled}))(t)
		if len(got) != 1 || got[0].ID != unknown.ID || got[0].ErrorCode != codeGivenUp {
			t.Errorf("after giving up: canceled %+v", got)
		}
		if code, body, _ := p.post(t, "/messages/resend", url.Values{"ids": {"x"}}); code != http.StatusBadRequest || !strings.Contains(body, "positive whole number") {
			t.Errorf("resend ids=x: %d", code)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// A reply is allowed within 24 hours of the contact's last text and never
// to a number that opted out; the page says why when not, and the server
// checks again when it is sent.
func TestInboxReply(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPeopleUI(t, db)
		opt := testkit.InboundOptions()
		res := testkit.Text(t, db, p.clock, "(415) 555-0101", "Do you ship to Canada?", opt)
		id := res.ContactID
		_, body, _ := p.get(t, "/inbox")
		if !strings.Contains(body, "Do you ship to Canada?") || !strings.Contains(body, `href="/inbox/phone:&#43;14155550101"`) {
			t.Errorf("the inbox does not list the conversation")
		}
		_, body, _ = p.get(t, "/inbox/"+url.PathEscape(id))
		if strings.Contains(body, `id="reply" name="body" rows="3" disabled`) {
			t.Error("the reply box is disabled right after the contact's text")
		}
		code, _, h := p.post(t, "/inbox/"+url.PathEscape(id)+"/reply", url.Values{"body": {"Yes, we do!"}})
		if code != http.StatusSeeOther || !strings.HasSuffix(h.Get("Location"), "?done=sent") {
			t.Fatalf("reply: %d to %s", code, h.Get("Location"))
		}
		out := testkit.Outbound(t, db, id)
		if len(out) != 1 || out[0].Body != "Yes, we do!" || out[0].Category != smsflow.CategoryConversation ||
			out[0].StepID != "conversation:admin" || out[0].Status != smsflow.MessageQueued || out[0].RunID != 0 {
			t.Fatalf("queued: %+v", out)
		}
		_, body, _ = p.get(t, "/contacts/"+url.PathEscape(id))
		if !strings.Contains(body, "conversation reply by admin") {
			t.Error("the timeline does not say who sent the reply")
		}

		// Two days later the box is closed and says why; a post is refused.
		p.clock.Add(48 * time.Hour)
		p.relogin(t) // the session ended meanwhile
		_, body, _ = p.get(t, "/inbox/"+url.PathEscape(id))
		why := "The last text from this contact was 2 days ago; replies are allowed within 24 hours of it."
		if !strings.Contains(body, why) || !strings.Contains(body, `rows="3" disabled`) {
			t.Errorf("two days later the reply box is open or silent")
		}
		code, body, _ = p.post(t, "/inbox/"+url.PathEscape(id)+"/reply", url.Values{"body": {"Still there?"}})
		if code != http.StatusConflict || !strings.Contains(body, why) {
			t.Errorf("a reply after 48 h: %d, want 409 saying why", code)
		}
		// A new text opens it; STOP closes it for good.
		testkit.Text(t, db, p.clock, "+14155550101", "STOP", opt)
		_, body, _ = p.get(t, "/inbox/"+url.PathEscape(id))
		if !strings.Contains(body, "This number opted out (STOP)") {
			t.Errorf("after STOP the page does not say the number opted out")
		}
		code, _, _ = p.post(t, "/inbox/"+url.PathEscape(id)+"/reply", url.Values{"body": {"Sorry to see you go"}})
		if code != http.StatusConflict {
			t.Errorf("a reply after STOP: %d, want 409", code)
		}
		for _, m := range testkit.Outbound(t, db, id) {
			if m.Category == smsflow.CategoryConversation && m.Body != "Yes, we do!" {
				t.Errorf("a refused reply was queued: %q", m.Body)
			}
		}
		if code, body, _ := p.post(t, "/inbox/"+url.PathEscape(id)+"/reply", url.Values{"body": {"  "}}); code != http.StatusBadRequest || !strings.Contains(body, "empty") {
			t.Errorf("an empty reply: %d", code)
		}
		if code, _, _ := p.post(t, "/inbox/"+url.PathEscape(id)+"/reply", url.Values{"body": {"hi"}, CSRFField: {"stale"}}); code != http.StatusForbidden {
			t.Errorf("a reply without the right token: %d, want 403", code)
		}
	})
}

func TestReplyRefusal(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		consent smsflow.ConsentStatus
		lastIn  time.Time
		want    string
	}{
		{smsflow.ConsentSubscribed, now.Add(-23 * time.Hour), ""},
		{smsflow.ConsentNone, now.Add(-24 * time.Hour), ""},
		{smsflow.ConsentSubscribed, now.Add(-25 * time.Hour), "The last text from this contact was 25 hours ago; replies are allowed within 24 hours of it."},
		{smsflow.ConsentSubscribed, now.Add(-50 * time.Hour), "The last text from this contact was 2 days ago; replies are allowed within 24 hours of it."},
		{smsflow.ConsentUnsubscribed, now.Add(-time.Minute), "This number opted out (STOP): nothing may be texted to it until it opts in again."},
		{smsflow.ConsentSubscribed, time.Time{}, "This contact has never texted in; replies are allowed within 24 hours of their last text."},
	} {
		if got := replyRefusal(tc.consent, tc.lastIn, now); got != tc.want {
			t.Errorf("replyRefusal(%s, %s) = %q, want %q", tc.consent, now.Sub(tc.lastIn), got, tc.want)
		}
	}
}

// The live console's stream sends what the console provider sends, and
// ends when the browser goes away and when the server shuts down: no
// goroutine is left behind.
func TestConsoleEventsEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPeopleUI(t, db)
		srv := httptest.NewServer(p.UI)
		defer srv.Close()
		open := func(ctx context.Context) (*http.Response, *bufio.Reader) {
			req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/inbox/events?after=0", nil)
			req.AddCookie(p.cookie)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			rd := bufio.NewReader(resp.Body)
			if line, _ := rd.ReadString('\n'); line != ": live console\n" {
				t.Fatalf("first line %q", line)
			}
			return resp, rd
		}
		ctx, cancel := context.WithCancel(bg)
		resp, rd := open(ctx)
		if _, err := p.Console.Send(bg, &smsflow.Message{ID: 41, ContactID: "ana", Phone: "+14155550101", Body: "Live <b>now</b>"}); err != nil {
			t.Fatal(err)
		}
		var got string
		for !strings.HasPrefix(got, "data: ") {
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatalf("stream ended before the text: %v", err)
			}
			got = line
		}
		if !strings.Contains(got, `"id":41`) || !strings.Contains(got, `Live \u003cb\u003enow\u003c/b\u003e`) {
			t.Errorf("event %s", got)
		}
		cancel() // the browser leaves
		resp.Body.Close()
		waitStreams(t, p.UI, "after the browser left")
		if n := p.Console.Watchers(); n != 0 {
			t.Errorf("%d console watches left open", n)
		}

		resp, _ = open(bg) // shutdown ends an open stream
		defer resp.Body.Close()
		p.UI.Close()
		waitStreams(t, p.UI, "after Close")
		p.UI.Close() // twice is fine
	})
}

// waitStreams waits for the streams' own end (their WaitGroup), failing
// after a generous bound.
func waitStreams(t *testing.T, u *UI, when string) {
	t.Helper()
	done := make(chan struct{})
	go func() { u.live.running.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("a live console stream is still running %s", when)
	}
}
