package api

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest/segment"
)

// credential returns the key a request carries: the HTTP Basic username
// (Segment's convention, empty password) or a Bearer token.
func credential(r *http.Request) string {
	if user, _, ok := r.BasicAuth(); ok {
		return user
	}
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func keyEqual(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// requireAdmin wraps a handler so that it runs only with the admin key.
func (s *Server) requireAdmin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, k := credential(r), s.keys.Keys()
		switch {
		case key == "":
			s.writeError(w, r, smsflow.Errorf(smsflow.EUNAUTHORIZED, "this route needs the admin key: send it as 'Authorization: Bearer KEY' or as the HTTP Basic username"))
		case k.writeKeyOK(key, s.clock.Now()) && !keyEqual(key, k.Admin):
			s.writeError(w, r, smsflow.Errorf(smsflow.EFORBIDDEN, "the write key opens ingestion only (/v1/track, /v1/identify, /v1/batch, …); this route needs the admin key"))
		case keyEqual(key, k.Server) && !keyEqual(key, k.Admin):
			s.writeError(w, r, smsflow.Errorf(smsflow.EFORBIDDEN, "the server key opens ingestion only (/v1/track, /v1/identify, /v1/batch, …); this route needs the admin key"))
		case !keyEqual(key, k.Admin):
			s.writeError(w, r, smsflow.Errorf(smsflow.EUNAUTHORIZED, "wrong admin key"))
		default:
			h(w, r)
		}
	}
}

// Which key authenticated an ingestion request.
const (
	keyWrite  = "write"  // public: it sits in web pages
	keyServer = "server" // a back end's secret
	keyAdmin  = "admin"  // break-glass, accepted for ingestion too
)

// ingestAuth checks an ingestion request's key — from the headers, or else
// the writeKey field analytics.js puts in the body — and says which key it
// is. The server and admin keys send trusted events; the write key public
// ones (smsflow.Trust). The body is read for its writeKey only when the
// headers carry no key: decoding it costs as much as parsing the event.
func (s *Server) ingestAuth(r *http.Request, body []byte) (string, error) {
	key, k := credential(r), s.keys.Keys()
	if key == "" {
		key = segment.WriteKey(body)
	}
	switch {
	case key == "":
		return "", smsflow.Errorf(smsflow.EUNAUTHORIZED, "missing key: send the write key (browsers) or the server key (back ends) as the HTTP Basic username with an empty password (Segment's convention) or as 'Authorization: Bearer KEY'")
	case keyEqual(key, k.Server):
		s.serverKeyUsed()
		return keyServer, nil
	case keyEqual(key, k.Admin):
		return keyAdmin, nil
	case k.writeKeyOK(key, s.clock.Now()):
		return keyWrite, nil
	default:
		return "", smsflow.Errorf(smsflow.EUNAUTHORIZED, "wrong key: ingestion takes the write key or the server key")
	}
}

// trustOf is the trust of the events a key sends.
func trustOf(key string) smsflow.Trust {
	if key == keyWrite {
		return smsflow.TrustPublic
	}
	return smsflow.TrustTrusted
}

// ServerKeyFirstUsed is the setting that records when the server key first
// authenticated an ingestion request; serve warns while service flows are
// live and it is missing (back ends still on the write key).
const ServerKeyFirstUsed = "server_key_first_used"

// serverKeyUsed records the server key's first use, once per process.
func (s *Server) serverKeyUsed() {
	if s.serverKeySeen.Swap(true) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	now := s.clock.Now().UTC().Format(time.RFC3339)
	if _, _, err := s.db.SettingOrInit(ctx, ServerKeyFirstUsed, func() string { return now }); err != nil {
		s.serverKeySeen.Store(false) // try again with the next request
		s.log.Warn("could not record the server key's first use", "err", err)
	}
}
