package smsflow

import "time"

// Message statuses, from queued to what the provider's receipt reports.
const (
	MessageQueued      = "queued"
	MessageSending     = "sending"
	MessageSent        = "sent"
	MessageDelivered   = "delivered"
	MessageUndelivered = "undelivered"
	MessageFailed      = "failed"
	MessageUnknown     = "unknown"  // the provider call was interrupted; never resent blindly
	MessageCanceled    = "canceled" // removed from the outbox before sending (STOP, exit, goal)
	MessageReceived    = "received" // inbound
)

// A conversation message is a person's answer to a contact's text, typed
// in the web UI's inbox (issue 20): no run, category CategoryConversation,
// step ConversationStepPrefix + who sent it ("conversation:admin"). It goes
// through the outbox like any message, and never to a number that opted
// out (checked when queued and again when sent).
const (
	CategoryConversation   = "conversation"
	ConversationStepPrefix = "conversation:"
)

// Message is one SMS, outbound or inbound.
type Message struct {
	ID         int64     `json:"id"`
	Direction  string    `json:"direction"` // "out" or "in"
	RunID      int64     `json:"run_id,omitempty"`
	StepID     string    `json:"step_id,omitempty"`
	FlowID     string    `json:"flow_id,omitempty"`
	Category   string    `json:"category,omitempty"` // the flow's category; "service" for automatic replies
	ContactID  string    `json:"contact_id"`
	Phone      string    `json:"phone"`
	Body       string    `json:"body"`
	Encoding   string    `json:"encoding"`
	Characters int       `json:"characters"`
	Segments   int       `json:"segments"`
	Status     string    `json:"status"`
	Provider   string    `json:"provider,omitempty"`
	Sender     string    `json:"sender,omitempty"` // the configured sender it goes out from; "" while queued for the default (then the address it went from)
	ProviderID string    `json:"provider_id,omitempty"`
	ErrorCode  string    `json:"error_code,omitempty"`
	SendBefore time.Time `json:"send_before,omitzero"` // not sent after this instant; zero (omitted) on inbound messages
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	// ConsumedBy says what took an inbound text (D100): "keyword:stop" (a
	// keyword of that kind), "flow:ID/STEP" (a run's reply wait), "flow:ID"
	// (it started a run); "" when nothing did (the web UI's inbox lists
	// those). Always "" on an outbound message.
	ConsumedBy string `json:"consumed_by,omitempty"`
}

// Decision is the answer of the policy check for one send attempt, with the
// reason in the exact form reports and the API show ("sent",
// "skipped:no_consent", …).
type Decision struct {
	ID        int64     `json:"id"`
	RunID     int64     `json:"run_id"`
	StepID    string    `json:"step_id"`
	FlowID    string    `json:"flow_id"`
	ContactID string    `json:"contact_id"`
	Reason    string    `json:"decision"`
	Detail    string    `json:"detail,omitempty"`
	At        time.Time `json:"at"`
}

// Decision reasons: the engine's own and policy.Decide's, in the form
// stored and shown.
const (
	DecisionSent           = "sent"
	DecisionNoConsent      = "skipped:no_consent"
	DecisionHoldout        = "skipped:holdout"
	DecisionInvalidNumber  = "skipped:invalid_number"
	DecisionTemplatePrefix = "skipped:template"
	DecisionSuppressed     = "skipped:suppressed"
	DecisionReentry        = "skipped:reentry"
	DecisionCanceledOptOut = "canceled:opt_out"

	DecisionQuietHours      = "skipped:quiet_hours"
	DecisionDeferredQuiet   = "deferred:quiet_hours" // + (until=RFC 3339)
	DecisionDeferredCap     = "deferred:cap"         // + (until=RFC 3339)
	DecisionCapPrefix       = "skipped:cap"          // + (rule=NAME)
	DecisionCollisionPrefix = "skipped:collision"    // + (flow=ID)
	DecisionSmartSending    = "skipped:smart_sending"
	DecisionExpired         = "skipped:expired"
	DecisionProviderPrefix  = "failed:provider" // + (code=…)

	// DecisionUntrustedSource: a service send of a run that an event from
	// the public write key started (or resumed), to a number that is not
	// verified (Contact.Verified).
	DecisionUntrustedSource = "skipped:untrusted_source"
	// DecisionUntrustedLink: the message would carry a link whose host came
	// from a public value and is not allowed (links.allowed_domains).
	DecisionUntrustedLink = "skipped:untrusted_link"
	// DecisionServiceLimit: the number already had limits.service_per_number
	// service messages from flows in the window.
	DecisionServiceLimit = "skipped:service_limit"
)

// Decisions of a flow's state (issue 15): a paused or held flow holds its
// runs' sends (deferred, recorded once per held send); archiving a flow
// cancels its queued messages.
const (
	DecisionDeferredFlowPaused   = "deferred:flow_paused"
	DecisionDeferredFlowHeld     = "deferred:flow_held"
	DecisionCanceledFlowArchived = "canceled:flow_archived"
)

// Decisions about scheduled entries (local segments, date triggers), with
// step "entry".
const (
	// DecisionSegmentLeft: at its moment the contact no longer matched the
	// scheduled audience: the segment's condition, or a date trigger's where.
	DecisionSegmentLeft = "skipped:segment_left"
	// DecisionNoDate: the contact has no value at the date trigger's
	// property; recorded once per contact and flow, not at every daily scan.
	DecisionNoDate = "skipped:no_date"
	// DecisionInvalidDate: the value is not a date (or not a full one for
	// `every: once`); the detail quotes it. Recorded once per contact, flow
	// and value.
	DecisionInvalidDate = "skipped:invalid_date"
	// DecisionDateChanged: at its moment the contact's date no longer fell
	// on that day (the property changed after the scan).
	DecisionDateChanged = "skipped:date_changed"
)
