package segment

import (
	"time"

	"github.com/smsflow/smsflow"
)

// Limits of the Segment Tracking API. The parser enforces MaxItemBytes on
// every message; the HTTP handler enforces MaxBatchBytes while reading the
// body, before anything is parsed.
const (
	// MaxItemBytes is the largest single message (a /v1/track body or one
	// item of a batch), in bytes: 32 KB.
	MaxItemBytes = 32 * 1024
	// MaxBatchBytes is the largest /v1/batch body, in bytes: 500 KB.
	MaxBatchBytes = 500 * 1024
	// MaxBatchExpandedBytes bounds a batch once its batch-level context is
	// merged into each item: the sum of the accepted items' sizes plus one
	// copy of that context each, in bytes (2,000 KB, four bodies' worth). Items
	// past it are refused (too_large), so what one request costs in memory
	// and storage stays a small multiple of its body whatever the context.
	MaxBatchExpandedBytes = 4 * MaxBatchBytes
	// MaxMessageIDLength is the longest messageId accepted, in characters.
	MaxMessageIDLength = 100
	// MaxEventLength is the longest track event name accepted, in
	// characters; longer names are almost always a value sent by mistake.
	MaxEventLength = 200
)

// Call types, after the Segment spec; they match the smsflow.Event* kinds.
const (
	TypeTrack    = "track"
	TypeIdentify = "identify"
	TypePage     = "page"
	TypeScreen   = "screen"
	TypeAlias    = "alias"
	TypeGroup    = "group"
)

// Message is one validated Segment call. Ids are strings even when the
// client sent numbers, and pass smsflow.CheckID; times are UTC; Properties,
// Traits and Context are nil when absent and hold what encoding/json
// produces with UseNumber (numbers are json.Number, exact to the digit).
// Strings inside them are as sent: ingest cleans them before storing.
type Message struct {
	Type        string // track, identify, page, screen, alias or group
	MessageID   string // the client's, or "gen-" + 32 hex digits when it sent none
	UserID      string
	AnonymousID string
	PreviousID  string // alias: the id being merged into UserID
	GroupID     string // group: the group (account) the user joins
	Event       string // track: the event name
	Name        string // page/screen: the page or screen name, may be ""
	Properties  map[string]any
	// Traits are the user's traits for identify (and any other call that
	// carries them), but the group's traits for group calls.
	Traits map[string]any
	// Context is the item's context over the batch's context (item keys win,
	// nested objects are merged key by key).
	Context map[string]any
	// Timestamp is when the event happened: timestamp if sent, else
	// receivedAt − (sentAt − originalTimestamp), else originalTimestamp,
	// else ReceivedAt.
	Timestamp  time.Time
	ReceivedAt time.Time
	// Phone is the raw, unvalidated phone number from traits.phone, else
	// context.traits.phone (a JSON number is turned into its digits). For
	// group calls only context.traits.phone counts: traits are the group's.
	Phone string
	// Timezone is traits.timezone, else context.timezone, when it is an IANA
	// zone name (phone.ValidTimezone). An invalid traits.timezone is an
	// error; an invalid context.timezone (set by client libraries, e.g.
	// "GMT+0530") is ignored.
	Timezone string
	// Size is the item's size in bytes as received (the whole body for a
	// single call).
	Size int
	// Raw is Properties, Traits and Context as the JSON objects received,
	// which decode to them; nil for one absent, and for a context merged
	// with a batch's.
	Raw smsflow.EventJSON
}

// ItemError is one rejected item of a batch, as listed in the /v1/batch
// answer. Field is the JSON path inside the item ("event",
// "traits.timezone"); the item's position is Index.
type ItemError struct {
	Index   int    `json:"index"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

// MaxListedErrors bounds the rejected items a batch answer lists: a 500 KB
// batch can hold 130,000 bad items, and a client needs the first few to fix
// its code, not a 12 MB list that costs as much memory to build.
const MaxListedErrors = 100

// BatchResult is what ParseBatch made of a batch: the accepted messages with
// their positions in the batch (Messages[i] was item Indexes[i]), the first
// MaxListedErrors rejected items in batch order and the count of all of
// them, and the writeKey sent in the body, if any.
type BatchResult struct {
	Messages []Message
	Indexes  []int
	Errors   []ItemError
	Rejected int // len(Errors) plus the rejected items not listed
	WriteKey string
}
