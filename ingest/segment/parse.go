package segment

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
)

// object is a JSON object whose values are decoded field by field, so each
// error can name its field. Duplicate keys: the last one wins, as in
// encoding/json.
type object map[string]json.RawMessage

// batchDefaults are the batch-level fields an item inherits when it lacks
// its own.
type batchDefaults struct {
	sentAt    time.Time
	hasSentAt bool
	context   map[string]any
	// contextSize is the batch context's size in bytes as received: each
	// item that inherits it costs that much more once merged.
	contextSize int
}

// ParseOne parses the body of a single call. kind is the call type given by
// the route (/v1/track → "track"); a "type" in the body must agree with it or
// be absent. receivedAt is when the server received the body; it must not be
// zero. Every error is a *smsflow.Error (code invalid, or too_large past
// MaxItemBytes) whose Field is the JSON path at fault, except for a zero
// receivedAt, which is a programming error.
func ParseOne(kind string, body []byte, receivedAt time.Time) (Message, error) {
	if !validType(kind) {
		return Message{}, smsflow.FieldErrorf(smsflow.EINVALID, "type", "unknown call type %q; use one of %s", kind, typeList)
	}
	if receivedAt.IsZero() {
		return Message{}, errors.New("segment: parse one: receivedAt is zero")
	}
	if len(body) > MaxItemBytes {
		return Message{}, tooLarge("the event", len(body))
	}
	obj, err := decodeObject(body)
	if err != nil {
		return Message{}, smsflow.Errorf(smsflow.EINVALID, "the body %s", err)
	}
	if t, _, ferr := stringField(obj, "type"); ferr != nil {
		return Message{}, ferr
	} else if t != "" && t != kind {
		return Message{}, smsflow.FieldErrorf(smsflow.EINVALID, "type",
			"the body has type %q but was sent to the %s endpoint; send it to /v1/batch or the endpoint of its type", t, kind)
	}
	m, ferr := parseItem(obj, kind, batchDefaults{}, receivedAt, len(body))
	if ferr != nil {
		return Message{}, ferr
	}
	return m, nil
}

// ParseBatch parses a /v1/batch body: {"batch": [...], "sentAt", "context",
// "writeKey"}. A body that is not a JSON object, lacks the batch array or has
// an invalid batch-level sentAt or context is an error for the whole call (a
// *smsflow.Error). Otherwise each item is parsed on its own: invalid items
// are counted in Rejected and the first MaxListedErrors listed in Errors, in
// batch order, and the others returned. Items
// inherit the batch's sentAt when they have none, and its context under
// their own. receivedAt must not be zero.
func ParseBatch(body []byte, receivedAt time.Time) (BatchResult, error) {
	if receivedAt.IsZero() {
		return BatchResult{}, errors.New("segment: parse batch: receivedAt is zero")
	}
	obj, err := decodeObject(body)
	if err != nil {
		return BatchResult{}, smsflow.Errorf(smsflow.EINVALID, "the batch body %s", err)
	}
	rawItems, ok := obj["batch"]
	if !ok || isNull(rawItems) {
		return BatchResult{}, smsflow.FieldErrorf(smsflow.EINVALID, "batch", `a batch call needs a "batch" array of messages`)
	}
	var items []json.RawMessage
	if firstByte(rawItems) != '[' || json.Unmarshal(rawItems, &items) != nil {
		return BatchResult{}, smsflow.FieldErrorf(smsflow.EINVALID, "batch", `"batch" must be an array of messages`)
	}
	var defaults batchDefaults
	var ferr *smsflow.Error
	if defaults.sentAt, defaults.hasSentAt, ferr = timeField(obj, "sentAt"); ferr != nil {
		return BatchResult{}, ferr
	}
	if defaults.context, ferr = objectField(obj, "context"); ferr != nil {
		return BatchResult{}, ferr
	}
	if defaults.context != nil {
		defaults.contextSize = len(obj["context"])
	}

	res := BatchResult{WriteKey: writeKey(obj)}
	expanded := 0 // bytes of the accepted items, each with the batch context merged in
	for i, raw := range items {
		m, err := parseBatchItem(raw, defaults, receivedAt, expanded)
		if err != nil {
			if res.Rejected++; len(res.Errors) < MaxListedErrors {
				res.Errors = append(res.Errors, ItemError{Index: i, Code: err.Code, Message: err.Message, Field: err.Field})
			}
			continue
		}
		expanded += len(raw) + defaults.contextSize
		res.Messages = append(res.Messages, m)
		res.Indexes = append(res.Indexes, i)
	}
	return res, nil
}

// WriteKey returns the writeKey field of a single-call or batch body (as
// analytics.js sends it), or "" when the body has none or is not a JSON
// object. The handler uses it when the request carries no Authorization
// header.
func WriteKey(body []byte) string {
	obj, err := decodeObject(body)
	if err != nil {
		return ""
	}
	return writeKey(obj)
}

func writeKey(obj object) string {
	k, _, err := stringField(obj, "writeKey")
	if err != nil {
		return ""
	}
	return k
}

// parseBatchItem parses one item of a batch whose accepted items so far
// come to expanded bytes with the batch context merged in. The limits are
// on the item as merged: a batch context is copied into every item, so a
// large one would multiply a 500 KB body into gigabytes of stored events.
func parseBatchItem(raw json.RawMessage, defaults batchDefaults, receivedAt time.Time, expanded int) (Message, *smsflow.Error) {
	if len(raw) > MaxItemBytes {
		return Message{}, tooLarge("the message", len(raw))
	}
	merged := len(raw) + defaults.contextSize
	if merged > MaxItemBytes {
		return Message{}, smsflow.FieldErrorf(smsflow.ETOOLARGE, "context",
			"the message is %d bytes with the batch's context (%d bytes) merged into it; the limit is %d bytes (32 KB) per message — send a smaller batch context, or put it only in the messages that need it",
			merged, defaults.contextSize, MaxItemBytes)
	}
	if expanded+merged > MaxBatchExpandedBytes {
		return Message{}, smsflow.FieldErrorf(smsflow.ETOOLARGE, "context",
			"the batch's context (%d bytes) merged into each of its messages comes to more than %d bytes (%d KB) for the batch; this message and those after it are refused — send fewer messages per batch with this context",
			defaults.contextSize, MaxBatchExpandedBytes, MaxBatchExpandedBytes/1024)
	}
	obj, err := decodeObject(raw)
	if err != nil {
		return Message{}, smsflow.Errorf(smsflow.EINVALID, "the message %s", err)
	}
	kind, ok, ferr := stringField(obj, "type")
	switch {
	case ferr != nil:
		return Message{}, ferr
	case !ok || kind == "":
		return Message{}, smsflow.FieldErrorf(smsflow.EINVALID, "type", "type is required in a batch message; use one of %s", typeList)
	case !validType(kind):
		return Message{}, smsflow.FieldErrorf(smsflow.EINVALID, "type", "type %q is not one of %s", kind, typeList)
	}
	return parseItem(obj, kind, defaults, receivedAt, len(raw))
}

// parseItem applies the rules of one call of the given kind.
func parseItem(obj object, kind string, defaults batchDefaults, receivedAt time.Time, size int) (Message, *smsflow.Error) {
	m := Message{Type: kind, ReceivedAt: receivedAt.UTC(), Size: size}
	var err *smsflow.Error

	if m.MessageID, err = idField(obj, "messageId", MaxMessageIDLength); err != nil {
		return Message{}, err
	}
	if m.MessageID == "" {
		m.MessageID = newMessageID()
	}

	if m.UserID, err = idField(obj, "userId", smsflow.MaxIDLength); err != nil {
		return Message{}, err
	}
	if m.AnonymousID, err = idField(obj, "anonymousId", smsflow.MaxIDLength); err != nil {
		return Message{}, err
	}
	switch kind {
	case TypeAlias:
		if m.PreviousID, err = idField(obj, "previousId", smsflow.MaxIDLength); err != nil {
			return Message{}, err
		}
		if m.PreviousID == "" {
			return Message{}, smsflow.FieldErrorf(smsflow.EINVALID, "previousId", "an alias call needs previousId, the old id to merge")
		}
		if m.UserID == "" {
			return Message{}, smsflow.FieldErrorf(smsflow.EINVALID, "userId", "an alias call needs userId, the id to merge previousId into")
		}
	default:
		if m.UserID == "" && m.AnonymousID == "" {
			return Message{}, smsflow.FieldErrorf(smsflow.EINVALID, "userId", "userId or anonymousId is required")
		}
	}

	switch kind {
	case TypeTrack:
		var ok bool
		if m.Event, ok, err = stringField(obj, "event"); err != nil {
			return Message{}, err
		}
		if !ok || strings.TrimSpace(m.Event) == "" {
			return Message{}, smsflow.FieldErrorf(smsflow.EINVALID, "event", "a track call needs an event name, like \"Order Completed\"")
		}
		if err = smsflow.CheckID("event", m.Event, MaxEventLength); err != nil {
			return Message{}, err
		}
	case TypePage, TypeScreen:
		if m.Name, _, err = stringField(obj, "name"); err != nil {
			return Message{}, err
		}
		if err = smsflow.CheckID("name", m.Name, MaxEventLength); err != nil {
			return Message{}, err
		}
	case TypeGroup:
		if m.GroupID, err = idField(obj, "groupId", smsflow.MaxIDLength); err != nil {
			return Message{}, err
		}
		if m.GroupID == "" {
			return Message{}, smsflow.FieldErrorf(smsflow.EINVALID, "groupId", "a group call needs groupId")
		}
	}

	if m.Properties, err = objectField(obj, "properties"); err != nil {
		return Message{}, err
	}
	if kind == TypeTrack {
		if err = smsflow.CheckOrderID(m.Event, m.Properties); err != nil {
			return Message{}, err
		}
	}
	if m.Traits, err = objectField(obj, "traits"); err != nil {
		return Message{}, err
	}
	if m.Context, err = objectField(obj, "context"); err != nil {
		return Message{}, err
	}
	m.Raw = smsflow.EventJSON{Properties: rawObject(obj, "properties", m.Properties), Traits: rawObject(obj, "traits", m.Traits), Context: rawObject(obj, "context", m.Context)}
	if defaults.context != nil {
		m.Context = mergeUnder(defaults.context, m.Context)
		m.Raw.Context = nil
	}

	if err = m.setTimestamp(obj, defaults); err != nil {
		return Message{}, err
	}
	if err = m.setPhone(); err != nil {
		return Message{}, err
	}
	if err = m.setTimezone(); err != nil {
		return Message{}, err
	}
	return m, nil
}

// rawObject is the text of an object field that decoded to m, nil when
// there is none.
func rawObject(obj object, key string, m map[string]any) []byte {
	if m == nil {
		return nil
	}
	return obj[key]
}

// mergeUnder returns over laid on top of a copy of base: keys of over win,
// and where both hold an object the two are merged the same way. The result
// shares nothing with base, so items of one batch never share a map.
func mergeUnder(base, over map[string]any) map[string]any {
	out := cloneObject(base)
	for k, v := range over {
		if bo, ok := out[k].(map[string]any); ok {
			if oo, ok := v.(map[string]any); ok {
				out[k] = mergeUnder(bo, oo)
				continue
			}
		}
		out[k] = v
	}
	return out
}

func cloneObject(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return cloneObject(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = cloneValue(e)
		}
		return out
	default:
		return v
	}
}

// newMessageID makes an id for a message sent without one. It is random,
// so two such messages are never taken for duplicates.
func newMessageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand crashes the program instead)
	return "gen-" + hex.EncodeToString(b[:])
}

var typeList = "track, identify, page, screen, alias, group"

func validType(t string) bool {
	switch t {
	case TypeTrack, TypeIdentify, TypePage, TypeScreen, TypeAlias, TypeGroup:
		return true
	}
	return false
}
