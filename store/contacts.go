package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/smsflow/smsflow"
)

const contactColumns = `id, phone, phone_type, timezone, timezone_source, timezones, traits, created_at, updated_at, phone_trust, public_traits`

func scanContact(s scanner) (*smsflow.Contact, error) {
	var (
		c                     smsflow.Contact
		phone                 sql.NullString
		zones, traits, public string
		created, updated      int64
		phoneTrust            string
	)
	if err := s.Scan(&c.ID, &phone, &c.PhoneType, &c.Timezone, &c.TimezoneSource, &zones, &traits, &created, &updated, &phoneTrust, &public); err != nil {
		return nil, err
	}
	c.PhoneVerified, c.PhonePublic = phoneTrust == phoneTrusted, phoneTrust == phonePublic
	if public != "[]" && public != "" {
		if err := json.Unmarshal([]byte(public), &c.PublicTraits); err != nil {
			return nil, fmt.Errorf("contact %s public traits: %w", c.ID, err)
		}
	}
	c.Phone = phone.String
	if err := json.Unmarshal([]byte(zones), &c.Timezones); err != nil {
		return nil, fmt.Errorf("contact %s timezones: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(traits), &c.Traits); err != nil {
		return nil, fmt.Errorf("contact %s traits: %w", c.ID, err)
	}
	if c.Timezones == nil {
		c.Timezones = []string{}
	}
	if c.Traits == nil {
		c.Traits = map[string]any{}
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &c, nil
}

func contactArgs(c *smsflow.Contact) []any {
	zones := c.Timezones
	if zones == nil {
		zones = []string{}
	}
	traits := c.Traits
	if traits == nil {
		traits = map[string]any{}
	}
	public := "[]"
	if len(c.PublicTraits) > 0 {
		public = mustJSON(c.PublicTraits)
	}
	phoneTrust := ""
	switch {
	case c.Phone == "":
	case c.PhoneVerified:
		phoneTrust = phoneTrusted
	case c.PhonePublic:
		phoneTrust = phonePublic
	}
	return []any{c.ID, nullString(c.Phone), c.PhoneType, c.Timezone, c.TimezoneSource, mustJSON(zones), mustJSON(traits), micros(c.CreatedAt), micros(c.UpdatedAt), phoneTrust, public}
}

// The values of contacts.phone_trust: who vouches for the number.
// smsflow.Contact.PhoneVerified and PhonePublic read them; "" is a number
// stored before migration 0016 that nothing has vouched for since.
const (
	phoneTrusted = "trusted" // a trusted source set it, or it texted in
	phonePublic  = "public"  // only the write key
)

// ContactByID returns the contact with the id, or nil when there is none.
func (t *Tx) ContactByID(id string) (*smsflow.Contact, error) {
	all, err := t.contactsByID([]string{id})
	return all[id], err
}

// ContactsByID reads contacts without a lock, in one query per chunk of
// ids; a missing one is nil.
func (t *Tx) ContactsByID(ids []string) (map[string]*smsflow.Contact, error) {
	return t.contactsByID(ids)
}

// ContactByPhone returns the contact using an E.164 number, or nil.
func (t *Tx) ContactByPhone(e164 string) (*smsflow.Contact, error) {
	c, err := scanContact(t.queryRow(`SELECT `+contactColumns+` FROM contacts WHERE phone = ?`, e164))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return c, err
}

// InsertContact creates a contact.
func (t *Tx) InsertContact(c *smsflow.Contact) error {
	_, err := t.exec(`INSERT INTO contacts (`+contactColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, contactArgs(c)...)
	if err != nil {
		return fmt.Errorf("insert contact %s: %w", c.ID, err)
	}
	return nil
}

// UpdateContact overwrites a contact's mutable fields.
func (t *Tx) UpdateContact(c *smsflow.Contact) error {
	a := contactArgs(c)
	_, err := t.exec(`UPDATE contacts SET phone = ?, phone_type = ?, timezone = ?, timezone_source = ?, timezones = ?, traits = ?, updated_at = ?, phone_trust = ?, public_traits = ? WHERE id = ?`,
		a[1], a[2], a[3], a[4], a[5], a[6], a[8], a[9], a[10], c.ID)
	if err != nil {
		return fmt.Errorf("update contact %s: %w", c.ID, err)
	}
	return nil
}

// VerifyPhone marks the number as verified on the contact that uses it (the
// number texted in).
func (t *Tx) VerifyPhone(e164 string) error {
	_, err := t.exec(`UPDATE contacts SET phone_trust = ? WHERE phone = ? AND phone_trust <> ?`, phoneTrusted, e164, phoneTrusted)
	if err != nil {
		return fmt.Errorf("verify phone: %w", err)
	}
	return nil
}

// MergeContact moves everything of contact from into contact into and deletes
// from: its events, its aliases (and from's own id becomes an alias of into).
// Traits and the phone are merged by the caller, which updates into.
func (t *Tx) MergeContact(from, into string) error {
	if _, err := t.exec(`UPDATE events SET contact_id = ? WHERE contact_id = ?`, into, from); err != nil {
		return fmt.Errorf("merge %s into %s: events: %w", from, into, err)
	}
	if _, err := t.exec(`UPDATE consent_ledger SET contact_id = ? WHERE contact_id = ?`, into, from); err != nil {
		return fmt.Errorf("merge %s into %s: consent: %w", from, into, err)
	}
	for _, table := range []string{"inbox", "runs", "messages", "decisions", "links", "link_clicks"} {
		if _, err := t.exec(`UPDATE `+table+` SET contact_id = ? WHERE contact_id = ?`, into, from); err != nil {
			return fmt.Errorf("merge %s into %s: %s: %w", from, into, table, err)
		}
	}
	if _, err := t.exec(`UPDATE aliases SET contact_id = ? WHERE contact_id = ?`, into, from); err != nil {
		return fmt.Errorf("merge %s into %s: aliases: %w", from, into, err)
	}
	if _, err := t.exec(`DELETE FROM contacts WHERE id = ?`, from); err != nil {
		return fmt.Errorf("merge %s into %s: delete: %w", from, into, err)
	}
	return t.SetAlias(from, into)
}

// Contact returns a contact by id, or an ENOTFOUND error.
func (db *DB) Contact(ctx context.Context, id string) (*smsflow.Contact, error) {
	asked := id
	seen := map[string]bool{}
	for {
		c, err := scanContact(db.queryRowRead(ctx, `SELECT `+contactColumns+` FROM contacts WHERE id = ?`, id))
		if !errors.Is(err, sql.ErrNoRows) {
			return c, err
		}
		// A merged-away id keeps working through its alias. Aliases that
		// point at each other (a merge chain gone wrong) end the search
		// rather than loop.
		seen[id] = true
		var to string
		if err := db.queryRowRead(ctx, `SELECT contact_id FROM aliases WHERE alias = ?`, id).Scan(&to); err != nil || seen[to] || len(seen) > maxAliasHops {
			return nil, smsflow.Errorf(smsflow.ENOTFOUND, "no contact with id %q", asked)
		}
		id = to
	}
}

// maxAliasHops bounds how many aliases Contact follows: each merge adds one
// hop at most, and a chain this long means the aliases are corrupt.
const maxAliasHops = 16

// ContactByPhone returns the contact using an E.164 number, or ENOTFOUND.
func (db *DB) ContactByPhone(ctx context.Context, e164 string) (*smsflow.Contact, error) {
	c, err := scanContact(db.queryRowRead(ctx, `SELECT `+contactColumns+` FROM contacts WHERE phone = ?`, e164))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, smsflow.Errorf(smsflow.ENOTFOUND, "no contact with phone %s", e164)
	}
	return c, err
}

// CountContacts returns the number of contacts (for progress and tests).
func (db *DB) CountContacts(ctx context.Context) (int64, error) {
	var n int64
	err := db.queryRowRead(ctx, `SELECT COUNT(*) FROM contacts`).Scan(&n)
	return n, err
}

// ContactForUpdate locks the contact (PostgreSQL; SQLite has one writer) and
// returns it with its number's current consent status, in one round trip —
// the engine's first read of every contact it works on. A missing contact is
// nil.
func (t *Tx) ContactForUpdate(id string) (*smsflow.Contact, smsflow.ConsentStatus, error) {
	contacts, err := t.contactsForUpdate([]string{id})
	if err != nil {
		return nil, smsflow.ConsentNone, err
	}
	c := contacts[id]
	return c.c, c.consent, nil
}

// ContactIDsAfter returns up to limit contact ids after cursor, in order.
func (t *Tx) ContactIDsAfter(cursor string, limit int) ([]string, error) {
	rows, err := t.query(`SELECT id FROM contacts WHERE id > ? ORDER BY id LIMIT ?`, cursor, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// PhoneTypeInvalid is the phone type recorded for a number a provider
// called invalid (Twilio 21211): like "fixed_line", it cannot receive SMS.
const PhoneTypeInvalid = "invalid"

// MarkPhoneType records what a provider learned about a number (it is not
// valid, or not a mobile) on the contact that has it, so the policy stops
// sending to it. The type stays until the contact's number changes.
func (t *Tx) MarkPhoneType(phone, phoneType string, now time.Time) error {
	_, err := t.exec(`UPDATE contacts SET phone_type = ?, updated_at = ? WHERE phone = ?`, phoneType, micros(now), phone)
	return err
}

// UnreachablePhones returns, of the numbers given, those a provider called
// unable to receive SMS (phone type PhoneTypeInvalid), with that type, in
// one statement. Landlines by libphonenumber are the policy's business.
func (t *Tx) UnreachablePhones(phones []string) (map[string]string, error) {
	out := map[string]string{}
	if len(phones) == 0 {
		return out, nil
	}
	args := make([]any, len(phones))
	for i, p := range phones {
		args[i] = p
	}
	rows, err := t.query(`SELECT phone, phone_type FROM contacts WHERE phone IN (`+placeholders(len(phones))+`)
AND phone_type = '`+PhoneTypeInvalid+`'`, args...)
	if err != nil {
		return nil, fmt.Errorf("unreachable phones: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var phone, typ string
		if err := rows.Scan(&phone, &typ); err != nil {
			return nil, err
		}
		out[phone] = typ
	}
	return out, rows.Err()
}
