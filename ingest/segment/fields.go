package segment

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smsflow/smsflow"
)

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
