package policy

import "time"

// Double opt-in for opt-ins that do not come from the number itself (a web
// form, a checkout, the API, Shopify): with double_opt_in on, the number
// becomes pending and is sent one confirmation request — the same "Reply Y"
// text as a JOIN (AutoReplyText(KeywordJoin, true, …)) — and only its Y/YES
// subscribes it.

// DoubleOptInRequestStep is the step id of the confirmation request sent
// for such an opt-in. A JOIN's request keeps the JOIN reply's step
// ("keyword:join"): it answers a text.
const DoubleOptInRequestStep = AutoReplyStepPrefix + "double_opt_in"

// ConfirmationRequestEvery is how often a number that is already pending may
// be asked again: a checkout or form that opts the same number in again
// (each order, each visit) records the opt-in but sends no second request
// within this period.
const ConfirmationRequestEvery = 24 * time.Hour

// ReplySkippedRecentlyRequested says a confirmation request was not queued
// because the number, already pending, was asked within
// ConfirmationRequestEvery.
const ReplySkippedRecentlyRequested = "confirmation_requested_24h"

// AllowConfirmationRequest decides whether a number may be sent a double
// opt-in confirmation request now, given whether it is already pending and
// the automatic replies it got in the last 24 h. "" means yes; otherwise
// the reason it may not (the hourly reply limit applies as to every
// automatic reply).
func AllowConfirmationRequest(pending bool, recent []AutoReplySent, now time.Time) string {
	if pending {
		join := AutoReplyStep(KeywordJoin)
		for _, r := range recent {
			if (r.StepID == DoubleOptInRequestStep || r.StepID == join) && now.Sub(r.At) < ConfirmationRequestEvery {
				return ReplySkippedRecentlyRequested
			}
		}
	}
	return AllowAutoReply(DoubleOptInRequestStep, recent, now)
}
