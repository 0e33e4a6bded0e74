package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/sms/links"
	"github.com/smsflow/smsflow/store"
)

func (s *Server) ctxBG() context.Context { return context.Background() }

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.MessageFilter{ContactID: q.Get("contact"), FlowID: q.Get("flow"), Status: q.Get("status")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			s.writeError(w, r, smsflow.FieldErrorf(smsflow.EINVALID, "limit", "limit must be a whole number from 1 to 1000"))
			return
		}
		f.Limit = n
	}
	msgs, err := s.db.Messages(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": msgs})
}

// consoleInbound takes a reply typed for the console provider:
// {"from": "+1…", "body": "…"}.
func (s *Server) consoleInbound(w http.ResponseWriter, r *http.Request) {
	if s.Console == nil {
		s.writeError(w, r, smsflow.Errorf(smsflow.ECONFLICT, "the console provider is not in use (provider: %s); inbound texts arrive through that provider's webhook", s.cfg.Provider))
		return
	}
	var in struct {
		From string `json:"from"`
		Body string `json:"body"`
	}
	if err := decodeJSON(r, 16<<10, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.From == "" {
		s.writeError(w, r, smsflow.FieldErrorf(smsflow.EINVALID, "from", "from is required: the phone number the text comes from"))
		return
	}
	res, err := ingest.Inbound(r.Context(), s.db, s.clock, in.From, in.Body, ingest.InboundOptionsFromConfig(s.cfg, "console"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.Engine != nil {
		s.Engine.Notify()
	}
	if s.Sender != nil {
		s.Sender.Notify() // a keyword reply is queued: send it now, not at the next poll
	}
	writeJSON(w, http.StatusCreated, res)
}

// maxLinkCode is the longest link code looked up; codes are 7 characters,
// longer ones are unknown without asking the database.
const maxLinkCode = 64

// followLink redirects a tracked link and records the click. Link-preview
// bots, prefetches and HEAD requests are redirected too but record no click;
// an unknown code gets a friendly HTML 404 page, or 429 when the client has
// looked up too many unknown codes (linkProbes).
func (s *Server) followLink(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	var l *store.Link
	var err error
	if bad := smsflow.CheckID("code", code, maxLinkCode); bad != nil {
		err = bad // a code no link can have: unknown, without asking the database
	} else {
		l, err = s.db.LinkByCode(r.Context(), code)
	}
	if err != nil {
		if ec := smsflow.ErrorCode(err); ec != smsflow.ENOTFOUND && ec != smsflow.EINVALID {
			s.writeError(w, r, err)
			return
		}
		client := clientAddress(r)
		if ok, retry, first := s.probes.spend(client, s.clock.Now()); !ok {
			if first {
				s.log.Warn("too many unknown link codes from one client; answering 429 until its budget refills", "client", client, "retry_after", retry.Round(time.Second))
			}
			links.ServeTooManyLookups(w, r, s.cfg.Brand.Name, retry)
			return
		}
		links.ServeNotFound(w, r, s.cfg.Brand.Name)
		return
	}
	w.Header().Set("Cache-Control", "private, no-store") // every click comes back here
	if r.Method == http.MethodHead || links.IsPrefetch(r.Header, r.UserAgent()) {
		s.log.Debug("tracked link fetched by a preview bot or prefetch; no click recorded", "code", code, "method", r.Method, "user_agent", r.UserAgent())
		http.Redirect(w, r, l.URL, http.StatusFound)
		return
	}
	if err := ingest.Click(r.Context(), s.db, s.clock, l, r.UserAgent()); err != nil {
		s.log.Error("record click", "code", code, "err", err)
	} else if s.Engine != nil {
		s.Engine.Notify()
	}
	http.Redirect(w, r, l.URL, http.StatusFound)
}
