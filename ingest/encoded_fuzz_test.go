package ingest

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/smsflow/smsflow/ingest/segment"
)

// FuzzReceivedJSON: whatever a single call's body holds, the text an item
// would store as received (Item.encoded) is valid UTF-8 and decodes to
// what encoding its cleaned map would store — the two paths of the store
// read back the same.
func FuzzReceivedJSON(f *testing.F) {
	for _, b := range []string{
		`{"userId":"ana","event":"Viewed","properties":{"b":1.50,"a":"café"},"context":{"library":{"name":"x"}},"traits":{"plan":"pro"}}`,
		`{"userId":"ana","event":"Viewed","properties":{"a":"x\u0001y","k\u0000":1}}`,
		"{\"userId\":\"ana\",\"event\":\"Viewed\",\"properties\":{\"a\":\"\xff\",\"a\":\"ok\"}}",
		`{"userId":"ana","event":"Viewed","properties":{"a":"\ud800","n":[1e5,-0,{"x":null}]}}`,
		`{"userId":"ana","event":"Order Completed","properties":{"order_id":12345678901234567890,"a":"\r\n"}}`,
		`{"userId":"ana","event":"Viewed","properties":{"n":1e400,"n":1},"traits":{"o":{"a":1,"\u0061":2}}}`,
	} {
		f.Add([]byte(b))
	}
	at := time.Date(2025, 6, 2, 15, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := segment.ParseOne("track", body, at)
		if err != nil {
			return
		}
		it, err := FromSegment(m, "US")
		if err != nil || it.Validate() != nil {
			return
		}
		enc := it.encoded()
		for _, c := range []struct {
			name string
			text []byte
			m    map[string]any
		}{{"properties", enc.Properties, it.Properties}, {"traits", enc.Traits, it.Traits}, {"context", enc.Context, it.Context}} {
			if c.text == nil {
				continue
			}
			if !utf8.Valid(c.text) {
				t.Fatalf("%s: stored text %q is not valid UTF-8", c.name, c.text)
			}
			encoded, err := json.Marshal(c.m)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			var fromText, fromMap any
			if err := json.Unmarshal(c.text, &fromText); err != nil {
				t.Fatalf("%s: stored text %q does not decode: %v", c.name, c.text, err)
			}
			if err := json.Unmarshal(encoded, &fromMap); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if !reflect.DeepEqual(fromText, fromMap) {
				t.Fatalf("%s: stored text %q reads %#v; the cleaned map reads %#v", c.name, c.text, fromText, fromMap)
			}
		}
	})
}

// A map changed in place after it was decoded is not taken for its text
// any more: the text would not hold the change, and a key added could hide
// a repeated key's dirty first value from the count (found by the review of
// D107).
func TestReceivedTextDroppedWhenItsMapChangedInPlace(t *testing.T) {
	at := time.Date(2025, 6, 2, 15, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name, context string
		change        bool
		kept          bool
	}{
		{"clean, unchanged", `{"a":"x","o":{"k":[1,{"n":2}]}}`, false, true},
		{"clean, a key added in place", `{"a":"x"}`, true, false},
		{"a repeated key, unchanged", `{"a":"\u0001","a":"x"}`, false, false},
		{"a repeated key, a key added in place", `{"a":"\u0001","a":"x"}`, true, false},
	} {
		m, err := segment.ParseOne("track", []byte(`{"userId":"ana","event":"Viewed","context":`+c.context+`}`), at)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		it, err := FromSegment(m, "US")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if c.change {
			it.Context["ip"] = "203.0.113.9"
		}
		if err := it.Validate(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if kept := it.encoded().Context != nil; kept != c.kept {
			t.Errorf("%s: the received text stored: %v, want %v", c.name, kept, c.kept)
		}
	}
}

// FuzzUniqueKeys: for any JSON object text, counting its members against
// its decoded map (uniqueKeys) says what reading it token by token says —
// whether some object, at any depth, has a key twice as decoded.
func FuzzUniqueKeys(f *testing.F) {
	for _, b := range []string{
		`{"a":1,"b":{"c":[{"d":null},{"d":2}]}}`,
		`{"a":1,"a":2}`,
		`{"a":1,"\u0061":2}`,
		`{"a\":b":"c:d","e\\":[{"f":"\"","g:":{}}]}`,
		`{"o":{"k":[1,{"x":1,"y":{"x":2}}],"k":0}}`,
		`{"s":"\\\\\":","t":"a\\"}`,
	} {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.UseNumber()
		var m map[string]any
		if dec.Decode(&m) != nil || dec.InputOffset() != int64(len(bytes.TrimRight(text, " \t\r\n"))) || m == nil {
			return
		}
		if got, want := newRawObject(m, text).uniqueKeys(decodedEntries(m)), uniqueKeysByTokens(text); got != want {
			t.Fatalf("uniqueKeys(%q) = %v, reading its tokens says %v", text, got, want)
		}
	})
}

// uniqueKeysByTokens is uniqueKeys the slow and evident way: a token
// stream, each object's keys in a set.
func uniqueKeysByTokens(text []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(text))
	type frame struct {
		keys    map[string]bool // nil: an array
		wantKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if k, ok := tok.(string); ok && top != nil && top.keys != nil && top.wantKey {
			if top.keys[k] {
				return false
			}
			top.keys[k], top.wantKey = true, false
			continue
		}
		if top != nil && top.keys != nil {
			top.wantKey = true
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, wantKey: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		}
	}
}
