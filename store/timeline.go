package store

import (
	"context"

	"github.com/smsflow/smsflow"
)

// TimelineLimit bounds how many rows of each kind a timeline returns.
const TimelineLimit = 1000

// Timeline returns a contact's events and consent changes, oldest first.
func (db *DB) Timeline(ctx context.Context, c *smsflow.Contact) ([]smsflow.TimelineItem, error) {
	events, err := db.EventsByContact(ctx, c.ID, TimelineLimit)
	if err != nil {
		return nil, err
	}
	consent, err := db.ContactConsentEntries(ctx, c.ID, c.Phone)
	if err != nil {
		return nil, err
	}
	items := make([]smsflow.TimelineItem, 0, len(events)+len(consent))
	for _, e := range events {
		name := e.Name
		if name == "" {
			name = e.Type
		}
		data := map[string]any{"messageId": e.MessageID, "type": e.Type}
		if len(e.Properties) > 0 {
			data["properties"] = e.Properties
		}
		if len(e.Traits) > 0 {
			data["traits"] = e.Traits
		}
		items = append(items, smsflow.TimelineItem{Type: "event", Name: name, Timestamp: e.Timestamp, Data: data})
	}
	for _, e := range consent {
		data := map[string]any{"status": e.Status, "source": e.Source, "phone": e.Phone}
		if len(e.Evidence) > 0 {
			data["evidence"] = e.Evidence
		}
		if e.MessageID != "" {
			data["message_id"] = e.MessageID
		}
		items = append(items, smsflow.TimelineItem{Type: "consent", Name: string(e.Status), Timestamp: e.OccurredAt, Data: data})
	}
	smsflow.SortTimeline(items)
	return items, nil
}
