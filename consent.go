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

// Consent sources (spec §2).
const (
	SourceKeyword  ConsentSource = "keyword"
	SourceCheckout ConsentSource = "checkout"
	SourceWebForm  ConsentSource = "web_form"
	SourceAPI      ConsentSource = "api"
	SourceImport   ConsentSource = "import"
	SourceShopify  ConsentSource = "shopify"
	SourceCarrier  ConsentSource = "carrier"
)

// ConsentSources lists every valid source, for validation messages.
var ConsentSources = []ConsentSource{SourceKeyword, SourceCheckout, SourceWebForm, SourceAPI, SourceImport, SourceShopify, SourceCarrier}

// ValidConsentSource reports whether s is a known source.
func ValidConsentSource(s ConsentSource) bool { return slices.Contains(ConsentSources, s) }

// ConsentEntry is one append-only row of the consent ledger. The ledger is
// keyed by phone number: consent belongs to the number.
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

// Consent is a number's derived status with the ledger it comes from.
type Consent struct {
	Status ConsentStatus  `json:"status"`
	Ledger []ConsentEntry `json:"ledger"`
}

// DeriveConsent returns the status a ledger implies: that of its latest entry
// (by occurrence, then by the order entries were recorded). Entries must be
// sorted oldest first, as the store returns them.
func DeriveConsent(ledger []ConsentEntry) ConsentStatus {
	if len(ledger) == 0 {
		return ConsentNone
	}
	return ledger[len(ledger)-1].Status
}

// hardOptOut reports whether an entry is an opt-out only the person can undo:
// one made by keyword (STOP by text) or reported by the carrier.
func (e ConsentEntry) hardOptOut() bool {
	return e.Status == ConsentUnsubscribed && (e.Source == SourceKeyword || e.Source == SourceCarrier)
}

// CheckConsentChange enforces the ledger's one rule before an entry is
// appended: after an opt-out by keyword or carrier, only the person can opt
// back in — by keyword (START/UNSTOP/JOIN by text) or with a newer opt-in that
// carries fresh evidence. Imports, the API without evidence and Shopify
// updates never resubscribe. latest is the number's current latest entry (nil
// when the ledger is empty). A nil result means the entry may be appended.
func CheckConsentChange(latest *ConsentEntry, next ConsentEntry) error {
	if latest == nil || !latest.hardOptOut() {
		return nil
	}
	if next.Status != ConsentSubscribed && next.Status != ConsentPending {
		return nil
	}
	if !next.OccurredAt.After(latest.OccurredAt) {
		return Errorf(ECONFLICT, "this number opted out (%s) at %s; an opt-in dated before that cannot resubscribe it",
			latest.Source, latest.OccurredAt.Format(time.RFC3339))
	}
	switch next.Source {
	case SourceKeyword:
		return nil
	case SourceImport, SourceShopify:
		return Errorf(ECONFLICT, "this number opted out by %s; a %s opt-in cannot resubscribe it — only the person can (START by text, or a new opt-in with evidence)", latest.Source, next.Source)
	}
	if len(next.Evidence) == 0 {
		return Errorf(ECONFLICT, "this number opted out by %s; resubscribing it needs fresh evidence of the person's consent (form URL, IP, disclosure text) in \"evidence\"", latest.Source)
	}
	return nil
}
