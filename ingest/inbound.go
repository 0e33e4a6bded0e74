package ingest

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/sms/segments"
	"github.com/smsflow/smsflow/store"
)

// MaxInboundBody bounds an inbound text (Twilio's limit is 1,600 characters).
const MaxInboundBody = 1600

// InboundResult is what an inbound SMS became.
type InboundResult struct {
	ContactID string `json:"contact_id"`
	MessageID int64  `json:"message_id"`
	Event     string `json:"event"`
}

// Inbound stores an inbound SMS from a provider: the contact (created as
// phone:+… when the number is unknown), the message, and a Message Replied
// event that feeds the contact's waiting run. Keyword handling (STOP, HELP…)
// belongs to the governance layer and runs before this.
func Inbound(ctx context.Context, db *store.DB, clock smsflow.Clock, region, from, body, providerName string) (InboundResult, error) {
	n, err := phone.Parse(from, region)
	if err != nil {
		return InboundResult{}, smsflow.FieldErrorf(smsflow.EINVALID, "from", "%s", smsflow.ErrorMessage(err))
	}
	if !utf8.ValidString(body) {
		return InboundResult{}, smsflow.FieldErrorf(smsflow.EINVALID, "body", "body is not valid UTF-8")
	}
	if utf8.RuneCountInString(body) > MaxInboundBody {
		return InboundResult{}, smsflow.FieldErrorf(smsflow.EINVALID, "body", "body is longer than %d characters", MaxInboundBody)
	}
	now := clock.Now()
	var out InboundResult
	err = db.WriteTx(ctx, func(tx *store.Tx) error {
		c, err := tx.ContactByPhone(n.E164)
		if err != nil {
			return err
		}
		if c == nil {
			c = &smsflow.Contact{ID: smsflow.ContactIDForPhone(n.E164), Phone: n.E164, PhoneType: n.Type, Timezones: n.Timezones,
				Traits: map[string]any{}, CreatedAt: now, UpdatedAt: now}
			if len(n.Timezones) > 0 {
				c.Timezone, c.TimezoneSource = n.Timezones[0], "number"
			}
			if err := tx.InsertContact(c); err != nil {
				return err
			}
		}
		info := segments.Measure(body)
		m := &smsflow.Message{Direction: "in", ContactID: c.ID, Phone: n.E164, Body: body, Encoding: info.Encoding,
			Characters: info.Characters, Segments: info.Segments, Status: smsflow.MessageReceived, Provider: providerName, CreatedAt: now, UpdatedAt: now}
		if _, err := tx.InsertMessage(m); err != nil {
			return err
		}
		ev := &smsflow.Event{MessageID: fmt.Sprintf("mo-%d", m.ID), Type: smsflow.EventInbound, Name: smsflow.EventMessageReplied, ContactID: c.ID,
			Properties: map[string]any{"text": strings.TrimSpace(body), "message_id": m.ID}, Timestamp: now, ReceivedAt: now}
		if _, err := tx.InsertEvent(ev); err != nil {
			return err
		}
		out = InboundResult{ContactID: c.ID, MessageID: m.ID, Event: ev.Name}
		return tx.AddInbox(c.ID, ev.Seq)
	})
	return out, err
}
