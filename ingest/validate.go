package ingest

import (
	"bytes"
	"encoding/json"
	"io"
	"unicode/utf8"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest/segment"
)

// Validate makes an item storable the same way on every database, whatever
// its source (Segment, Shopify, an import, simulate): its identifiers must
// pass smsflow.CheckID — an invalid *smsflow.Error naming the field
// otherwise, and the item is refused alone — and the strings of its
// properties, traits and context are cleaned (smsflow.CleanJSON). The
// Writer validates every item before it reaches a transaction, so one bad
// item never fails the others of its group.
func (it *Item) Validate() error {
	for _, id := range []struct {
		field, value string
		max          int
	}{
		{"messageId", it.MessageID, smsflow.MaxIDLength},
		{"userId", it.UserID, smsflow.MaxIDLength},
		{"anonymousId", it.AnonymousID, smsflow.MaxIDLength},
		{"previousId", it.PreviousID, smsflow.MaxIDLength},
		{it.nameField(), it.Name, segment.MaxEventLength},
	} {
		if err := smsflow.CheckID(id.field, id.value, id.max); err != nil {
			return err
		}
	}
	if it.Type == smsflow.EventTrack {
		if err := smsflow.CheckOrderID(it.Name, it.Properties); err != nil {
			return err
		}
	}
	// The text received is stored as it came only when cleaning has
	// nothing to change in it, it is valid UTF-8 throughout and no object
	// in it has a key twice: a duplicate key's overwritten value is in the
	// text but not in the map the checks saw (1e400, dirty text), and
	// would be stored unchecked.
	for _, f := range []struct {
		m   map[string]any
		raw *rawObject
	}{{it.Properties, &it.raw.properties}, {it.Traits, &it.raw.traits}, {it.Context, &it.raw.context}} {
		if f.raw.text != nil && (!cleanJSON(f.m) || !utf8.Valid(f.raw.text) || !uniqueKeys(f.raw.text)) {
			*f.raw = rawObject{}
		}
		smsflow.CleanJSON(f.m)
	}
	return nil
}

// uniqueKeys reports whether no object in a JSON text has a key twice (as
// decoded: "a" and "\u0061" are the same key). The text decoded already,
// so a token error only says no.
func uniqueKeys(text []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	type frame struct {
		keys    map[string]bool // nil: an array
		wantKey bool            // an object's next string is a key
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
			top.wantKey = true // a value: the next string is a key again
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, wantKey: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		}
	}
}

// cleanJSON reports whether smsflow.CleanJSON would leave a decoded JSON
// value as it is: every key and string is clean text.
func cleanJSON(v any) bool {
	switch t := v.(type) {
	case string:
		return smsflow.CleanText(t) == t
	case map[string]any:
		for k, e := range t {
			if smsflow.CleanText(k) != k || !cleanJSON(e) {
				return false
			}
		}
	case []any:
		for _, e := range t {
			if !cleanJSON(e) {
				return false
			}
		}
	}
	return true
}

// nameField is the Segment field an item's Name came from.
func (it *Item) nameField() string {
	if it.Type == smsflow.EventPage || it.Type == smsflow.EventScreen {
		return "name"
	}
	return "event"
}

// validate is Item.Validate for an import row, which is applied without the
// Writer: its id must pass smsflow.CheckID and its traits are cleaned.
func (row *ImportRow) validate() error {
	if err := smsflow.CheckID("id", row.ID, smsflow.MaxIDLength); err != nil {
		return err
	}
	smsflow.CleanJSON(row.Traits)
	return nil
}
