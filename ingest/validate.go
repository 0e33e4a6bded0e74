package ingest

import (
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
	smsflow.CleanJSON(it.Properties)
	smsflow.CleanJSON(it.Traits)
	smsflow.CleanJSON(it.Context)
	return nil
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
