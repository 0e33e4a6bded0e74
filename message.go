package smsflow

import "time"

// Message statuses (spec §2).
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
	ProviderID string    `json:"provider_id,omitempty"`
	ErrorCode  string    `json:"error_code,omitempty"`
	SendBefore time.Time `json:"send_before,omitzero"` // not sent after this instant; zero (omitted) on inbound messages
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Decision is the answer of the policy check for one send attempt, with the
// reason in the exact form of spec §2 ("sent", "skipped:no_consent", …).
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

// Decision reasons the flow engine issue decides; the governance issue adds
// the rest of spec §2 through the same policy hook.
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
)
