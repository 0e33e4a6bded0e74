package segment

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/phone"
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
	if defaults.context != nil {
		m.Context = mergeUnder(defaults.context, m.Context)
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

// setTimestamp applies Segment's rule. All three fields are checked when
// present, even those the rule does not use, so that a bad value is reported
// rather than silently ignored.
func (m *Message) setTimestamp(obj object, defaults batchDefaults) *smsflow.Error {
	ts, hasTS, err := timeField(obj, "timestamp")
	if err != nil {
		return err
	}
	orig, hasOrig, err := timeField(obj, "originalTimestamp")
	if err != nil {
		return err
	}
	sent, hasSent, err := timeField(obj, "sentAt")
	if err != nil {
		return err
	}
	if !hasSent {
		sent, hasSent = defaults.sentAt, defaults.hasSentAt
	}
	switch {
	case hasTS:
		m.Timestamp = ts
	case hasOrig && hasSent:
		// The client's clock may be off; sentAt − originalTimestamp is
		// how long the event waited on the client, by that same clock.
		m.Timestamp = m.ReceivedAt.Add(-sent.Sub(orig))
	case hasOrig:
		m.Timestamp = orig
	default:
		m.Timestamp = m.ReceivedAt
	}
	m.Timestamp = m.Timestamp.UTC()
	if y := m.Timestamp.Year(); y < minYear || y > maxYear {
		// Only the correction can leave the range: each field was in it.
		return smsflow.FieldErrorf(smsflow.EINVALID, "originalTimestamp",
			"originalTimestamp %s corrected by sentAt %s (the client's clock is %s off the server's) gives %s; years %d to %d are accepted — check the device clock, or send timestamp",
			orig.Format(time.RFC3339Nano), sent.Format(time.RFC3339Nano), clockSkew(sent.Sub(m.ReceivedAt)), m.Timestamp.Format(time.RFC3339), minYear, maxYear)
	}
	return nil
}

// clockSkew describes how far a client's clock is off, in years when it is
// that far.
func clockSkew(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	if year := 365 * 24 * time.Hour; d >= year {
		return fmt.Sprintf("%.0f years", d.Hours()/24/365.2425)
	}
	return d.Round(time.Second).String()
}

// setPhone finds the raw phone number: traits.phone (not for group calls,
// whose traits are the group's), else context.traits.phone.
func (m *Message) setPhone() *smsflow.Error {
	if m.Type != TypeGroup {
		p, err := phoneValue(m.Traits["phone"], "traits.phone")
		if err != nil || p != "" {
			m.Phone = p
			return err
		}
	}
	ctxTraits, err := contextTraits(m.Context)
	if err != nil {
		return err
	}
	m.Phone, err = phoneValue(ctxTraits["phone"], "context.traits.phone")
	return err
}

// setTimezone takes traits.timezone, which must be an IANA zone when given
// (not for group calls), else context.timezone when it is one.
func (m *Message) setTimezone() *smsflow.Error {
	if m.Type != TypeGroup {
		switch tz := m.Traits["timezone"].(type) {
		case nil:
		case string:
			if tz != "" {
				if !phone.ValidTimezone(tz) {
					return smsflow.FieldErrorf(smsflow.EINVALID, "traits.timezone", "%s is not an IANA time zone name like America/New_York", quote(tz))
				}
				m.Timezone = tz
				return nil
			}
		default:
			return smsflow.FieldErrorf(smsflow.EINVALID, "traits.timezone", "traits.timezone must be a string, an IANA time zone name like America/New_York")
		}
	}
	if tz, ok := m.Context["timezone"].(string); ok && phone.ValidTimezone(tz) {
		m.Timezone = tz
	}
	return nil
}

func contextTraits(ctx map[string]any) (map[string]any, *smsflow.Error) {
	switch t := ctx["traits"].(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return t, nil
	default:
		return nil, smsflow.FieldErrorf(smsflow.EINVALID, "context.traits", "context.traits must be an object")
	}
}

// phoneValue accepts a phone number sent as a string or a JSON number.
func phoneValue(v any, field string) (string, *smsflow.Error) {
	switch p := v.(type) {
	case nil:
		return "", nil
	case string:
		return p, nil
	case json.Number:
		return string(p), nil
	default:
		return "", smsflow.FieldErrorf(smsflow.EINVALID, field, "%s must be a string, like \"+14155550100\"", field)
	}
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

// decodeObject decodes a JSON object into its fields. Its errors complete a
// sentence whose subject is the thing decoded ("the body …").
func decodeObject(b []byte) (object, error) {
	if firstByte(b) != '{' {
		if !json.Valid(b) {
			return nil, errors.New("is not valid JSON")
		}
		return nil, errors.New("must be a JSON object")
	}
	var obj object
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, fmt.Errorf("is not valid JSON: %s", jsonProblem(err))
	}
	return obj, nil
}

// jsonProblem describes a decoding error without Go type names.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	}
	var ue *json.UnmarshalTypeError
	if errors.As(err, &ue) {
		return fmt.Sprintf("unexpected %s (at byte %d)", ue.Value, ue.Offset)
	}
	return err.Error()
}

// stringField returns a string field; absent and null are ("", false).
func stringField(obj object, key string) (string, bool, *smsflow.Error) {
	raw, ok := obj[key]
	if !ok || isNull(raw) {
		return "", false, nil
	}
	var s string
	if firstByte(raw) != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false, smsflow.FieldErrorf(smsflow.EINVALID, key, "%s must be a string", key)
	}
	return s, true, nil
}

// idField returns an id that may be a string or a number (Segment accepts
// both); a number keeps its decimal spelling ("42", "1.5"; 1e3 is "1000").
// It must pass smsflow.CheckID with at most max characters.
func idField(obj object, key string, max int) (string, *smsflow.Error) {
	raw, ok := obj[key]
	if !ok || isNull(raw) {
		return "", nil
	}
	id, found := "", false
	switch c := firstByte(raw); {
	case c == '"':
		found = json.Unmarshal(raw, &id) == nil
	case c == '-' || (c >= '0' && c <= '9'):
		lit := string(bytes.TrimSpace(raw))
		id, found = smsflow.NumberID(lit)
	}
	if !found {
		return "", smsflow.FieldErrorf(smsflow.EINVALID, key, "%s must be a string or a number", key)
	}
	if err := smsflow.CheckID(key, id, max); err != nil {
		return "", err
	}
	return id, nil
}

// objectField returns an object field; absent and null are nil. Numbers in
// it are json.Number, so that ids keep every digit (an order_id above 2^53
// is not rounded into another order's).
func objectField(obj object, key string) (map[string]any, *smsflow.Error) {
	raw, ok := obj[key]
	if !ok || isNull(raw) {
		return nil, nil
	}
	if firstByte(raw) != '{' {
		return nil, smsflow.FieldErrorf(smsflow.EINVALID, key, "%s must be an object", key)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, smsflow.FieldErrorf(smsflow.EINVALID, key, "%s is not valid: %s", key, jsonProblem(err))
	}
	if n, ok := outOfRange(m); ok {
		// Stored JSON is read back as float64: 1e400 would fail every read.
		return nil, smsflow.FieldErrorf(smsflow.EINVALID, key, "%s is not valid: the number %.40s is out of range", key, n)
	}
	return m, nil
}

// outOfRange finds a number in a decoded value that a float64 cannot hold.
func outOfRange(v any) (json.Number, bool) {
	switch t := v.(type) {
	case json.Number:
		_, err := t.Float64()
		return t, err != nil
	case map[string]any:
		for _, e := range t {
			if n, bad := outOfRange(e); bad {
				return n, true
			}
		}
	case []any:
		for _, e := range t {
			if n, bad := outOfRange(e); bad {
				return n, true
			}
		}
	}
	return "", false
}

// Timestamps outside these years are refused: no event of an SMS engine
// predates 1900 or follows 2099, and the bound keeps the timestamp arithmetic
// within time.Duration's ±292 years.
const (
	minYear = 1900
	maxYear = 2099
)

// timeLayouts are the ISO 8601 forms accepted, after upper-casing. Go parses
// fractional seconds of any precision after the seconds even when the layout
// has none.
var timeLayouts = []string{
	time.RFC3339,                // 2024-05-01T10:00:00.123Z, 2024-05-01T12:00:00+02:00
	"2006-01-02T15:04:05Z0700",  // 2024-05-01T10:00:00.123+0000 (Java, Android)
	"2006-01-02 15:04:05Z07:00", // 2024-05-01 10:00:00Z (RFC 3339 allows the space)
	"2006-01-02 15:04:05Z0700",
}

// timeField returns a timestamp field; absent and null are (zero, false).
func timeField(obj object, key string) (time.Time, bool, *smsflow.Error) {
	raw, ok := obj[key]
	if !ok || isNull(raw) {
		return time.Time{}, false, nil
	}
	var s string
	if firstByte(raw) != '"' || json.Unmarshal(raw, &s) != nil {
		return time.Time{}, false, smsflow.FieldErrorf(smsflow.EINVALID, key,
			"%s must be an ISO 8601 string like 2024-05-01T10:00:00.123Z", key)
	}
	t, err := parseTime(s)
	if err != nil {
		return time.Time{}, false, smsflow.FieldErrorf(smsflow.EINVALID, key, "%s %s %s", key, quote(s), err)
	}
	return t, true, nil
}

func parseTime(s string) (time.Time, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	for _, layout := range timeLayouts {
		t, err := time.Parse(layout, u)
		if err != nil {
			continue
		}
		if y := t.UTC().Year(); y < minYear || y > maxYear {
			return time.Time{}, fmt.Errorf("is out of range; years %d to %d are accepted", minYear, maxYear)
		}
		return t.UTC(), nil
	}
	return time.Time{}, errors.New("is not an ISO 8601 time with a zone, like 2024-05-01T10:00:00.123Z or 2024-05-01T12:00:00+02:00")
}

func tooLarge(what string, n int) *smsflow.Error {
	return smsflow.Errorf(smsflow.ETOOLARGE, "%s is %d bytes; the limit is %d bytes (32 KB) per message", what, n, MaxItemBytes)
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// firstByte returns the first non-space byte of a JSON text, or 0.
func firstByte(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// quote quotes a value for a message, cut to 60 runes.
func quote(s string) string {
	const max = 60
	if utf8.RuneCountInString(s) <= max {
		return strconv.Quote(s)
	}
	return strconv.Quote(string([]rune(s)[:max])) + "…"
}
