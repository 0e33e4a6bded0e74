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
	// PhoneVerified says the number is known to reach this contact: a
	// trusted source set it (server or admin key, Shopify, an import) or it
	// texted in. Events from the write key never cause a service text to an
	// unverified number (a number that opted in counts as verified too, see
	// Verified).
	PhoneVerified bool `json:"phone_verified"`
	// PhonePublic says only the public write key vouches for the number: a
	// trusted source that gives the number to another contact takes it
	// over. Neither flag is set on numbers stored before smsflow recorded
	// who set them.
	PhonePublic bool `json:"phone_public,omitempty"`
	// PublicTraits are the trait keys whose current value an event sent
	// with the public write key set: templates print those as plain text.
	PublicTraits []string  `json:"public_traits,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Verified reports whether events from the public write key may cause a
// service text to the contact's number: the number is verified (see
// PhoneVerified) or it is subscribed in the consent ledger, which only
// trusted sources and the person write to.
func (c *Contact) Verified(consent ConsentStatus) bool {
	return c.Phone != "" && (c.PhoneVerified || consent == ConsentSubscribed)
}

// ContactIDForPhone is the id given to a contact first seen through its phone
// number (an inbound text from an unknown number, an import row without id).
func ContactIDForPhone(e164 string) string { return "phone:" + e164 }

// AnonymousContactID is the id of the placeholder contact that holds an
// anonymousId's history until identify or alias merges it into a known one.
func AnonymousContactID(anonymousID string) string { return "anon:" + anonymousID }

// ShopifyContactID is the id of the contact smsflow creates for a Shopify
// customer it cannot match to an existing contact (by alias or phone). Like
// phone:+… contacts it is smsflow's own: a storefront identify that carries
// the same number merges it into the storefront's userId, and the Shopify id
// then stays an alias of that contact.
func ShopifyContactID(customerID string) string { return ShopifyContactPrefix + customerID }

// ShopifyContactPrefix starts the ids ShopifyContactID makes; ingest keeps
// the public write key from naming them.
const ShopifyContactPrefix = "shopify:"
