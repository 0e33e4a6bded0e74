package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/delivery"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/provider/console"
)

// Keys are the API keys. Write and Server open ingestion only: Write is
// public (it sits in web pages) and its events are treated as such
// (smsflow.TrustPublic); Server is a back end's secret and its events are
// trusted. Admin opens everything.
type Keys struct {
	Write  string
	Server string
	Admin  string
	// PreviousWrite are the write keys rotations replaced, newest first;
	// each opens ingestion as the write key does until its Until
	// (WriteKeyGrace after the rotation that replaced it).
	PreviousWrite []PreviousKey
}

// PreviousKey is a replaced write key and when its grace ends.
type PreviousKey struct {
	Key   string
	Until time.Time
}

// Deps are the parts the HTTP API talks to.
type Deps struct {
	Config  config.Config
	DB      Store
	Writer  *ingest.Writer
	Clock   smsflow.Clock
	Log     *slog.Logger
	Keys    Keys
	Keyring *Keyring // when set, the keys in force instead of Keys: rotations take effect at once (D94)
	Catalog *engine.Catalog
	Engine  *engine.Engine
	// Sender, if set, is woken after a console reply that queued an
	// automatic answer (a keyword reply goes to the outbox at once).
	Sender  *delivery.Sender
	Console *console.Console // nil unless the console provider is in use
	// Metrics serves GET /metrics (Prometheus), behind the admin key; nil
	// leaves the route out.
	Metrics http.Handler
	// OnThrottled, if set, is told of each ingestion request refused by a
	// limit ("ip" or "key"), for the metrics.
	OnThrottled func(limit string)
}

// Server serves the HTTP API.
type Server struct {
	Deps
	cfg    config.Config
	db     Store
	writer *ingest.Writer
	clock  smsflow.Clock
	log    *slog.Logger
	keys   *Keyring
	mux    *http.ServeMux
	limits *ingestLimits
	probes *linkProbes // unknown link codes looked up, per client

	serverKeySeen atomic.Bool // serverKeyUsed ran in this process
}

// New builds the server's routes. The configuration has been checked
// (config.Check): a limit it cannot read is no limit here.
func New(d Deps) *Server {
	s := &Server{Deps: d, cfg: d.Config, db: d.DB, writer: d.Writer, clock: d.Clock, log: d.Log, keys: d.Keyring, mux: http.NewServeMux(),
		probes: newLinkProbes()}
	if s.keys == nil {
		s.keys = StaticKeyring(d.Keys)
	}
	perIP, perKey, err := d.Config.IngestLimits()
	if err != nil {
		s.log.Error("ingestion limits are off: the configuration is wrong", "err", err)
	}
	s.limits = newIngestLimits(perIP, perKey)
	s.routes()
	return s
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	m.HandleFunc("GET /readyz", s.ready)
	m.HandleFunc("GET /v1/openapi.json", s.openAPI)
	if s.Metrics != nil {
		m.HandleFunc("GET /metrics", s.requireAdmin(s.Metrics.ServeHTTP))
	}

	// Segment-compatible ingestion, with the short paths analytics.js uses.
	for path, kind := range map[string]string{
		"track": smsflow.EventTrack, "t": smsflow.EventTrack,
		"identify": smsflow.EventIdentify, "i": smsflow.EventIdentify,
		"page": smsflow.EventPage, "p": smsflow.EventPage,
		"screen": smsflow.EventScreen, "s": smsflow.EventScreen,
		"alias": smsflow.EventAlias, "a": smsflow.EventAlias,
		"group": smsflow.EventGroup, "g": smsflow.EventGroup,
	} {
		m.HandleFunc("POST /v1/"+path, s.cors(s.ingestOne(kind)))
		m.HandleFunc("OPTIONS /v1/"+path, s.cors(nil))
	}
	for _, path := range []string{"batch", "b", "import"} {
		m.HandleFunc("POST /v1/"+path, s.cors(s.ingestBatch))
		m.HandleFunc("OPTIONS /v1/"+path, s.cors(nil))
	}

	m.HandleFunc("GET /v1/contacts", s.requireAdmin(s.findContact))
	m.HandleFunc("GET /v1/contacts/{id}", s.requireAdmin(s.getContact))
	m.HandleFunc("GET /v1/contacts/{id}/timeline", s.requireAdmin(s.contactTimeline))
	m.HandleFunc("POST /v1/contacts/{id}/consent", s.requireAdmin(s.postConsent))

	m.HandleFunc("GET /v1/flows", s.requireAdmin(s.listFlows))
	m.HandleFunc("GET /v1/flows/{id}", s.requireAdmin(s.getFlow))
	m.HandleFunc("PUT /v1/flows/{id}", s.requireAdmin(s.putFlow))
	m.HandleFunc("DELETE /v1/flows/{id}", s.requireAdmin(s.deleteFlow))
	m.HandleFunc("POST /v1/flows/{id}/pause", s.requireAdmin(s.flowStatus(engine.FlowPaused)))
	m.HandleFunc("POST /v1/flows/{id}/resume", s.requireAdmin(s.flowStatus(engine.FlowActive)))
	m.HandleFunc("GET /v1/flows/{id}/report", s.requireAdmin(s.flowReport))
	m.HandleFunc("GET /v1/reports/program", s.requireAdmin(s.programReport))
	m.HandleFunc("GET /v1/messages", s.requireAdmin(s.listMessages))
	m.HandleFunc("POST /v1/messages/resend", s.requireAdmin(s.resendUnknown))
	m.HandleFunc("POST /v1/messages/give-up", s.requireAdmin(s.giveUpUnknown))
	m.HandleFunc("POST /v1/console/inbound", s.requireAdmin(s.consoleInbound))
	m.HandleFunc("GET /l/{code}", s.followLink)

	m.HandleFunc("/v1/", s.requireAdmin(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, smsflow.Errorf(smsflow.ENOTFOUND, "no route %s %s; see /v1/openapi.json", r.Method, r.URL.Path))
	}))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, smsflow.Errorf(smsflow.ENOTFOUND, "no route %s %s; the API lives under /v1 (see /v1/openapi.json)", r.Method, r.URL.Path))
	})
}

// ServeHTTP serves a request; a panic in a handler becomes a logged 500
// instead of a dropped connection. A URL no resource or filter can match
// (checkURL) answers 400 before any handler runs; tracked links check
// their code themselves.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic in handler", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			s.writeError(w, r, smsflow.Errorf(smsflow.EINTERNAL, "internal error"))
		}
	}()
	if !strings.HasPrefix(r.URL.Path, "/l/") {
		if err := checkURL(r.URL); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// checkURL refuses a path or query value holding a control character or
// invalid UTF-8: every id and filter of the API is printable text, and
// PostgreSQL would fail the query where SQLite finds nothing.
func checkURL(u *url.URL) error {
	if err := smsflow.CheckID("path", u.Path, len(u.Path)); err != nil {
		return smsflow.FieldErrorf(smsflow.EINVALID, "path", "the URL %s", err.Message)
	}
	for k, vs := range u.Query() {
		if err := smsflow.CheckID("query", k, len(k)); err != nil {
			return smsflow.FieldErrorf(smsflow.EINVALID, "query", "the query parameter name %s", strings.TrimPrefix(err.Message, "query "))
		}
		for _, v := range vs {
			if err := smsflow.CheckID(k, v, len(v)); err != nil {
				return smsflow.FieldErrorf(smsflow.EINVALID, k, "the query parameter %s", err.Message)
			}
		}
	}
	return nil
}

// cors lets browsers (analytics.js) post events from any origin. A nil
// handler answers the preflight.
func (s *Server) cors(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Access-Control-Allow-Origin", "*")
		hd.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Content-Encoding")
		hd.Set("Access-Control-Max-Age", "86400")
		if h == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h(w, r)
	}
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database does not answer"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "database": s.db.Dialect().Name()})
}
