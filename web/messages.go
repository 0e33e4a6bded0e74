package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// MessagesPage is how many messages the log shows at once.
const MessagesPage = 50

// messageStatuses are the statuses the log filters by, in the order a
// message goes through them.
var messageStatuses = []string{smsflow.MessageQueued, smsflow.MessageSending, smsflow.MessageSent, smsflow.MessageDelivered,
	smsflow.MessageUndelivered, smsflow.MessageFailed, smsflow.MessageUnknown, smsflow.MessageCanceled, smsflow.MessageReceived}

// The error codes an operator's decision on an unknown message records:
// the same as POST /v1/messages/resend and /give-up (api/unknown.go).
const (
	codeResentByOperator = "resent:operator"
	codeGivenUp          = "given_up"
)

// messageFilters is the log's filter form, as given and as applied.
type messageFilters struct {
	Flow, Status, Direction, From, To, Contact string
}

type messagesData struct {
	Filters  messageFilters
	Statuses []string
	Flows    []string
	Messages []*smsflow.Message
	Unknown  []int64 // ids of the unknown messages shown (resend / give up all)
	Older    string  // the next page's link, "" on the last
	First    string  // the first page with the same filters
	Newest   bool
	Problem  string
}

// messages is the outbound and inbound log, newest first, with filters
// (flow, status, direction, date range, contact) and keyset pagination
// (?before= and ?at=: the id and time of the last message shown), through
// DB.MessageLog: GET /v1/messages's filters, ordered by time on indexes
// (D95).
func (u *UI) messages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := messagesData{Statuses: messageStatuses, Newest: q.Get("before") == ""}
	if u.Catalog != nil {
		for _, h := range u.Catalog.Heads() {
			d.Flows = append(d.Flows, h.ID)
		}
	}
	slices.Sort(d.Flows)
	d.Filters = messageFilters{Flow: q.Get("flow"), Status: q.Get("status"), Direction: q.Get("direction"),
		From: q.Get("from"), To: q.Get("to"), Contact: q.Get("contact")}
	f, problem := d.Filters.parse(q.Get("before"), q.Get("at"))
	if problem != "" {
		d.Problem = problem
		u.render(w, r, http.StatusBadRequest, "messages", page{Title: "Messages", Nav: "messages", Data: d})
		return
	}
	f.Limit = MessagesPage + 1
	msgs, err := u.DB.MessageLog(r.Context(), f)
	if err != nil {
		u.Log.Error("web: messages", "err", err)
		u.fail(w, r, http.StatusInternalServerError, "The messages could not be read; the log says why.")
		return
	}
	next := url.Values{}
	for k, v := range map[string]string{"flow": d.Filters.Flow, "status": d.Filters.Status, "direction": d.Filters.Direction,
		"from": d.Filters.From, "to": d.Filters.To, "contact": d.Filters.Contact} {
		if v != "" {
			next.Set(k, v)
		}
	}
	d.First = "/messages?" + next.Encode()
	if len(msgs) > MessagesPage {
		msgs = msgs[:MessagesPage]
		last := msgs[len(msgs)-1]
		next.Set("before", strconv.FormatInt(last.ID, 10))
		next.Set("at", strconv.FormatInt(last.CreatedAt.UnixMicro(), 10))
		d.Older = "/messages?" + next.Encode()
	}
	d.Messages = msgs
	for _, m := range msgs {
		if m.Status == smsflow.MessageUnknown {
			d.Unknown = append(d.Unknown, m.ID)
		}
	}
	u.render(w, r, http.StatusOK, "messages", page{Title: "Messages", Nav: "messages", Flash: messagesFlash(r), Data: d})
}

// parse checks the filters as a person typed them and turns them into the
// store's filter, or says what to fix.
func (mf messageFilters) parse(before, at string) (store.MessageFilter, string) {
	f := store.MessageFilter{FlowID: mf.Flow, ContactID: mf.Contact}
	for _, v := range []string{mf.Flow, mf.Contact} {
		if len(v) > maxQuery || !utf8.ValidString(v) {
			return f, "A flow or contact filter is an id of at most 200 characters."
		}
	}
	if mf.Status != "" {
		if !slices.Contains(messageStatuses, mf.Status) {
			return f, "There is no status " + strconv.Quote(mf.Status) + "; pick one of " + strings.Join(messageStatuses, ", ") + "."
		}
		f.Status = mf.Status
	}
	switch mf.Direction {
	case "", "in", "out":
		f.Direction = mf.Direction
	default:
		return f, "The direction is \"in\" (received) or \"out\" (sent)."
	}
	for _, x := range []struct {
		v   string
		to  *time.Time
		end bool
	}{{mf.From, &f.Since, false}, {mf.To, &f.Until, true}} {
		if x.v == "" {
			continue
		}
		day, err := time.Parse(time.DateOnly, x.v)
		if err != nil {
			return f, "Dates are written year-month-day, like 2026-03-02; " + strconv.Quote(x.v) + " is not one."
		}
		if x.end {
			day = day.AddDate(0, 0, 1) // "to" includes that whole day
		}
		*x.to = day
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, "The \"from\" date is after the \"to\" date."
	}
	if before != "" || at != "" {
		n, err := strconv.ParseInt(before, 10, 64)
		us, err2 := strconv.ParseInt(at, 10, 64)
		if err != nil || err2 != nil || n <= 0 || us <= 0 {
			return f, "The page position (?before= and ?at=) comes from the \"Older\" link; open Messages again."
		}
		f.Before, f.BeforeAt = n, time.UnixMicro(us)
	}
	return f, ""
}

// messagesFlash says what an operator's decision on unknown messages did.
func messagesFlash(r *http.Request) string {
	q := r.URL.Query()
	n, _ := strconv.Atoi(q.Get("n"))
	s, _ := strconv.Atoi(q.Get("skipped"))
	var verb string
	switch q.Get("done") {
	case "resent":
		verb = "queued again"
	case "given_up":
		verb = "given up (never resent)"
	default:
		return ""
	}
	msg := strconv.Itoa(n) + " unknown message(s) " + verb + "."
	if s > 0 {
		msg += " " + strconv.Itoa(s) + " were not unknown any more and were left alone."
	}
	return msg
}

func (u *UI) resendUnknown(w http.ResponseWriter, r *http.Request) {
	now := u.now()
	u.decideUnknown(w, r, "resent", func(tx WriteTx, id int64) (bool, error) {
		return tx.RequeueUnknown(id, codeResentByOperator, now)
	})
	if u.Sender != nil {
		u.Sender.Notify()
	}
}

func (u *UI) giveUpUnknown(w http.ResponseWriter, r *http.Request) {
	now := u.now()
	u.decideUnknown(w, r, "given_up", func(tx WriteTx, id int64) (bool, error) {
		return tx.GiveUpUnknown(id, codeGivenUp, now)
	})
}

// MaxUnknownIDs bounds the ids one resend or give-up form takes, as the
// API's.
const MaxUnknownIDs = 1000

// decideUnknown applies an operator's decision to the unknown messages of
// the form's ids (one transaction), then goes back to the unknown ones.
func (u *UI) decideUnknown(w http.ResponseWriter, r *http.Request, done string, apply func(tx WriteTx, id int64) (bool, error)) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		u.fail(w, r, http.StatusBadRequest, "The form could not be read; go back to Messages and try again.")
		return
	}
	raw := r.PostForm["ids"]
	if len(raw) == 0 || len(raw) > MaxUnknownIDs {
		u.fail(w, r, http.StatusBadRequest, "Choose from 1 to 1000 unknown messages; go back to Messages filtered by status unknown.")
		return
	}
	var ids []int64
	for _, s := range raw {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			u.fail(w, r, http.StatusBadRequest, "A message id is a positive whole number, not "+strconv.Quote(s)+".")
			return
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var applied, skipped int
	err := writeTx(r.Context(), u.DB, func(tx WriteTx) error {
		applied, skipped = 0, 0
		for _, id := range ids {
			ok, err := apply(tx, id)
			if err != nil {
				return err
			}
			if ok {
				applied++
			} else {
				skipped++
			}
		}
		return nil
	})
	if err != nil {
		u.Log.Error("web: decide unknown messages", "decision", done, "err", err)
		u.fail(w, r, http.StatusInternalServerError, "The messages could not be changed; the log says why.")
		return
	}
	u.Log.Info("web: unknown messages decided", "decision", done, "applied", applied, "skipped", skipped, "by", "admin")
	http.Redirect(w, r, "/messages?status=unknown&done="+done+"&n="+strconv.Itoa(applied)+"&skipped="+strconv.Itoa(skipped), http.StatusSeeOther)
}
