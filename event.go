package smsflow

import (
	"encoding/json"
	"strconv"
	"time"
)

// Event kinds, after the Segment spec.
const (
	EventTrack    = "track"
	EventIdentify = "identify"
	EventPage     = "page"
	EventScreen   = "screen"
	EventAlias    = "alias"
	EventGroup    = "group"
	// EventConsent is the type of the built-in Subscribed / Unsubscribed
	// events smsflow records when the consent ledger changes a number's
	// status; callers cannot send it, so consent triggers cannot be forged.
	EventConsent = "consent"
	// EventInbound is the type of the Message Replied events made from real
	// inbound texts; only they answer a reply wait.
	EventInbound = "inbound"
)

// Built-in event names (the triggers of docs/flows.md) and the e-commerce names the engine
// treats specially.
const (
	EventOrderCompleted   = "Order Completed"
	EventCheckoutStarted  = "Checkout Started"
	EventLinkClicked      = "Link Clicked"
	EventMessageReplied   = "Message Replied"
	EventMessageDelivered = "Message Delivered"
	EventMessageFailed    = "Message Failed"
	EventSubscribed       = "Subscribed"
	EventUnsubscribed     = "Unsubscribed"
)

// The trigger events of scheduled entries: a local segment's contact or a
// date trigger's date reaching its moment. They are never stored as events;
// each run keeps its own as `trigger` (type "segment" or "date", properties
// flow and job, and for a date property and date).
const (
	EventSegmentEntered = "Segment Entered"
	EventDateReached    = "Date Reached"
)

// Event is one thing a contact did or that happened to them, as received.
// MessageID is the idempotency key; DedupeKey is a second one some events
// carry (order_id for Order Completed).
type Event struct {
	Seq         int64          `json:"seq,omitempty"`
	MessageID   string         `json:"messageId"`
	Type        string         `json:"type"`
	Name        string         `json:"event,omitempty"` // track: event name; page/screen: page name
	ContactID   string         `json:"contact_id"`
	AnonymousID string         `json:"anonymousId,omitempty"`
	Properties  map[string]any `json:"properties,omitempty"`
	Traits      map[string]any `json:"traits,omitempty"`
	Context     map[string]any `json:"context,omitempty"`
	DedupeKey   string         `json:"-"`
	Timestamp   time.Time      `json:"timestamp"`
	ReceivedAt  time.Time      `json:"receivedAt"`
	// Trust is that of the source that sent the event: public for the
	// write key, trusted otherwise ("" reads as trusted: see Trust).
	Trust Trust `json:"trust,omitempty"`
	// Encoded holds Properties, Traits and Context already as JSON text
	// that decodes to them, when the source has it (the bytes a Segment
	// call sent, when validation changed nothing in them): the store
	// writes that text instead of encoding the maps again. A nil field is
	// encoded from its map.
	Encoded EventJSON `json:"-"`
}

// EventJSON is an event's Properties, Traits and Context as JSON objects
// (Event.Encoded).
type EventJSON struct {
	Properties, Traits, Context []byte
}

// OrderDedupeKey returns the second idempotency key of an Order Completed
// event (its properties.order_id), or "" when it has none.
func OrderDedupeKey(name string, properties map[string]any) string {
	if id := orderID(name, properties); id != "" {
		return "order:" + id
	}
	return ""
}

// CheckOrderID returns an invalid *Error (field properties.order_id) when
// the order id of an Order Completed event cannot be a key: see CheckID.
func CheckOrderID(name string, properties map[string]any) *Error {
	return CheckID("properties.order_id", orderID(name, properties), MaxIDLength)
}

// orderID is an Order Completed event's properties.order_id as text: a
// string as sent, a number by its decimal spelling — every digit of a
// json.Number integer (ids above 2^53 do not collide), other numbers by
// their shortest decimal (NumberID).
func orderID(name string, properties map[string]any) string {
	if name != EventOrderCompleted {
		return ""
	}
	switch v := properties["order_id"].(type) {
	case string:
		return v
	case json.Number:
		if id, ok := NumberID(string(v)); ok {
			return id
		}
		return string(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return ""
}
