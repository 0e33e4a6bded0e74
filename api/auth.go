package api

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/smsflow/smsflow"
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
		key := credential(r)
		switch {
		case key == "":
			s.writeError(w, r, smsflow.Errorf(smsflow.EUNAUTHORIZED, "this route needs the admin key: send it as 'Authorization: Bearer KEY' or as the HTTP Basic username"))
		case keyEqual(key, s.keys.Write) && !keyEqual(key, s.keys.Admin):
			s.writeError(w, r, smsflow.Errorf(smsflow.EFORBIDDEN, "the write key opens ingestion only (/v1/track, /v1/identify, /v1/batch, …); this route needs the admin key"))
		case !keyEqual(key, s.keys.Admin):
			s.writeError(w, r, smsflow.Errorf(smsflow.EUNAUTHORIZED, "wrong admin key"))
		default:
			h(w, r)
		}
	}
}

// ingestAuth checks an ingestion request's key: the write key (or the admin
// key) from the headers, or else the writeKey field analytics.js puts in the
// body.
func (s *Server) ingestAuth(r *http.Request, bodyKey string) error {
	key := credential(r)
	if key == "" {
		key = bodyKey
	}
	switch {
	case key == "":
		return smsflow.Errorf(smsflow.EUNAUTHORIZED, "missing write key: send it as the HTTP Basic username with an empty password (Segment's convention) or as 'Authorization: Bearer KEY'")
	case keyEqual(key, s.keys.Write) || keyEqual(key, s.keys.Admin):
		return nil
	default:
		return smsflow.Errorf(smsflow.EUNAUTHORIZED, "wrong write key")
	}
}
