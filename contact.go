package smsflow

import "time"

// Contact is one person, identified by the caller's userId. A phone number
// belongs to at most one contact.
type Contact struct {
	ID        string `json:"id"`
	Phone     string `json:"phone,omitempty"`      // E.164, "" when unknown
	PhoneType string `json:"phone_type,omitempty"` // mobile, fixed_line, voip, … as libphonenumber says
	Timezone  string `json:"timezone,omitempty"`   // explicit zone, else first candidate
	// TimezoneSource says where Timezone came from: "trait", "context" or
	// "number" (the first candidate). Local wall-clock times use an explicit
	// zone as is, otherwise the latest candidate.
	TimezoneSource string         `json:"timezone_source,omitempty"`
	Timezones      []string       `json:"timezones"` // every candidate zone of the number
	Traits         map[string]any `json:"traits"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
}

// ContactIDForPhone is the id given to a contact first seen through its phone
// number (an inbound text from an unknown number, an import row without id).
func ContactIDForPhone(e164 string) string { return "phone:" + e164 }

// AnonymousContactID is the id of the placeholder contact that holds an
// anonymousId's history until identify or alias merges it into a known one.
func AnonymousContactID(anonymousID string) string { return "anon:" + anonymousID }
