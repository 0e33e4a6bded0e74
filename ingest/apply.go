package ingest

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// Result is what happened to one item.
type Result struct {
	ContactID string `json:"contact_id,omitempty"`
	Duplicate bool   `json:"duplicate,omitempty"`
	// Withheld, when set, says why an item sent with the public write key
	// was not applied: it would have given an existing contact a number,
	// re-pointed a number or merged contacts, which needs the server key
	// (see apply). Nothing was written. The HTTP API answers as for
	// a stored item, so the write key learns nothing about other contacts.
	Withheld string `json:"-"`
	Err      error  `json:"-"`
}

// placeholder reports whether a contact id was made up by smsflow (an
// anonymous visitor, a number seen before any userId, a Shopify customer
// not yet matched to the caller's userId) and so may be merged into a known
// contact.
func placeholder(id string) bool {
	return MergeablePlaceholder(id) || strings.HasPrefix(id, smsflow.ShopifyContactPrefix)
}

// MergeablePlaceholder reports whether a contact is one smsflow made up
// before knowing who it was (an anonymous visitor, a number seen first).
func MergeablePlaceholder(id string) bool {
	return strings.HasPrefix(id, "anon:") || strings.HasPrefix(id, "phone:")
}

// resolve finds the contact an id (userId, anonymousId or former id) refers to.
func resolve(tx WriteTx, id string, anonymous bool) (string, error) {
	if to, err := tx.AliasContact(id); err != nil || to != "" {
		return to, err
	}
	if anonymous {
		return smsflow.AnonymousContactID(id), nil
	}
	return id, nil
}

// reservedIDPrefixes start the ids of contacts smsflow makes itself; the
// public write key may not name them as a userId (a number that texted in
// would otherwise be one guess away: userId "phone:+1…").
var reservedIDPrefixes = []string{"anon:", "phone:", smsflow.ShopifyContactPrefix}

// checkIDs refuses ids an item may not carry for its trust level.
func checkIDs(it *Item) error {
	if it.Trust.Public() {
		for _, p := range reservedIDPrefixes {
			if strings.HasPrefix(it.UserID, p) {
				return smsflow.FieldErrorf(smsflow.EINVALID, "userId", "userIds starting with %q name contacts smsflow made itself; the write key cannot address them", p)
			}
		}
		return nil
	}
	if strings.HasPrefix(it.MessageID, store.PublicKeyPrefix) {
		return smsflow.FieldErrorf(smsflow.EINVALID, "messageId", "messageIds starting with %q are reserved for events sent with the write key", store.PublicKeyPrefix)
	}
	return nil
}

// publicMergeable reports whether the public write key may fold m into
// another contact: only an anonymous visitor's placeholder with no phone
// (so no consent either: the ledger is keyed by the number) — what
// analytics.js's identify and alias after browsing do.
func publicMergeable(m *smsflow.Contact) bool {
	return strings.HasPrefix(m.ID, "anon:") && m.Phone == ""
}

// withheld is the Result of a public item that asks for what only the server
// key may do. why is for the log.
func withheld(why string) (Result, error) { return Result{Withheld: why}, nil }

// apply writes one item inside tx. Checks come before writes, so an item that
// is refused (an *smsflow.Error) or withheld has written nothing; any other
// error means the transaction must be abandoned.
//
// An item from the public write key (it.Trust) may give a phone number only
// to a contact it creates or to an anonymous visitor's placeholder that has
// none, never to a number another contact holds, and may merge only
// publicMergeable contacts; otherwise it is withheld, whatever the reason,
// so that the answer is no oracle. The phone it gives is not verified.
func apply(tx WriteTx, b *eventBatch, it *Item, now time.Time) (Result, error) {
	if err := checkIDs(it); err != nil {
		return Result{}, err
	}
	public := it.Trust.Public()
	var cid string
	var err error
	if it.UserID != "" {
		cid = it.UserID
	} else if cid, err = resolve(tx, it.AnonymousID, true); err != nil {
		return Result{}, err
	}
	c, err := b.contact(tx, cid)
	if err != nil {
		return Result{}, err
	}

	// Contacts to fold into cid: the anonymous visitor being identified, the
	// former id of an alias call, a placeholder that holds the phone number.
	var merge []*smsflow.Contact
	addMerge := func(id string) error {
		if id == "" || id == cid || slices.ContainsFunc(merge, func(m *smsflow.Contact) bool { return m.ID == id }) {
			return nil
		}
		m, err := b.contact(tx, id)
		if err != nil || m == nil {
			return err
		}
		merge = append(merge, m)
		return nil
	}
	if it.UserID != "" && it.AnonymousID != "" {
		to, err := tx.AliasContact(it.AnonymousID)
		if err != nil {
			return Result{}, err
		}
		if to == "" {
			if err := addMerge(smsflow.AnonymousContactID(it.AnonymousID)); err != nil {
				return Result{}, err
			}
		}
	}
	if it.Type == smsflow.EventAlias && it.PreviousID != "" {
		prev, err := resolve(tx, it.PreviousID, false)
		if err != nil {
			return Result{}, err
		}
		if err := addMerge(prev); err != nil {
			return Result{}, err
		}
		if err := addMerge(smsflow.AnonymousContactID(it.PreviousID)); err != nil {
			return Result{}, err
		}
	}
	phoneNow := ""
	if c != nil {
		phoneNow = c.Phone
	}
	var release *smsflow.Contact // a contact that loses the number to this trusted item
	if public {
		for _, m := range merge {
			if !publicMergeable(m) {
				return withheld("merging contacts needs the server key")
			}
		}
	}
	for _, m := range merge {
		if m.Phone != "" {
			if phoneNow != "" && phoneNow != m.Phone && !placeholder(m.ID) {
				return Result{}, smsflow.FieldErrorf(smsflow.ECONFLICT, "previousId",
					"cannot merge contact %q (phone %s) into %q (phone %s): each contact has its own number", m.ID, maskPhone(m.Phone), cid, maskPhone(phoneNow))
			}
			if phoneNow == "" {
				phoneNow = m.Phone
			}
		}
	}
	if it.Phone != nil && it.Phone.E164 != phoneNow {
		if public && (phoneNow != "" || c != nil && !strings.HasPrefix(c.ID, "anon:")) {
			return withheld("changing the phone number of an existing contact needs the server key")
		}
		other, err := tx.ContactByPhone(it.Phone.E164)
		if err != nil {
			return Result{}, err
		}
		if other != nil && other.ID != cid {
			if public {
				return withheld("a number another contact holds needs the server key")
			}
			switch {
			case !placeholder(other.ID) && other.PhonePublic:
				// Only the write key gave it that number: the trusted
				// claim wins, so numbers taken through the public key
				// cannot lock the back end out of its own customers.
				release = other
			case !placeholder(other.ID):
				return Result{}, smsflow.FieldErrorf(smsflow.ECONFLICT, "traits.phone",
					"phone %s already belongs to contact %q; one number belongs to one contact (merge them with an alias call, or change that contact's phone first)", maskPhone(it.Phone.E164), other.ID)
			default:
				if err := addMerge(other.ID); err != nil {
					return Result{}, err
				}
			}
		}
	}

	// Checks done: store the event (or learn that it is a duplicate).
	ev := &smsflow.Event{
		MessageID: it.MessageID, Type: it.Type, Name: it.Name, ContactID: cid,
		AnonymousID: it.AnonymousID, Properties: it.Properties, Traits: it.Traits, Context: it.Context,
		DedupeKey: it.dedupeKey(), Timestamp: it.Timestamp, ReceivedAt: it.ReceivedAt, Trust: it.Trust,
		Encoded: it.encoded(),
	}
	inserted, err := b.insertEvent(tx, ev)
	if err != nil {
		return Result{}, err
	}
	if !inserted {
		return Result{ContactID: cid, Duplicate: true}, nil
	}
	if release != nil {
		release.Phone, release.PhoneType, release.Timezones, release.PhonePublic = "", "", []string{}, false
		if release.TimezoneSource == "number" {
			release.Timezone, release.TimezoneSource = "", ""
		}
		release.UpdatedAt = now
		if err := tx.UpdateContact(release); err != nil {
			return Result{}, err
		}
		b.forget(release.ID)
	}
	if !it.History {
		if err := b.addInbox(tx, cid, ev); err != nil {
			return Result{}, err
		}
	}

	changed := false
	created := c == nil
	if created {
		c = &smsflow.Contact{ID: cid, Traits: map[string]any{}, Timezones: []string{}, CreatedAt: now}
		changed = true
	}
	for _, m := range merge {
		// The known contact's traits win over the merged one's, and so
		// does their provenance.
		for _, k := range m.PublicTraits {
			if _, kept := c.Traits[k]; !kept && !slices.Contains(c.PublicTraits, k) {
				c.PublicTraits = append(c.PublicTraits, k)
			}
		}
		traits := maps.Clone(m.Traits)
		maps.Copy(traits, c.Traits)
		c.Traits = traits
		if c.Phone == "" && m.Phone != "" {
			c.Phone, c.PhoneType, c.Timezones, c.PhoneVerified, c.PhonePublic = m.Phone, m.PhoneType, m.Timezones, m.PhoneVerified, m.PhonePublic
			if c.TimezoneSource == "" || c.TimezoneSource == "number" {
				c.Timezone, c.TimezoneSource = m.Timezone, m.TimezoneSource
			}
		}
		if m.CreatedAt.Before(c.CreatedAt) {
			c.CreatedAt = m.CreatedAt
		}
		// The merge moves stored events: the group's new ones are
		// written first (their inbox items stay pending, in order).
		if err := b.writeEvents(tx); err != nil {
			return Result{}, err
		}
		if err := tx.MergeContact(m.ID, cid); err != nil {
			return Result{}, err
		}
		b.forgetAll()
		changed = true
	}
	if it.UserID != "" && it.AnonymousID != "" {
		if to, err := tx.AliasContact(it.AnonymousID); err != nil {
			return Result{}, err
		} else if to == "" {
			if err := tx.SetAlias(it.AnonymousID, cid); err != nil {
				return Result{}, err
			}
		}
	}
	if it.Type == smsflow.EventIdentify && len(it.Traits) > 0 {
		for k, v := range it.Traits {
			if old, ok := c.Traits[k]; !ok || !equalJSON(old, v) {
				c.Traits[k] = v
				changed = true
			}
			// Provenance follows whoever said the value last.
			if i := slices.Index(c.PublicTraits, k); public && i < 0 {
				c.PublicTraits = append(c.PublicTraits, k)
				changed = true
			} else if !public && i >= 0 {
				c.PublicTraits = slices.Delete(c.PublicTraits, i, i+1)
				changed = true
			}
		}
	}
	if it.Phone != nil && it.Phone.E164 != c.Phone {
		c.Phone, c.PhoneType, c.Timezones = it.Phone.E164, it.Phone.Type, slices.Clone(it.Phone.Timezones)
		c.PhoneVerified, c.PhonePublic = !public, public
		if c.TimezoneSource == "" || c.TimezoneSource == "number" {
			c.Timezone, c.TimezoneSource = "", ""
		}
		changed = true
	} else if it.Phone != nil && !public && !c.PhoneVerified {
		c.PhoneVerified, c.PhonePublic = true, false // a trusted source vouches for the number it already had
		changed = true
	}
	if it.Timezone != "" && (it.Timezone != c.Timezone || it.TimezoneSource != c.TimezoneSource) {
		// traits.timezone outranks context.timezone: context never replaces a trait.
		if it.TimezoneSource == "trait" || c.TimezoneSource != "trait" {
			c.Timezone, c.TimezoneSource = it.Timezone, it.TimezoneSource
			changed = true
		}
	}
	if c.Timezone == "" && len(c.Timezones) > 0 {
		c.Timezone, c.TimezoneSource = c.Timezones[0], "number"
		changed = true
	}
	if !changed {
		return Result{ContactID: cid}, nil
	}
	c.UpdatedAt = now
	if created {
		err = tx.InsertContact(c)
	} else {
		err = tx.UpdateContact(c)
	}
	b.forget(c.ID)
	return Result{ContactID: cid}, err
}

// dedupeKey is the key besides its message id that the item's event is
// unique by: an order's id for Order Completed, else "".
func (it *Item) dedupeKey() string {
	if it.Type != smsflow.EventTrack {
		return ""
	}
	return smsflow.OrderDedupeKey(it.Name, it.Properties)
}

// equalJSON compares two decoded JSON values.
func equalJSON(a, b any) bool {
	switch av := a.(type) {
	case map[string]any, []any:
		return false // nested values: treat as changed (cheap and correct)
	default:
		return plainNumber(av) == plainNumber(b)
	}
}

// plainNumber turns a json.Number (ingested values) into the float64 the
// store reads back, when that float64 spells it exactly, so an unchanged
// trait is not written again; other values are returned as they are.
func plainNumber(v any) any {
	n, ok := v.(json.Number)
	if !ok {
		return v
	}
	if f, err := n.Float64(); err == nil && strconv.FormatFloat(f, 'f', -1, 64) == string(n) {
		return f
	}
	return v
}
