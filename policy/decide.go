package policy

import (
	"github.com/smsflow/smsflow"
)

// Send is what the policy check knows about one send a run wants to make.
type Send struct {
	Category  string                // the flow's category: service, lifecycle, behavior, promo
	Phone     string                // E.164, "" when the contact has none
	PhoneType string                // libphonenumber's type; fixed_line cannot receive SMS
	Consent   smsflow.ConsentStatus // derived from the ledger
	Holdout   bool                  // the run is in the flow's control group
	// TemplateError is the reason rendering failed ("" when it rendered).
	TemplateError string
}

// Marketing reports whether a category needs a subscribed number (every
// category but service).
func Marketing(category string) bool { return category != "service" }

// Decide is the one policy check every send goes through. It is a pure
// function of the facts and returns the Decision reason of spec §2. The
// governance issue extends it (quiet hours, caps, collisions, smart sending)
// without changing its callers.
func Decide(s Send) string {
	switch {
	case s.Phone == "" || s.PhoneType == "fixed_line":
		return smsflow.DecisionInvalidNumber
	case s.Consent == smsflow.ConsentUnsubscribed:
		return smsflow.DecisionNoConsent
	case Marketing(s.Category) && s.Consent != smsflow.ConsentSubscribed:
		return smsflow.DecisionNoConsent
	case s.Holdout:
		return smsflow.DecisionHoldout
	case s.TemplateError != "":
		return smsflow.DecisionTemplatePrefix + "(" + s.TemplateError + ")"
	}
	return smsflow.DecisionSent
}

// CanEnter reports whether a contact's consent lets it enter a flow of the
// category (the "consent class" entry check): marketing needs subscribed,
// service a number that is not unsubscribed.
func CanEnter(category string, consent smsflow.ConsentStatus) bool {
	if Marketing(category) {
		return consent == smsflow.ConsentSubscribed
	}
	return consent != smsflow.ConsentUnsubscribed
}
