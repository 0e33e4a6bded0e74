package ingest

import (
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
		if f.raw.text != nil {
			if entries, clean := cleanEntries(f.m); !clean || !utf8.Valid(f.raw.text) || !f.raw.uniqueKeys(entries) {
				*f.raw = rawObject{}
			}
		}
		smsflow.CleanJSON(f.m)
	}
	return nil
}

// uniqueKeys reports whether no object in the received text has a key
// twice (as decoded: "a" and "\u0061" are the same key). Each member of an
// object is one colon outside strings in valid JSON text, and a key given
// twice is one entry of its decoded object, so the text then has more
// members than its map had entries when it was decoded, at every depth. A
// count, where a token stream cost most of an event's validation (D107).
// The map must still hold that many entries (entries, counted now): one
// changed in place since (a key added could hide a repeated one from the
// count) is not the text's any more.
func (r rawObject) uniqueKeys(entries int) bool {
	return jsonMembers(r.text) == r.entries && entries == r.entries
}

// jsonMembers counts the colons of a valid JSON text outside its strings.
func jsonMembers(text []byte) int {
	n, inString := 0, false
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case inString && c == '\\':
			i++ // the escaped byte: \" does not end the string
		case c == '"':
			inString = !inString
		case !inString && c == ':':
			n++
		}
	}
	return n
}

// decodedEntries counts the entries of every object in a decoded value.
func decodedEntries(v any) int {
	n := 0
	switch t := v.(type) {
	case map[string]any:
		n = len(t)
		for _, e := range t {
			n += decodedEntries(e)
		}
	case []any:
		for _, e := range t {
			n += decodedEntries(e)
		}
	}
	return n
}

// cleanEntries reports whether smsflow.CleanJSON would leave a decoded JSON
// value as it is (every key and string is clean text) and, when it would,
// how many entries its objects hold, as decodedEntries counts them: one
// walk for both of Validate's questions.
func cleanEntries(v any) (entries int, clean bool) {
	switch t := v.(type) {
	case string:
		return 0, smsflow.CleanText(t) == t
	case map[string]any:
		entries = len(t)
		for k, e := range t {
			n, ok := cleanEntries(e)
			if !ok || smsflow.CleanText(k) != k {
				return 0, false
			}
			entries += n
		}
	case []any:
		for _, e := range t {
			n, ok := cleanEntries(e)
			if !ok {
				return 0, false
			}
			entries += n
		}
	}
	return entries, true
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
