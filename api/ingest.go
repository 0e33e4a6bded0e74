package api

import (
	"cmp"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/ingest/segment"
)

// readBody reads a request body of at most limit bytes (after gunzip).
func readBody(r *http.Request, limit int64, what string) ([]byte, error) {
	var src io.Reader = io.LimitReader(r.Body, limit+1)
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(io.LimitReader(r.Body, limit+1))
		if err != nil {
			return nil, smsflow.Errorf(smsflow.EINVALID, "body says Content-Encoding: gzip but is not gzip: %v", err)
		}
		defer zr.Close()
		src = io.LimitReader(zr, limit+1)
	}
	b, err := io.ReadAll(src)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, smsflow.Errorf(smsflow.ETOOLARGE, "%s is larger than %d KB", what, limit/1024)
		}
		return nil, smsflow.Errorf(smsflow.EINVALID, "could not read the request body: %v", err)
	}
	if int64(len(b)) > limit {
		return nil, smsflow.Errorf(smsflow.ETOOLARGE, "%s is larger than %d KB; split it into smaller calls", what, limit/1024)
	}
	return b, nil
}

type ingestResponse struct {
	Success bool                `json:"success"`
	Errors  []segment.ItemError `json:"errors,omitempty"`
	// MoreErrors counts the rejected items left out of Errors, which lists
	// the first segment.MaxListedErrors by index.
	MoreErrors int `json:"more_errors,omitempty"`
}

// ingestOne handles a single Segment call (track, identify, …): any invalid
// field answers 400 and stores nothing.
func (s *Server) ingestOne(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r, segment.MaxItemBytes, "an event")
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		key, err := s.ingestAuth(r, body)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		now := s.clock.Now()
		addr := limitedAddress(r, key)
		if !s.admit(w, r, key, addr, now) {
			return
		}
		s.limits.charge(key, addr, 1, now)
		msg, err := segment.ParseOne(kind, body, now)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		it, err := ingest.FromSegment(msg, s.cfg.DefaultRegion)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		it.Trust = trustOf(key)
		res, err := s.writer.Submit(r.Context(), []*ingest.Item{it})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if res[0].Err != nil {
			s.writeError(w, r, res[0].Err)
			return
		}
		writeJSON(w, http.StatusOK, ingestResponse{Success: true})
	}
}

// ingestBatch handles /v1/batch: it stores the valid items and lists the
// rejected ones, answering 200 (Segment clients drop a whole batch on 400).
func (s *Server) ingestBatch(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r, segment.MaxBatchBytes, "a batch")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	key, err := s.ingestAuth(r, body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.clock.Now()
	addr := limitedAddress(r, key)
	if !s.admit(w, r, key, addr, now) {
		return
	}
	br, err := segment.ParseBatch(body, now)
	s.limits.charge(key, addr, len(br.Messages)+len(br.Errors), now)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The parser lists its first MaxListedErrors rejections: any other has a
	// larger index than all of those, so it could never be among the first
	// MaxListedErrors of the whole batch either.
	rejected := append([]segment.ItemError{}, br.Errors...)
	unlisted := br.Rejected - len(br.Errors)
	items := make([]*ingest.Item, 0, len(br.Messages))
	index := make([]int, 0, len(br.Messages))
	for i, m := range br.Messages {
		it, err := ingest.FromSegment(m, s.cfg.DefaultRegion)
		if err != nil {
			rejected = append(rejected, itemError(br.Indexes[i], err))
			continue
		}
		it.Trust = trustOf(key)
		items = append(items, it)
		index = append(index, br.Indexes[i])
	}
	if len(items) > 0 {
		res, err := s.writer.Submit(r.Context(), items)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for i, rs := range res {
			if rs.Err != nil {
				rejected = append(rejected, itemError(index[i], rs.Err))
			}
		}
	}
	sortItemErrors(rejected)
	resp := ingestResponse{Success: true, Errors: rejected, MoreErrors: unlisted}
	if n := len(rejected); n > segment.MaxListedErrors {
		resp.Errors, resp.MoreErrors = rejected[:segment.MaxListedErrors], unlisted+n-segment.MaxListedErrors
	}
	writeJSON(w, http.StatusOK, resp)
}

// limitedAddress is the client address the per-address limit counts, for
// the write key, the only key it applies to; "" for the others, whose calls
// need not pay for reading it.
func limitedAddress(r *http.Request, key string) string {
	if key != keyWrite {
		return ""
	}
	return clientAddress(r)
}

// admit applies the ingestion limits; a refused request gets its 429 with
// Retry-After here.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, key, addr string, now time.Time) bool {
	limit, wait, err := s.limits.admit(key, addr, now)
	if limit == "" {
		return true
	}
	if s.OnThrottled != nil {
		s.OnThrottled(limit)
	}
	w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(wait)))
	s.writeError(w, r, err)
	return false
}

func itemError(index int, err error) segment.ItemError {
	return segment.ItemError{Index: index, Code: smsflow.ErrorCode(err), Message: smsflow.ErrorMessage(err), Field: smsflow.ErrorField(err)}
}

// sortItemErrors puts the rejections of the parser, of FromSegment and of
// the writer in batch order (each item is rejected once).
func sortItemErrors(e []segment.ItemError) {
	slices.SortStableFunc(e, func(a, b segment.ItemError) int { return cmp.Compare(a.Index, b.Index) })
}
