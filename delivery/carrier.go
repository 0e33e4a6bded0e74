package delivery

import (
	"strconv"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// CarrierOptOut records that the provider refused a message because the
// number opted out with the carrier or the provider (Twilio 21610): an
// unsubscribed entry in the number's consent ledger, source carrier, and the
// Unsubscribed event that makes the engine end the contact's runs and
// cancel its queued sends. The caller holds the contact's lock. A number
// already unsubscribed gets no second entry.
func CarrierOptOut(tx WriteTx, m *smsflow.Message, providerName, code string, now time.Time) error {
	before, err := tx.ContactConsent(m.Phone)
	if err != nil {
		return err
	}
	if before == smsflow.ConsentUnsubscribed {
		return nil
	}
	e := &smsflow.ConsentEntry{Phone: m.Phone, ContactID: m.ContactID, Status: smsflow.ConsentUnsubscribed, Source: smsflow.SourceCarrier,
		Evidence:  map[string]any{"provider": providerName, "error_code": code, "message_id": m.ID},
		MessageID: "msg-" + strconv.FormatInt(m.ID, 10), OccurredAt: now.UTC(), RecordedAt: now}
	if err := tx.AppendConsent(e); err != nil {
		return err
	}
	return store.ConsentEvent(tx, e, before, true)
}
