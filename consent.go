package smsflow

import (
	"slices"
	"time"
)

// ConsentStatus is derived from the consent ledger, never stored apart from it.
type ConsentStatus string

// Consent statuses.
const (
	ConsentNone         ConsentStatus = "none"
	ConsentPending      ConsentStatus = "pending" // double opt-in asked, not yet confirmed
	ConsentSubscribed   ConsentStatus = "subscribed"
	ConsentUnsubscribed ConsentStatus = "unsubscribed"
)

// ConsentSource says where a consent change came from.
type ConsentSource string

// Consent sources: where a consent change came from, kept in the ledger as
// part of its evidence.
const (
	SourceKeyword  ConsentSource = "keyword"
	SourceCheckout ConsentSource = "checkout"
	SourceWebForm  ConsentSource = "web_form"
	SourceAPI      ConsentSource = "api"
	SourceImport   ConsentSource = "import"
	SourceShopify  ConsentSource = "shopify"
	SourceCarrier  ConsentSource = "carrier"
	// SourceDoubleOptIn is the number's own Y/YES confirming a pending
	// opt-in (double opt-in); its evidence names the opt-in it confirms.
	// Only smsflow records it: callers cannot claim it.
	SourceDoubleOptIn ConsentSource = "double_opt_in"
)

// ConsentSources lists every source a ledger entry may carry, for
// validation messages and documentation.
var ConsentSources = []ConsentSource{SourceKeyword, SourceCheckout, SourceWebForm, SourceAPI, SourceImport, SourceShopify, SourceCarrier, SourceDoubleOptIn}

// ValidConsentSource reports whether s is a known source.
func ValidConsentSource(s ConsentSource) bool { return slices.Contains(ConsentSources, s) }

// ConsentEntry is one append-only row of the consent ledger. The ledger is
// keyed by phone number: consent belongs to the number. OccurredAt is the
// time the source claims (evidence, shown as "timestamp"); RecordedAt is
// when smsflow recorded the entry. Entries are ordered by recording (their
// id), never by the claimed time.
type ConsentEntry struct {
	ID         int64          `json:"id"`
	Phone      string         `json:"phone"`
	ContactID  string         `json:"contact_id,omitempty"`
	Status     ConsentStatus  `json:"status"`
	Source     ConsentSource  `json:"source"`
	Evidence   map[string]any `json:"evidence,omitempty"`
	MessageID  string         `json:"message_id,omitempty"` // the message or event that caused it
	OccurredAt time.Time      `json:"timestamp"`
	RecordedAt time.Time      `json:"recorded_at"`
}

// Evidence keys smsflow adds to an entry whose claimed time lay after the
// moment it was recorded (ClampClaimedTime).
const (
	EvidenceClaimedTimestamp = "claimed_timestamp" // the time as claimed (RFC 3339)
	EvidenceTimestampClamped = "timestamp_clamped" // true
)

// ClampClaimedTime makes the entry's claimed time no later than the moment
// it is recorded: a time in the future is a claim smsflow cannot hold
// (a wrong clock, a typo, or an attempt to outrank a later opt-out), so it
// becomes the time of receipt, and the claim is kept in the evidence
// (claimed_timestamp, timestamp_clamped: true). The evidence map is copied,
// never changed in place. Every ledger append goes through it, so
// OccurredAt <= RecordedAt holds for every entry recorded since.
func (e *ConsentEntry) ClampClaimedTime() {
	if !e.OccurredAt.After(e.RecordedAt) {
		return
	}
	ev := make(map[string]any, len(e.Evidence)+2)
	for k, v := range e.Evidence {
		ev[k] = v
	}
	ev[EvidenceClaimedTimestamp] = e.OccurredAt.UTC().Format(time.RFC3339Nano)
	ev[EvidenceTimestampClamped] = true
	e.Evidence, e.OccurredAt = ev, e.RecordedAt
}

// Consent is a number's derived status with the ledger it comes from.
type Consent struct {
	Status ConsentStatus  `json:"status"`
	Ledger []ConsentEntry `json:"ledger"`
}

// DeriveConsent returns the status a ledger implies: that of the entry
// recorded last. Entries must be in the order they were recorded (by id), as
// the store returns them. Claimed times play no part: an opt-in dated in the
// future cannot outrank an opt-out recorded after it.
func DeriveConsent(ledger []ConsentEntry) ConsentStatus {
	if len(ledger) == 0 {
		return ConsentNone
	}
	return ledger[len(ledger)-1].Status
}

// optIn reports whether an entry opts the number in (pending counts: the
// number asked to join).
func (e ConsentEntry) optIn() bool {
	return e.Status == ConsentSubscribed || e.Status == ConsentPending
}

// CheckConsentChange enforces the ledger's one rule before an entry is
// appended: an unsubscribe — whatever its source (a STOP, the carrier, the
// API, an import, Shopify) — is undone only by a newer opt-in: one recorded
// after it (next is being appended, latest is the number's last recorded
// entry, nil when the ledger is empty), claiming a time no earlier than the
// moment the opt-out was recorded (received), and carrying evidence of the person's
// consent. The number's own texts (START/UNSTOP, JOIN, Y confirming a
// double opt-in) always carry it — the text itself; an opt-in from
// elsewhere (a form, a checkout, the API) must bring it. Imports, Shopify
// updates and the carrier never resubscribe. next's claimed time must
// already be clamped (ClampClaimedTime). A nil result means the entry may
// be appended.
func CheckConsentChange(latest *ConsentEntry, next ConsentEntry) error {
	if latest == nil || latest.Status != ConsentUnsubscribed || !next.optIn() {
		return nil
	}
	switch next.Source {
	case SourceImport, SourceShopify, SourceCarrier:
		return Errorf(ECONFLICT, "this number opted out (%s, %s); a %s opt-in never resubscribes it — only the person can (START by text, or a new opt-in with evidence)",
			latest.Source, latest.RecordedAt.Format(time.RFC3339), next.Source)
	}
	if len(next.Evidence) == 0 {
		return Errorf(ECONFLICT, "this number opted out (%s, %s); resubscribing it needs fresh evidence of the person's consent (form URL, IP, disclosure text) in \"evidence\"",
			latest.Source, latest.RecordedAt.Format(time.RFC3339))
	}
	if next.OccurredAt.Before(latest.RecordedAt) {
		return Errorf(ECONFLICT, "this number opted out (%s) at %s; an opt-in dated %s, before that, cannot resubscribe it",
			latest.Source, latest.RecordedAt.Format(time.RFC3339), next.OccurredAt.Format(time.RFC3339))
	}
	return nil
}
