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
		if e.Trust.Public() {
			data["trust"] = string(smsflow.TrustPublic) // sent with the write key
		}
		if len(e.Properties) > 0 {
			data["properties"] = e.Properties
		}
		if len(e.Traits) > 0 {
			data["traits"] = e.Traits
		}
		items = append(items, smsflow.TimelineItem{Type: "event", Name: name, Timestamp: e.Timestamp, Data: data})
	}
	for _, e := range consent {
		// Shown at its claimed time, as events are; recorded_at is when it
		// took effect (the ledger's order).
		data := map[string]any{"status": e.Status, "source": e.Source, "phone": e.Phone, "recorded_at": e.RecordedAt}
		if len(e.Evidence) > 0 {
			data["evidence"] = e.Evidence
		}
		if e.MessageID != "" {
			data["message_id"] = e.MessageID
		}
		items = append(items, smsflow.TimelineItem{Type: "consent", Name: string(e.Status), Timestamp: e.OccurredAt, Data: data})
	}
	msgs, err := db.Messages(ctx, MessageFilter{ContactID: c.ID, Limit: TimelineLimit})
	if err != nil {
		return nil, err
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		name := "outbound"
		if m.Direction == "in" {
			name = "inbound"
		}
		items = append(items, smsflow.TimelineItem{Type: "message", Name: name, Timestamp: m.CreatedAt, Data: map[string]any{
			"id": m.ID, "body": m.Body, "status": m.Status, "flow": m.FlowID, "step": m.StepID, "run_id": m.RunID,
			"encoding": m.Encoding, "characters": m.Characters, "segments": m.Segments, "error_code": m.ErrorCode}})
	}
	decisions, err := db.Decisions(ctx, c.ID, TimelineLimit)
	if err != nil {
		return nil, err
	}
	for _, d := range decisions {
		items = append(items, smsflow.TimelineItem{Type: "decision", Name: d.Reason, Timestamp: d.At, Data: map[string]any{
			"flow": d.FlowID, "step": d.StepID, "run_id": d.RunID, "detail": d.Detail}})
	}
	smsflow.SortTimeline(items)
	return items, nil
}
