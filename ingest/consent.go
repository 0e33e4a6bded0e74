package ingest

import (
	"context"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/store"
)

// ConsentChange is a request to append to a number's consent ledger.
type ConsentChange struct {
	Status    smsflow.ConsentStatus `json:"status"`
	Source    smsflow.ConsentSource `json:"source"`
	Evidence  map[string]any        `json:"evidence"`
	Timestamp time.Time             `json:"timestamp"`
	MessageID string                `json:"message_id"`
}

// Validate checks a change's fields, naming the one that is wrong, and
// cleans the strings of its evidence (smsflow.CleanJSON).
func (c ConsentChange) Validate() error {
	if err := smsflow.CheckID("message_id", c.MessageID, smsflow.MaxIDLength); err != nil {
		return err
	}
	smsflow.CleanJSON(c.Evidence)
	switch c.Status {
	case smsflow.ConsentSubscribed, smsflow.ConsentUnsubscribed, smsflow.ConsentPending:
	case "":
		return smsflow.FieldErrorf(smsflow.EINVALID, "status", `status is required: "subscribed" or "unsubscribed"`)
	default:
		return smsflow.FieldErrorf(smsflow.EINVALID, "status", `status %q is not one of "subscribed", "unsubscribed", "pending"`, c.Status)
	}
	switch {
	case c.Source == "":
		return smsflow.FieldErrorf(smsflow.EINVALID, "source", "source is required: one of %v", claimableSources())
	case c.Source == smsflow.SourceDoubleOptIn:
		return smsflow.FieldErrorf(smsflow.EINVALID, "source", "source %q is recorded by smsflow when a number replies Y to its confirmation request; record the opt-in itself with the source it came from (one of %v)",
			c.Source, claimableSources())
	case !smsflow.ValidConsentSource(c.Source):
		return smsflow.FieldErrorf(smsflow.EINVALID, "source", "source %q is not one of %v", c.Source, claimableSources())
	}
	return nil
}

// claimableSources are the sources a caller (the API, an import) may give:
// every source but double_opt_in, which only a number's own Y creates.
func claimableSources() []smsflow.ConsentSource {
	var out []smsflow.ConsentSource
	for _, s := range smsflow.ConsentSources {
		if s != smsflow.SourceDoubleOptIn {
			out = append(out, s)
		}
	}
	return out
}

// OptInOptions is what recording an opt-in from outside the number (the
// API, Shopify) needs from the configuration.
type OptInOptions struct {
	// DoubleOptIn (double_opt_in) leaves such an opt-in pending until the
	// number replies Y/YES to the confirmation request it is sent.
	DoubleOptIn bool
	BrandName   string // names the sender in the confirmation request
}

// OptInOptionsFromConfig builds the options from the configuration.
func OptInOptionsFromConfig(cfg config.Config) OptInOptions {
	return OptInOptions{DoubleOptIn: cfg.DoubleOptIn, BrandName: cfg.Brand.Name}
}

// ConsentResult is what recording a consent change did.
type ConsentResult struct {
	Entry *smsflow.ConsentEntry
	// Status is the number's status afterwards.
	Status smsflow.ConsentStatus
	// Confirmation is set when the entry left the number pending: whether
	// the double opt-in confirmation request was queued.
	Confirmation *ConfirmationRequest
}

// ConfirmationRequest says whether a double opt-in confirmation request
// ("Reply Y to confirm…") was queued to a number that became pending.
type ConfirmationRequest struct {
	Queued    bool   `json:"queued"`
	MessageID int64  `json:"message_id,omitempty"`
	Skipped   string `json:"skipped,omitempty"` // why not (policy.ReplySkipped…)
}

// RecordConsent appends a consent change for a contact's number. The ledger
// is keyed by the number, so the contact must have one. A change the ledger's
// rule refuses (resubscribing a number that opted out, without fresh
// evidence) returns an ECONFLICT error and records nothing.
//
// Double opt-in: with opt.DoubleOptIn, an opt-in ("subscribed", whatever its
// source) for a number that is not subscribed yet is recorded as pending, and
// so is an explicit "pending" in any case; a pending entry queues one
// confirmation request (RequestConfirmation), and only the number's Y/YES
// subscribes it (source double_opt_in). No Subscribed event — so no welcome
// flow — until then. An opt-in for a number already subscribed is recorded
// as it is (fresh evidence), with no request.
func RecordConsent(ctx context.Context, db Store, clock smsflow.Clock, contactID string, ch ConsentChange, opt OptInOptions) (*ConsentResult, error) {
	if err := ch.Validate(); err != nil {
		return nil, err
	}
	now := clock.Now()
	if ch.Timestamp.IsZero() {
		ch.Timestamp = now
	}
	if ch.Timestamp.After(now.Add(5 * time.Minute)) {
		return nil, smsflow.FieldErrorf(smsflow.EINVALID, "timestamp", "timestamp %s is in the future", ch.Timestamp.Format(time.RFC3339))
	}
	var out ConsentResult
	err := writeTx(ctx, db, func(tx WriteTx) error {
		out = ConsentResult{}
		c, err := tx.ContactByID(contactID)
		if err != nil {
			return err
		}
		if c == nil {
			if to, err := tx.AliasContact(contactID); err != nil {
				return err
			} else if to != "" {
				if c, err = tx.ContactByID(to); err != nil {
					return err
				}
			}
		}
		if c == nil {
			return smsflow.Errorf(smsflow.ENOTFOUND, "no contact with id %q", contactID)
		}
		if c.Phone == "" {
			return smsflow.Errorf(smsflow.ECONFLICT, "contact %q has no phone number; consent belongs to a number — identify the contact with traits.phone first", contactID)
		}
		// Consent and the reply limits are read-then-written: one number at a time.
		if err := tx.LockContact(c.ID); err != nil {
			return err
		}
		before, err := tx.ContactConsent(c.Phone)
		if err != nil {
			return err
		}
		status := ch.Status
		if status == smsflow.ConsentSubscribed && opt.DoubleOptIn && before != smsflow.ConsentSubscribed {
			status = smsflow.ConsentPending
		}
		out.Entry = &smsflow.ConsentEntry{
			Phone: c.Phone, ContactID: c.ID, Status: status, Source: ch.Source,
			Evidence: ch.Evidence, MessageID: ch.MessageID, OccurredAt: ch.Timestamp.UTC(), RecordedAt: now,
		}
		if err := tx.AppendConsent(out.Entry); err != nil {
			return err
		}
		if err := store.ConsentEvent(tx, out.Entry, before, true); err != nil {
			return err
		}
		if status == smsflow.ConsentPending {
			if out.Confirmation, err = RequestConfirmation(tx, c, before, now, opt); err != nil {
				return err
			}
		}
		out.Status, err = tx.ContactConsent(c.Phone)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// RequestConfirmation queues the double opt-in confirmation request to a
// number an opt-in just left pending — the JOIN's "Reply Y to confirm…"
// text (brand, recurring messages, frequency, "Msg & data rates may
// apply", HELP and STOP) — through the automatic-reply path, so the
// per-number reply limits hold; a number that was already pending and was
// asked within policy.ConfirmationRequestEvery is not asked again.
func RequestConfirmation(tx WriteTx, c *smsflow.Contact, before smsflow.ConsentStatus, now time.Time, opt OptInOptions) (*ConfirmationRequest, error) {
	text := policy.AutoReplyText(policy.KeywordJoin, true, opt.BrandName, "")
	id, why, err := queueAutoReply(tx, c, policy.DoubleOptInRequestStep, text, now, func(recent []policy.AutoReplySent) string {
		return policy.AllowConfirmationRequest(before == smsflow.ConsentPending, recent, now)
	})
	if err != nil {
		return nil, err
	}
	return &ConfirmationRequest{Queued: id != 0, MessageID: id, Skipped: why}, nil
}
