// Package twiliotest is a stand-in for Twilio's Messages API on loopback: a
// real HTTP server that takes the form POST the twilio provider makes
// (Basic auth, /2010-04-01/Accounts/{sid}/Messages.json), checks it as
// Twilio does, records every request, and answers 201 with a unique message
// sid — optionally posting a signed "delivered" status callback afterwards,
// as Twilio does. A test can replace the answers (SetRespond, or Script per
// number) to play Twilio's errors.
//
// It is the one Twilio fake of the repository: the twilio provider's tests,
// the command's end-to-end tests, the crash test (which counts, per contact, what reached the provider) and
// `smsflow bench send` (which needs a provider that keeps up with thousands
// of sends per second) use it. It imports nothing of a test framework, so
// the benchmarks can use it; only they bring it into the binary.
package twiliotest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smsflow/smsflow/provider/twilio"
)

// Config is the account the server accepts and how it behaves.
type Config struct {
	AccountSID string // the only account accepted (AC…)
	AuthToken  string // Basic auth password; also signs status callbacks
	// Latency is how long each answer is held back (a provider's own
	// processing time); 0 answers at once.
	Latency time.Duration
	// Callbacks, when set, posts a "delivered" status callback for each
	// accepted message. It maps the StatusCallback URL the message carried
	// (public_url + path, which the signature covers) to the URL actually
	// called (the app's own address behind that public URL).
	Callbacks func(statusCallback string) string
	// CallbackWorkers bounds the callbacks in flight (default 8).
	CallbackWorkers int
}

// Request is one accepted message, as the API received it.
type Request struct {
	SID            string
	To, From, Body string
	StatusCallback string
	Service        string // MessagingServiceSid, "" when sent From a number
	At             time.Time
}

// Server is a running fake Messages API. Its methods are safe for
// concurrent use.
type Server struct {
	cfg    Config
	ln     net.Listener
	http   *http.Server
	path   string // the Messages.json path of the account
	client *http.Client

	seq atomic.Int64 // accepted messages, also the sids' serial numbers

	mu       sync.Mutex
	forms    []url.Values // every request that passed the checks
	requests []Request    // the accepted ones
	problems []string
	waiters  []waiter
	respond  http.HandlerFunc              // nil: accept
	scripts  map[string][]http.HandlerFunc // by To: the next answers, in order

	cbMu      sync.RWMutex // held to queue a callback; Close takes it to end the queue
	cbClosed  bool
	callbacks chan Request
	cbClient  *http.Client
	cbWG      sync.WaitGroup
	cbDone    atomic.Int64
	cbFailed  atomic.Int64
	closeOnce sync.Once
}

type waiter struct {
	n  int64
	ch chan struct{}
}

// Start listens on 127.0.0.1 (a free port) and serves until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.AccountSID == "" || cfg.AuthToken == "" {
		return nil, errors.New("twiliotest: AccountSID and AuthToken are required")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("twiliotest: listen: %w", err)
	}
	s := &Server{cfg: cfg, ln: ln, path: "/2010-04-01/Accounts/" + cfg.AccountSID + "/Messages.json",
		client: &http.Client{Transport: &http.Transport{}}}
	s.http = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	if cfg.Callbacks != nil {
		workers := cfg.CallbackWorkers
		if workers <= 0 {
			workers = 8
		}
		s.callbacks = make(chan Request, 4096)
		s.cbClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxIdleConns: workers}}
		for range workers {
			s.cbWG.Add(1)
			go s.postCallbacks()
		}
	}
	go s.http.Serve(ln)
	return s, nil
}

// URL is the API base to configure as twilio.api_base.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Client is an HTTP client for the server, with connections of its own
// that Close closes.
func (s *Server) Client() *http.Client { return s.client }

// Close stops serving at once, closing every connection (its clients are
// done, or dead), and waits for the callbacks already queued. Safe to call
// twice.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.http.Close()
		s.client.CloseIdleConnections()
		s.cbMu.Lock()
		s.cbClosed = true
		if s.callbacks != nil {
			close(s.callbacks)
		}
		s.cbMu.Unlock()
		s.cbWG.Wait()
		if s.cbClient != nil {
			s.cbClient.CloseIdleConnections() // the app's server need not wait for them
		}
	})
}

// SetRespond makes h answer every request that passes the checks (its form
// is recorded first, in Forms, but it is not an accepted message); nil
// accepts again.
func (s *Server) SetRespond(h http.HandlerFunc) {
	s.mu.Lock()
	s.respond = h
	s.mu.Unlock()
}

// Script makes the next requests to the number to answer with answers, one
// each, in order (their forms are recorded, in Forms, but they are not
// accepted messages); then the server answers as before.
func (s *Server) Script(to string, answers ...http.HandlerFunc) {
	s.mu.Lock()
	if s.scripts == nil {
		s.scripts = map[string][]http.HandlerFunc{}
	}
	s.scripts[to] = append(s.scripts[to], answers...)
	s.mu.Unlock()
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != s.cfg.AccountSID || pass != s.cfg.AuthToken {
		s.problem(fmt.Sprintf("%s %s (basic auth %v, user %q)", r.Method, r.URL.Path, ok, user))
		Error(http.StatusUnauthorized, 20003, "Authentication Error - invalid username")(w, r)
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == s.path {
		s.list(w, r)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != s.path {
		s.problem(fmt.Sprintf("%s %s", r.Method, r.URL.Path))
		Error(http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")(w, r)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		s.problem("Content-Type " + ct)
		Error(http.StatusBadRequest, 21000, "unexpected Content-Type "+ct)(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.problem("form: " + err.Error())
		Error(http.StatusBadRequest, 21000, "Invalid form: "+err.Error())(w, r)
		return
	}
	f := r.PostForm
	s.mu.Lock()
	s.forms = append(s.forms, f)
	respond := s.respond
	if next := s.scripts[f.Get("To")]; len(next) > 0 {
		respond, s.scripts[f.Get("To")] = next[0], next[1:]
	}
	s.mu.Unlock()
	if respond != nil {
		respond(w, r)
		return
	}
	req := Request{To: f.Get("To"), From: f.Get("From"), Body: f.Get("Body"), StatusCallback: f.Get("StatusCallback"), Service: f.Get("MessagingServiceSid"), At: time.Now()}
	if req.To == "" || req.Body == "" || (req.From == "" && f.Get("MessagingServiceSid") == "") {
		s.problem(fmt.Sprintf("incomplete message: %q", f.Encode()))
		Error(http.StatusBadRequest, 21604, "A 'To' phone number, a 'From' number and a 'Body' are required.")(w, r)
		return
	}
	s.mu.Lock()
	req.SID = fmt.Sprintf("SM%032x", s.seq.Add(1))
	s.requests = append(s.requests, req)
	count := int64(len(s.requests))
	kept := s.waiters[:0]
	for _, wt := range s.waiters {
		if count >= wt.n {
			close(wt.ch)
		} else {
			kept = append(kept, wt)
		}
	}
	s.waiters = kept
	s.mu.Unlock()

	if s.cfg.Latency > 0 {
		time.Sleep(s.cfg.Latency) // the provider's own processing time
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"sid":%q,"account_sid":%q,"to":%q,"from":%q,"messaging_service_sid":%q,"status":"queued","num_segments":"1","direction":"outbound-api","api_version":"2010-04-01"}`,
		req.SID, s.cfg.AccountSID, req.To, req.From, f.Get("MessagingServiceSid"))
	if s.callbacks != nil && req.StatusCallback != "" {
		s.cbMu.RLock()
		if !s.cbClosed {
			s.callbacks <- req
		}
		s.cbMu.RUnlock()
	}
}

// Error is an answer with Twilio's JSON error body: {"code": 21211,
// "message": "…", "more_info": "https://www.twilio.com/docs/errors/21211",
// "status": 400}.
func Error(status, code int, message string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		msg, _ := json.Marshal(message)
		fmt.Fprintf(w, `{"code":%d,"message":%s,"more_info":"https://www.twilio.com/docs/errors/%d","status":%d}`, code, msg, code, status)
	}
}

func (s *Server) problem(p string) {
	s.mu.Lock()
	s.problems = append(s.problems, p)
	s.mu.Unlock()
}

// postCallbacks posts each queued message's "delivered" callback, signed
// the way Twilio signs it (X-Twilio-Signature over the StatusCallback URL).
func (s *Server) postCallbacks() {
	defer s.cbWG.Done()
	for req := range s.callbacks {
		form := url.Values{
			"AccountSid": {s.cfg.AccountSID}, "MessageSid": {req.SID}, "SmsSid": {req.SID},
			"MessageStatus": {"delivered"}, "SmsStatus": {"delivered"}, "To": {req.To}, "From": {req.From}, "ApiVersion": {"2010-04-01"},
		}
		target := s.cfg.Callbacks(req.StatusCallback)
		if u, err := url.Parse(req.StatusCallback); err == nil && u.RawQuery != "" && !strings.Contains(target, "?") {
			// The mapping names where the app listens; the query (the
			// message id) is part of the URL Twilio posts to and signs.
			target += "?" + u.RawQuery
		}
		hr, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
		if err == nil {
			hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			hr.Header.Set(twilio.SignatureHeader, twilio.Sign(s.cfg.AuthToken, req.StatusCallback, form))
			var resp *http.Response
			if resp, err = s.cbClient.Do(hr); err == nil {
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					err = errors.New("status callback answered " + strconv.Itoa(resp.StatusCode))
				}
			}
		}
		if err != nil {
			s.cbFailed.Add(1)
			s.problem("status callback " + req.SID + ": " + err.Error())
		}
		s.cbDone.Add(1)
	}
}

// Count is how many messages the server has accepted.
func (s *Server) Count() int64 { return s.seq.Load() }

// Callbacks is how many status callbacks were posted and how many of them
// failed.
func (s *Server) Callbacks() (done, failed int64) { return s.cbDone.Load(), s.cbFailed.Load() }

// Requests returns a copy of every accepted message, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Forms returns the form of every request that passed the checks
// (credentials, path, content type), accepted or answered by SetRespond's
// handler, in arrival order.
func (s *Server) Forms() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.forms...)
}

// Problems lists the requests the server refused (wrong path or
// credentials, incomplete forms) and callbacks that failed.
func (s *Server) Problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.problems...)
}

// AwaitCount blocks until the server has accepted at least n messages, or
// ctx ends.
func (s *Server) AwaitCount(ctx context.Context, n int64) error {
	s.mu.Lock()
	if int64(len(s.requests)) >= n {
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.waiters = append(s.waiters, waiter{n: n, ch: ch})
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		s.waiters = slices.DeleteFunc(s.waiters, func(w waiter) bool { return w.ch == ch })
		s.mu.Unlock()
		return fmt.Errorf("twiliotest: %d messages accepted, waiting for %d: %w", s.Count(), n, ctx.Err())
	}
}

// listed is one Message resource as Twilio's list API writes it.
type listed struct {
	SID                 string  `json:"sid"`
	AccountSID          string  `json:"account_sid"`
	To                  string  `json:"to"`
	From                string  `json:"from"`
	MessagingServiceSID *string `json:"messaging_service_sid"`
	Body                string  `json:"body"`
	Status              string  `json:"status"`
	Direction           string  `json:"direction"`
	DateCreated         string  `json:"date_created"`
	DateSent            *string `json:"date_sent"`
	URI                 string  `json:"uri"`
}

// list answers GET Messages.json as Twilio's list API does: the account's
// messages newest first, filtered by To (and From), PageSize per page
// (default 50, at most 1000), Page counting from 0, next_page_uri null on
// the last page. A message is "sent" with its date_sent once the fake's
// callbacks (if any) were queued for it; dates are RFC 2822 as Twilio
// writes them.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size, page := 50, 0
	if v := q.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			Error(http.StatusBadRequest, 20001, "Invalid PageSize")(w, r)
			return
		}
		size = n
	}
	if v := q.Get("Page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			Error(http.StatusBadRequest, 20001, "Invalid Page")(w, r)
			return
		}
		page = n
	}
	to, from := q.Get("To"), q.Get("From")
	s.mu.Lock()
	var match []Request
	for i := len(s.requests) - 1; i >= 0; i-- {
		req := s.requests[i]
		if (to == "" || req.To == to) && (from == "" || req.From == from) {
			match = append(match, req)
		}
	}
	s.mu.Unlock()
	out := struct {
		Messages        []listed `json:"messages"`
		Page            int      `json:"page"`
		PageSize        int      `json:"page_size"`
		URI             string   `json:"uri"`
		FirstPageURI    string   `json:"first_page_uri"`
		NextPageURI     *string  `json:"next_page_uri"`
		PreviousPageURI *string  `json:"previous_page_uri"`
	}{Messages: []listed{}, Page: page, PageSize: size}
	pageURI := func(p int) string {
		v := url.Values{"PageSize": {strconv.Itoa(size)}, "Page": {strconv.Itoa(p)}}
		if to != "" {
			v.Set("To", to)
		}
		if from != "" {
			v.Set("From", from)
		}
		if p > 0 {
			v.Set("PageToken", fmt.Sprintf("PA%d", p))
		}
		return s.path + "?" + v.Encode()
	}
	out.URI, out.FirstPageURI = pageURI(page), pageURI(0)
	if page > 0 {
		prev := pageURI(page - 1)
		out.PreviousPageURI = &prev
	}
	start := min(page*size, len(match))
	end := min(start+size, len(match))
	for _, req := range match[start:end] {
		created := req.At.UTC().Format(time.RFC1123Z)
		m := listed{SID: req.SID, AccountSID: s.cfg.AccountSID, To: req.To, From: req.From, Body: req.Body, Status: "sent",
			Direction: "outbound-api", DateCreated: created, DateSent: &created,
			URI: strings.TrimSuffix(s.path, ".json") + "/" + req.SID + ".json"}
		if req.Service != "" {
			svc := req.Service
			m.MessagingServiceSID = &svc
		}
		out.Messages = append(out.Messages, m)
	}
	if end < len(match) {
		next := pageURI(page + 1)
		out.NextPageURI = &next
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}
