package ingest

import (
	"context"
	"fmt"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// Click records a click on a tracked link: the click row that clicked(step)
// reads, and a Link Clicked event (properties flow, step, url) for triggers
// and the timeline.
func Click(ctx context.Context, db Store, clock smsflow.Clock, l *store.Link, userAgent string) error {
	now := clock.Now()
	return writeTx(ctx, db, func(tx WriteTx) error {
		if err := tx.InsertClick(l, now); err != nil {
			return err
		}
		ev := &smsflow.Event{MessageID: fmt.Sprintf("click-%s-%d", l.Code, now.UnixNano()), Type: smsflow.EventTrack, Name: smsflow.EventLinkClicked,
			ContactID: l.ContactID, Properties: map[string]any{"flow": l.FlowID, "step": l.StepID, "url": l.URL, "code": l.Code, "run_id": l.RunID},
			Context: map[string]any{"userAgent": userAgent}, Timestamp: now, ReceivedAt: now}
		inserted, err := tx.InsertEvent(ev)
		if err != nil || !inserted || !tx.Queues(ev.Name) {
			return err // clicked() reads link_clicks; the inbox only when a flow reacts to the event
		}
		return tx.AddInbox(l.ContactID, ev.Seq)
	})
}
