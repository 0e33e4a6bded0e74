package api

import (
	"net/http"
	"slices"

	"github.com/smsflow/smsflow"
)

// MaxUnknownIDs bounds the ids one resend or give-up call takes.
const MaxUnknownIDs = 1000

// Error codes an operator's decision on an unknown message records.
const (
	codeResentByOperator = "resent:operator"
	codeGivenUp          = "given_up"
)

// unknownIDs reads {"ids": [...]}: 1 to MaxUnknownIDs message ids, each a
// positive whole number, duplicates counted once, in ascending order.
func unknownIDs(r *http.Request) ([]int64, error) {
	var in struct {
		IDs []int64 `json:"ids"`
	}
	if err := decodeJSON(r, 64<<10, &in); err != nil {
		return nil, err
	}
	switch {
	case len(in.IDs) == 0:
		return nil, smsflow.FieldErrorf(smsflow.EINVALID, "ids", `ids is required: the ids of unknown messages, e.g. {"ids": [12, 13]} (GET /v1/messages?status=unknown lists them)`)
	case len(in.IDs) > MaxUnknownIDs:
		return nil, smsflow.FieldErrorf(smsflow.EINVALID, "ids", "ids has %d entries; send at most %d per call", len(in.IDs), MaxUnknownIDs)
	}
	for _, id := range in.IDs {
		if id <= 0 {
			return nil, smsflow.FieldErrorf(smsflow.EINVALID, "ids", "ids holds %d: message ids are positive whole numbers", id)
		}
	}
	slices.Sort(in.IDs)
	return slices.Compact(in.IDs), nil
}

// decideUnknown applies an operator's decision to each unknown message of
// ids in one transaction and answers which it applied to ("done") and which
// were not unknown ("skipped", with their status, or "not_found").
func (s *Server) decideUnknown(w http.ResponseWriter, r *http.Request, done string, apply func(tx WriteTx, id int64) (bool, error)) {
	ids, err := unknownIDs(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var applied, skipped []int64
	err = writeTx(r.Context(), s.db, func(tx WriteTx) error {
		applied, skipped = nil, nil
		for _, id := range ids {
			ok, err := apply(tx, id)
			if err != nil {
				return err
			}
			if ok {
				applied = append(applied, id)
			} else {
				skipped = append(skipped, id)
			}
		}
		return nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if applied == nil {
		applied = []int64{}
	}
	if skipped == nil {
		skipped = []int64{}
	}
	writeJSON(w, http.StatusOK, map[string]any{done: applied, "skipped": skipped,
		"note": "skipped ids are not unknown messages (any more): check them with GET /v1/messages"})
}

// resendUnknown queues unknown messages again at once, same message id
// (POST /v1/messages/resend): the operator decided the provider did not
// take them — if it did, the number gets the text twice.
func (s *Server) resendUnknown(w http.ResponseWriter, r *http.Request) {
	now := s.clock.Now()
	s.decideUnknown(w, r, "resent", func(tx WriteTx, id int64) (bool, error) {
		return tx.RequeueUnknown(id, codeResentByOperator, now)
	})
	if s.Sender != nil {
		s.Sender.Notify()
	}
}

// giveUpUnknown ends unknown messages as canceled (given_up), never resent
// (POST /v1/messages/give-up).
func (s *Server) giveUpUnknown(w http.ResponseWriter, r *http.Request) {
	now := s.clock.Now()
	s.decideUnknown(w, r, "given_up", func(tx WriteTx, id int64) (bool, error) {
		return tx.GiveUpUnknown(id, codeGivenUp, now)
	})
}
