package engine

import (
	"context"
	"sort"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/store"
)

// armInactivity pushes back the inactivity deadlines an event feeds.
func (cc *contactCtx) armInactivity(ev *smsflow.Event) error {
	for _, comp := range cc.e.cat.Active() {
		in := comp.Trigger.Inactivity
		if comp.Trigger.Kind != flow.TriggerInactivity || in == nil || in.Event != ev.Name {
			continue
		}
		if err := cc.tx.SetInactivityTimer(comp.ID, cc.contact.ID, ev.Timestamp.Add(in.For), ev.Seq); err != nil {
			return err
		}
	}
	return nil
}

// ProcessInactivity enters contacts whose inactivity deadline passed, with
// the last qualifying event as `event`.
func (e *Engine) ProcessInactivity(ctx context.Context, limit int) (int, error) {
	now := e.clock.Now()
	handled := 0
	err := e.commitWork(ctx, func(b *batch, tx WriteTx) error {
		handled = 0
		due, err := tx.DueInactivity(now, limit)
		if err != nil {
			return err
		}
		sort.SliceStable(due, func(i, j int) bool { return due[i].ContactID < due[j].ContactID })
		for _, it := range due {
			if err := tx.LockContact(it.ContactID); err != nil {
				return err
			}
			if ok, err := tx.TakeInactivity(it); err != nil || !ok {
				if err != nil {
					return err
				}
				continue
			}
			handled++
			if err := e.enterInactive(ctx, b, it, tx.EventBySeq); err != nil {
				return err
			}
		}
		return nil
	})
	return handled, err
}

// enterInactive enters the contact of a deadline it took into the flow,
// if the flow is still an active inactivity flow, with the last qualifying
// event (read by eventBySeq) as `event`.
func (e *Engine) enterInactive(ctx context.Context, b *batch, it store.InactivityTimer, eventBySeq func(int64) (*smsflow.Event, error)) error {
	h, ok := e.cat.Head(it.FlowID)
	if !ok || h.Status != FlowActive {
		return nil
	}
	comp, err := e.cat.Version(ctx, h.ID, h.Version)
	if err != nil {
		return err
	}
	if comp.Trigger.Kind != flow.TriggerInactivity {
		return nil
	}
	cc, err := e.newContactCtx(b, it.ContactID)
	if err != nil || cc.contact == nil {
		return err
	}
	last, err := eventBySeq(it.EventSeq)
	if err != nil {
		return err
	}
	_, err = cc.tryEnter(comp, last)
	return err
}
