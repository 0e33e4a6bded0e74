package ingest

import (
	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/store"
)

// eventBatch is the ingest writer's group as a visible unit (D84): what it
// read up front, and the new events and inbox items it writes set-based.
// The group's contacts are read in one query and handed out once (a
// contact the group writes is read from the database after that). On
// PostgreSQL, where every statement is a round trip, which of the group's
// event keys are stored is read in the same query (D98), so a new event is
// told from a duplicate without a statement of its own; the new events are
// numbered and written in one statement, and their inbox items in one
// more, by write — at the end of the group, and before
// anything that writes events on its own (a merge moves stored events, a
// hook may record a consent event), so the events keep the call order.
// A nil batch reads and writes each row at once (the importer).
type eventBatch struct {
	contacts map[string]*smsflow.Contact // read ahead, not yet handed out; nil: missing
	keys     map[string]bool             // event keys read ahead: true when stored or pending
	events   []*smsflow.Event            // new, numbered when written
	inbox    []pendingInbox
}

// pendingInbox is an inbox item whose event may not be numbered yet.
type pendingInbox struct {
	contactID string
	event     *smsflow.Event
}

// loadEventBatch reads the group's contacts and, where statements are
// round trips, which of its events' keys are stored, in one query.
func loadEventBatch(tx WriteTx, contactIDs []string, events []*smsflow.Event, roundTrips bool) (*eventBatch, error) {
	b := &eventBatch{}
	var err error
	if !roundTrips {
		if len(contactIDs) > 0 {
			b.contacts, err = tx.ContactsByID(contactIDs)
		}
		return b, err
	}
	// Both in one round trip (PostgreSQL).
	if b.contacts, b.keys, err = tx.ContactsAndEventKeys(contactIDs, events); err != nil {
		return nil, err
	}
	return b, nil
}

// contact returns a contact, read ahead the first time it is asked for.
func (b *eventBatch) contact(tx WriteTx, id string) (*smsflow.Contact, error) {
	if b != nil {
		if c, ok := b.contacts[id]; ok {
			delete(b.contacts, id) // handed out once: the caller may change it
			return c, nil
		}
	}
	return tx.ContactByID(id)
}

// forget drops a contact read ahead that the group changed; forgetAll
// drops them all (a merge, a hook).
func (b *eventBatch) forget(id string) {
	if b != nil {
		delete(b.contacts, id)
	}
}

func (b *eventBatch) forgetAll() {
	if b != nil {
		b.contacts = nil
	}
}

// insertEvent stores an event unless one with its message id or dedupe key
// is stored (or pending in the batch), and reports whether it is new. A
// pending event gets its sequence number when it is written.
func (b *eventBatch) insertEvent(tx WriteTx, e *smsflow.Event) (bool, error) {
	if b == nil || b.keys == nil {
		return tx.InsertEvent(e)
	}
	keys := store.EventKeys(e)
	fresh, known := true, true
	for _, k := range keys {
		has, asked := b.keys[k]
		known = known && asked
		fresh = fresh && !has
	}
	if !known {
		// Its keys were not read ahead: inserted at once, after the
		// pending events.
		if err := b.writeEvents(tx); err != nil {
			return false, err
		}
		inserted, err := tx.InsertEvent(e)
		if inserted {
			for _, k := range keys {
				b.keys[k] = true
			}
		}
		return inserted, err
	}
	if !fresh {
		return false, nil
	}
	for _, k := range keys {
		b.keys[k] = true
	}
	b.events = append(b.events, e)
	return true, nil
}

// addInbox queues a stored or pending event for the engine.
func (b *eventBatch) addInbox(tx WriteTx, contactID string, e *smsflow.Event) error {
	if b == nil || b.keys == nil {
		return tx.AddInbox(contactID, e.Seq)
	}
	b.inbox = append(b.inbox, pendingInbox{contactID, e})
	return nil
}

// write writes the pending events, then their inbox items, in order.
func (b *eventBatch) write(tx WriteTx) error {
	if err := b.writeEvents(tx); err != nil || b == nil || len(b.inbox) == 0 {
		return err
	}
	items := make([]store.InboxItem, len(b.inbox))
	for i, p := range b.inbox {
		items[i] = store.InboxItem{ContactID: p.contactID, EventSeq: p.event.Seq}
	}
	if err := tx.AddInboxItems(items); err != nil {
		return err
	}
	b.inbox = nil
	return nil
}

// writeEvents numbers the pending events in call order — after every event
// written before, so a contact's events keep their order — and writes them
// (not their inbox items: only the engine reads the inbox).
func (b *eventBatch) writeEvents(tx WriteTx) error {
	if b == nil || len(b.events) == 0 {
		return nil
	}
	if err := tx.InsertNewEvents(b.events); err != nil {
		return err
	}
	b.events = nil
	return nil
}
