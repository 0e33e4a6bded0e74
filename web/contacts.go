package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/phone"
)

// TimelinePage is how many timeline entries a contact's page shows at once
// (newest first; "Older" shows the next ones).
const TimelinePage = 50

// maxQuery bounds the contact search box: longer is neither an id nor a
// phone number.
const maxQuery = 200

type contactsData struct {
	Query   string
	Problem string // why the search found nothing, in words
}

// contacts is the search: by contact id, or by phone number in any format
// (normalized as GET /v1/contacts?phone= does, with default_region). A
// match opens the contact's page.
func (u *UI) contacts(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	d := contactsData{Query: q}
	if q == "" {
		u.render(w, r, http.StatusOK, "contacts", page{Title: "Contacts", Nav: "contacts", Data: d})
		return
	}
	if len(q) > maxQuery {
		d.Query, d.Problem = "", fmt.Sprintf("That search is %d characters long; a contact id or phone number is at most %d.", len(q), maxQuery)
		u.render(w, r, http.StatusBadRequest, "contacts", page{Title: "Contacts", Nav: "contacts", Data: d})
		return
	}
	c, err := u.DB.Contact(r.Context(), q)
	if err != nil && smsflow.ErrorCode(err) != smsflow.ENOTFOUND {
		u.Log.Error("web: find contact", "err", err)
		u.fail(w, r, http.StatusInternalServerError, "The contact could not be looked up; the log says why.")
		return
	}
	if c == nil {
		n, perr := phone.Parse(q, u.Config.DefaultRegion)
		if perr == nil {
			c, err = u.DB.ContactByPhone(r.Context(), n.E164)
			if err != nil && smsflow.ErrorCode(err) != smsflow.ENOTFOUND {
				u.Log.Error("web: find contact by phone", "err", err)
				u.fail(w, r, http.StatusInternalServerError, "The contact could not be looked up; the log says why.")
				return
			}
			if c == nil {
				d.Problem = "No contact has the id " + strconv.Quote(q) + " or the number " + n.E164 + "."
			}
		} else {
			d.Problem = "No contact has the id " + strconv.Quote(q) + ", and it is not a phone number: " + smsflow.ErrorMessage(perr)
		}
	}
	if c == nil {
		u.render(w, r, http.StatusNotFound, "contacts", page{Title: "Contacts", Nav: "contacts", Data: d})
		return
	}
	http.Redirect(w, r, "/contacts/"+url.PathEscape(c.ID), http.StatusSeeOther)
}

type ledgerRow struct {
	smsflow.ConsentEntry
	Evidence []trait
}

// timelineRow is one timeline entry as the page shows it: what happened in
// words, and its details.
type timelineRow struct {
	Kind    string // event, consent, message, decision
	Title   string // "deferred: quiet hours until 08:00 America/Chicago"
	At      time.Time
	Body    string // a message's text
	Status  string // a message's delivery status
	Details []trait
}

type contactData struct {
	Contact  *smsflow.Contact
	Zone     string
	Consent  smsflow.ConsentStatus
	Ledger   []ledgerRow
	Traits   []trait
	Timeline []timelineRow
	Older    string // the "Older" link, "" on the last page
	Newest   bool   // this is the first page
}

// contact is a contact's page: consent status, the ledger with its
// evidence, traits, and the timeline of GET /v1/contacts/{id}/timeline,
// newest first, TimelinePage entries at a time (?before= a cursor).
func (u *UI) contact(w http.ResponseWriter, r *http.Request) {
	c, err := u.DB.Contact(r.Context(), r.PathValue("id"))
	if err != nil {
		if smsflow.ErrorCode(err) == smsflow.ENOTFOUND {
			u.fail(w, r, http.StatusNotFound, "There is no contact "+strconv.Quote(r.PathValue("id"))+". Search for it by id or phone number on the Contacts page.")
			return
		}
		u.Log.Error("web: contact", "err", err)
		u.fail(w, r, http.StatusInternalServerError, "The contact could not be read; the log says why.")
		return
	}
	var before int64
	if b := r.URL.Query().Get("before"); b != "" {
		if before, err = strconv.ParseInt(b, 10, 64); err != nil || before <= 0 {
			u.fail(w, r, http.StatusBadRequest, "The timeline's ?before= is a position from its \"Older\" link, a positive whole number; open the contact's page again.")
			return
		}
	}
	d := contactData{Contact: c, Zone: contactZone(c), Newest: before == 0}
	if c.Phone != "" {
		consent, err := u.DB.ConsentLedger(r.Context(), c.Phone)
		if err != nil {
			u.Log.Error("web: consent ledger", "err", err)
			u.fail(w, r, http.StatusInternalServerError, "The contact's consent could not be read; the log says why.")
			return
		}
		d.Consent = consent.Status
		for _, e := range consent.Ledger {
			d.Ledger = append(d.Ledger, ledgerRow{ConsentEntry: e, Evidence: pairs(e.Evidence)})
		}
	}
	if d.Consent == "" {
		d.Consent = smsflow.ConsentNone
	}
	d.Traits = pairs(c.Traits)
	items, err := u.DB.Timeline(r.Context(), c)
	if err != nil {
		u.Log.Error("web: timeline", "err", err)
		u.fail(w, r, http.StatusInternalServerError, "The contact's timeline could not be read; the log says why.")
		return
	}
	d.Timeline, d.Older = timelinePage(items, before, d.Zone)
	if d.Older != "" {
		d.Older = "/contacts/" + url.PathEscape(c.ID) + "?before=" + d.Older
	}
	u.render(w, r, http.StatusOK, "contact", page{Title: c.ID + " · Contacts", Nav: "contacts", Data: d})
}

// timelinePage turns the timeline (oldest first, as the API returns it)
// into one page, newest first: the entries before the cursor (a time in
// Unix microseconds; 0 for the newest), and the cursor of the next page.
// Entries sharing the page's last instant all stay on the page, so the
// cursor never splits them.
func timelinePage(items []smsflow.TimelineItem, before int64, zone string) ([]timelineRow, string) {
	rows := []timelineRow{}
	i := len(items) - 1
	for ; i >= 0; i-- {
		if before == 0 || items[i].Timestamp.UnixMicro() < before {
			break
		}
	}
	for ; i >= 0; i-- {
		it := items[i]
		if len(rows) >= TimelinePage && !it.Timestamp.Equal(rows[len(rows)-1].At) {
			return rows, strconv.FormatInt(rows[len(rows)-1].At.UnixMicro(), 10)
		}
		rows = append(rows, describeItem(it, zone))
	}
	return rows, ""
}

// describeItem says what a timeline entry is in words.
func describeItem(it smsflow.TimelineItem, zone string) timelineRow {
	row := timelineRow{Kind: it.Type, At: it.Timestamp, Title: it.Type + ": " + it.Name}
	d := it.Data
	switch it.Type {
	case "message":
		row.Body, _ = d["body"].(string)
		row.Status, _ = d["status"].(string)
		step, _ := d["step"].(string)
		if it.Name == "inbound" {
			row.Title = "reply received"
		} else {
			row.Title = "text sent"
			switch {
			case strings.HasPrefix(step, smsflow.ConversationStepPrefix):
				row.Title = "conversation reply by " + strings.TrimPrefix(step, smsflow.ConversationStepPrefix)
			case strings.HasPrefix(step, "keyword:"):
				row.Title = "automatic reply (" + strings.TrimPrefix(step, "keyword:") + ")"
			}
		}
		row.Details = keep(d, "flow", "step", "encoding", "characters", "segments", "error_code", "id")
	case "decision":
		row.Title = DescribeDecision(it.Name, zone)
		row.Details = keep(d, "flow", "step", "detail")
	case "consent":
		row.Title = "consent: " + it.Name
		if src, _ := d["source"].(string); src != "" {
			row.Title += " (" + src + ")"
		}
		row.Details = keep(d, "phone", "message_id", "recorded_at")
		if ev, ok := d["evidence"].(map[string]any); ok {
			row.Details = append(row.Details, pairs(ev)...)
		}
	case "event":
		row.Title = "event: " + it.Name
		if p, ok := d["properties"].(map[string]any); ok {
			row.Details = append(row.Details, pairs(p)...)
		}
		if tr, ok := d["traits"].(map[string]any); ok {
			for _, p := range pairs(tr) {
				row.Details = append(row.Details, trait{"trait " + p.Key, p.Value})
			}
		}
		row.Details = append(row.Details, keep(d, "trust")...)
	}
	return row
}

// DescribeDecision says a stored decision reason in words, with its
// deferral's end in the contact's zone: "deferred:quiet_hours(until=…)" is
// "deferred: quiet hours until 08:00 America/Chicago",
// "skipped:cap(rule=marketing-daily)" is "skipped: cap marketing-daily".
func DescribeDecision(reason, zone string) string {
	head, arg := reason, ""
	if i := strings.IndexByte(reason, '('); i >= 0 && strings.HasSuffix(reason, ")") {
		head, arg = reason[:i], reason[i+1:len(reason)-1]
	}
	out := strings.ReplaceAll(head, "_", " ")
	if i := strings.IndexByte(out, ':'); i >= 0 {
		out = out[:i] + ": " + out[i+1:]
	}
	if arg == "" {
		return out
	}
	key, val, ok := strings.Cut(arg, "=")
	if !ok {
		return out + " " + arg
	}
	if key == "until" {
		if t, err := time.Parse(time.RFC3339, val); err == nil {
			return out + " until " + localTime(t, zone)
		}
	}
	if key == "code" {
		return out + " (" + val + ")"
	}
	return out + " " + val
}

// localTime is a time on a clock of zone: "08:00 America/Chicago", with
// the date after it, "08:00 America/Chicago (Tue 3 Mar)".
func localTime(t time.Time, zone string) string {
	loc, err := time.LoadLocation(zone)
	if zone == "" || err != nil {
		loc, zone = time.UTC, "UTC"
	}
	lt := t.In(loc)
	return lt.Format("15:04") + " " + zone + " (" + lt.Format("Mon 2 Jan 2006") + ")"
}

// contactZone is the zone the contact's local times are in: the explicit
// one, else the number's first candidate, else "".
func contactZone(c *smsflow.Contact) string {
	if c.Timezone != "" {
		return c.Timezone
	}
	if len(c.Timezones) > 0 {
		return c.Timezones[0]
	}
	return ""
}

// pairs lists a map's entries by key, values as text (JSON for
// non-strings); the template escapes them.
func pairs(m map[string]any) []trait {
	out := make([]trait, 0, len(m))
	for k, v := range m {
		out = append(out, trait{k, text(v)})
	}
	slices.SortFunc(out, func(a, b trait) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// keep lists the named entries of m that are set, in the order named.
func keep(m map[string]any, keys ...string) []trait {
	var out []trait
	for _, k := range keys {
		v, ok := m[k]
		if !ok || v == nil || v == "" || v == 0 || v == int64(0) {
			continue
		}
		out = append(out, trait{strings.ReplaceAll(k, "_", " "), text(v)})
	}
	return out
}

func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
