package ingest

import (
	"reflect"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/ingest/segment"
	"github.com/smsflow/smsflow/phone"
)

// Item is one identify/track/page/screen/alias/group call, validated and with
// its phone number normalized, ready to be applied.
type Item struct {
	Type        string
	MessageID   string
	UserID      string
	AnonymousID string
	PreviousID  string
	Name        string
	Properties  map[string]any
	Traits      map[string]any
	Context     map[string]any
	Timestamp   time.Time
	ReceivedAt  time.Time
	Phone       *phone.Number // nil when the call carries no phone
	// Timezone is an explicit zone (traits.timezone, else context.timezone)
	// and TimezoneSource says which ("trait" or "context").
	Timezone       string
	TimezoneSource string
	// History marks an item that updates history only and must not reach the
	// flow engine (imports).
	History bool
	// Trust is that of the source: TrustPublic for the write key, which
	// the HTTP API sets; every other source (server and admin keys,
	// Shopify, imports) is trusted, the zero value.
	Trust smsflow.Trust

	// raw is Properties, Traits and Context as received (FromSegment).
	// Each is stored only while it is still the text of its map: Validate
	// drops one whose map cleaning changes, and encoded ignores one whose
	// map was replaced since.
	raw rawJSON
}

// rawJSON is an item's maps as received, each with the map it decoded to.
type rawJSON struct {
	properties, traits, context rawObject
}

// rawObject is an object's text as received, the map it decoded to and
// how many entries that map held then, at every depth (decodedEntries):
// Validate compares the text's members with it, and the map's entries
// too, so that a map changed in place since is not taken for its text.
type rawObject struct {
	of      map[string]any
	text    []byte
	entries int
}

// newRawObject is m's received text, counted as decoded.
func newRawObject(m map[string]any, text []byte) rawObject {
	if text == nil {
		return rawObject{}
	}
	return rawObject{of: m, text: text, entries: decodedEntries(m)}
}

// textOf is the received text of m, nil unless it is still m's.
func (r rawObject) textOf(m map[string]any) []byte {
	if r.text == nil || m == nil || reflect.ValueOf(m).UnsafePointer() != reflect.ValueOf(r.of).UnsafePointer() {
		return nil
	}
	return r.text
}

// encoded is what the store may write for the item's maps as they are.
func (it *Item) encoded() smsflow.EventJSON {
	return smsflow.EventJSON{Properties: it.raw.properties.textOf(it.Properties), Traits: it.raw.traits.textOf(it.Traits), Context: it.raw.context.textOf(it.Context)}
}

// FromSegment validates what the Segment parser could not know alone — the
// phone number in the configured default region — and builds an Item. Its
// errors name the field, for the caller's 400 or batch error list.
func FromSegment(m segment.Message, region string) (*Item, error) {
	it := &Item{
		Type: m.Type, MessageID: m.MessageID, UserID: m.UserID, AnonymousID: m.AnonymousID,
		PreviousID: m.PreviousID, Name: m.Event, Properties: m.Properties, Traits: m.Traits,
		Context: m.Context, Timestamp: m.Timestamp, ReceivedAt: m.ReceivedAt,
		raw: rawJSON{newRawObject(m.Properties, m.Raw.Properties), newRawObject(m.Traits, m.Raw.Traits), newRawObject(m.Context, m.Raw.Context)},
	}
	if it.Name == "" {
		it.Name = m.Name
	}
	if m.Phone != "" {
		n, err := phone.Parse(m.Phone, region)
		if err != nil {
			field := "traits.phone"
			if v, _ := m.Traits["phone"].(string); v == "" {
				field = "context.traits.phone"
			}
			return nil, smsflow.FieldErrorf(smsflow.EINVALID, field, "%s", smsflow.ErrorMessage(err))
		}
		it.Phone = &n
	}
	if m.Timezone != "" {
		it.Timezone, it.TimezoneSource = m.Timezone, "context"
		if tz, _ := m.Traits["timezone"].(string); tz == m.Timezone {
			it.TimezoneSource = "trait"
		}
	}
	return it, nil
}
