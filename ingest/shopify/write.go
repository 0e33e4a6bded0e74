package shopify

import (
	"context"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/store"
)

// Result is what one delivery did; the webhook answers it as JSON.
type Result struct {
	Topic string `json:"topic"`
	// Duplicate is true when the X-Shopify-Webhook-Id was seen before:
	// nothing was stored again.
	Duplicate bool   `json:"duplicate,omitempty"`
	Ignored   string `json:"ignored,omitempty"`
	ContactID string `json:"contact_id,omitempty"`
	// Events are the names of the events stored; Duplicates those already
	// stored (the same order from the storefront or another topic, the same
	// checkout again).
	Events     []string `json:"events,omitempty"`
	Duplicates []string `json:"duplicates,omitempty"`
	// Refused lists items the ingest rules refused (a number that belongs to
	// another contact…), with why. The delivery is still acknowledged:
	// Shopify resending it cannot change the answer.
	Refused []string `json:"refused,omitempty"`
	// Consent is the status recorded from sms_marketing_consent, if any;
	// ConsentNote says why nothing was recorded.
	Consent     smsflow.ConsentStatus `json:"consent,omitempty"`
	ConsentNote string                `json:"consent_note,omitempty"`
	// Confirmation is set when the consent left the number pending (double
	// opt-in): whether the confirmation request was queued.
	Confirmation *ingest.ConfirmationRequest `json:"confirmation,omitempty"`
}

// submit writes a mapped delivery through the group-commit writer,
// in one transaction with its X-Shopify-Webhook-Id (so a retry, even after
// a restart, stores nothing twice, and a failed write leaves the id free
// for Shopify's retry) and with the consent change of a customers/* topic.
// Webhook ids received before pruneBefore are deleted on the way (zero: no
// pruning). The contact is resolved in the transaction: the contact the
// Shopify customer is an alias of, the shopify:<id> contact, the contact
// that has the phone number, else a new shopify:<id> (or phone:+…) one.
// With h.OptIn.DoubleOptIn a Shopify opt-in leaves the number pending and
// queues the confirmation request, as every opt-in from outside the number.
func (h *Webhook) submit(ctx context.Context, d Delivery, m *Mapping, pruneBefore time.Time) (Result, error) {
	w, opt := h.Writer, h.OptIn
	out := Result{Topic: m.Topic, Ignored: m.Ignored}
	if m.Ignored != "" || len(m.Items) == 0 {
		return out, nil
	}
	now := h.Clock.Now() // the writer's clock: serve gives both the same
	var (
		consent   smsflow.ConsentStatus
		note      string
		confirm   *ingest.ConfirmationRequest
		duplicate bool
	)
	hooks := ingest.TxHooks{
		Before: func(stx *store.Tx) (bool, error) {
			var tx WriteTx = stx
			consent, note, confirm, duplicate = "", "", nil, false // the group may be retried
			if !pruneBefore.IsZero() {
				if _, err := tx.PruneShopifyWebhooks(pruneBefore); err != nil {
					return false, err
				}
			}
			if d.WebhookID != "" {
				fresh, err := tx.ClaimShopifyWebhook(d.WebhookID, d.Topic, d.Shop, now)
				if err != nil {
					return false, err
				}
				if !fresh {
					duplicate = true
					return true, nil
				}
			}
			cid, err := resolveShopifyContact(tx, m.CustomerID, m.Phone)
			if err != nil {
				return false, err
			}
			for _, it := range m.Items {
				it.UserID = cid
			}
			return false, nil
		},
		After: func(stx *store.Tx, results []ingest.Result) error {
			var tx WriteTx = stx
			if m.Consent == nil {
				return nil
			}
			var err error
			consent, note, confirm, err = applyShopifyConsent(tx, d, m, results, now, opt)
			return err
		},
	}
	res, err := w.SubmitWith(ctx, m.Items, hooks)
	if err != nil {
		return out, err
	}
	if duplicate {
		out.Duplicate = true
		return out, nil
	}
	for i, r := range res {
		it := m.Items[i]
		name := it.Name
		if it.Type != smsflow.EventTrack {
			name = it.Type
		}
		switch {
		case r.Err != nil:
			out.Refused = append(out.Refused, name+": "+smsflow.ErrorMessage(r.Err))
		case r.Duplicate:
			out.Duplicates = append(out.Duplicates, name)
		default:
			out.Events = append(out.Events, name)
		}
		if out.ContactID == "" && r.ContactID != "" {
			out.ContactID = r.ContactID
		}
	}
	out.Consent, out.ConsentNote, out.Confirmation = consent, note, confirm
	return out, nil
}

// resolveShopifyContact picks the contact a Shopify customer (and/or phone
// number) is: see submit.
func resolveShopifyContact(tx WriteTx, customerID string, ph *phone.Number) (string, error) {
	key := ""
	if customerID != "" {
		key = smsflow.ShopifyContactID(customerID)
		if to, err := tx.AliasContact(key); err != nil || to != "" {
			return to, err
		}
		c, err := tx.ContactByID(key)
		if err != nil {
			return "", err
		}
		if c != nil {
			return key, nil
		}
	}
	if ph != nil {
		c, err := tx.ContactByPhone(ph.E164)
		if err != nil {
			return "", err
		}
		// A phone:/anon: placeholder is merged into the customer's contact by
		// the apply; any other contact with the number is this person.
		if c != nil && (key == "" || !ingest.MergeablePlaceholder(c.ID)) {
			if key != "" {
				if err := tx.SetAlias(key, c.ID); err != nil {
					return "", err
				}
			}
			return c.ID, nil
		}
	}
	if key != "" {
		return key, nil
	}
	return smsflow.ContactIDForPhone(ph.E164), nil
}

// applyShopifyConsent records a customers/* delivery's SMS consent for the
// contact's number when DecideConsent allows it, in the items'
// transaction. It returns the status recorded (pending instead of
// subscribed with double opt-in, with the confirmation request), or why
// none was.
func applyShopifyConsent(tx WriteTx, d Delivery, m *Mapping, results []ingest.Result, now time.Time, opt ingest.OptInOptions) (smsflow.ConsentStatus, string, *ingest.ConfirmationRequest, error) {
	var cid string
	for _, r := range results {
		if r.Err != nil {
			return "", "not recorded: " + smsflow.ErrorMessage(r.Err), nil, nil
		}
		if cid == "" {
			cid = r.ContactID
		}
	}
	c, err := tx.ContactByID(cid)
	if err != nil {
		return "", "", nil, err
	}
	if c == nil || c.Phone != m.Consent.Phone {
		return "", "not recorded: the customer's phone is not the contact's number in smsflow", nil, nil
	}
	if err := tx.LockContact(c.ID); err != nil {
		return "", "", nil, err
	}
	latest, err := tx.LatestConsent(c.Phone)
	if err != nil {
		return "", "", nil, err
	}
	before := smsflow.ConsentNone
	if latest != nil {
		before = latest.Status
	}
	at := m.Consent.UpdatedAt
	if at.IsZero() || at.After(now) {
		at = now
	}
	status, note := DecideConsent(before, latest, *m.Consent, at)
	if status == smsflow.ConsentSubscribed && opt.DoubleOptIn {
		if before == smsflow.ConsentPending {
			// customers/update repeats the state on every change to the
			// customer: the number was asked already.
			return "", "already pending: waiting for the number's Y to the confirmation request", nil, nil
		}
		status = smsflow.ConsentPending
	}
	if status == "" {
		return "", note, nil, nil
	}
	evidence := map[string]any{"state": m.Consent.State, "topic": d.Topic, "shopify_customer_id": m.CustomerID}
	for k, v := range map[string]string{"opt_in_level": m.Consent.OptInLevel, "consent_collected_from": m.Consent.CollectedFrom,
		"webhook_id": d.WebhookID, "shop": d.Shop} {
		if v != "" {
			evidence[k] = v
		}
	}
	if !m.Consent.UpdatedAt.IsZero() {
		evidence["consent_updated_at"] = m.Consent.UpdatedAt.Format(time.RFC3339)
	}
	entry := &smsflow.ConsentEntry{Phone: c.Phone, ContactID: c.ID, Status: status, Source: smsflow.SourceShopify,
		Evidence: evidence, MessageID: secondaryMessageID(d, "consent"), OccurredAt: at.UTC(), RecordedAt: now}
	if err := tx.AppendConsent(entry); err != nil {
		if smsflow.ErrorCode(err) == smsflow.EINTERNAL {
			return "", "", nil, err
		}
		return "", "refused: " + smsflow.ErrorMessage(err), nil, nil
	}
	if err := store.ConsentEvent(tx, entry, before, true); err != nil {
		return "", "", nil, err
	}
	var confirm *ingest.ConfirmationRequest
	if status == smsflow.ConsentPending {
		if confirm, err = ingest.RequestConfirmation(tx, c, before, now, opt); err != nil {
			return "", "", nil, err
		}
	}
	return status, "", confirm, nil
}
