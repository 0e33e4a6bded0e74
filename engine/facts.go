package engine

import (
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/flow"
)

// runFacts answers the CEL functions from the database, inside the contact's
// transaction: count/within/last from the event history up to now,
// clicked/delivered/replied from the current run.
type runFacts struct {
	cc  *contactCtx
	run *smsflow.Run
	at  time.Time // when set, the moment the history is read up to (else the contact's now)
	err error     // the first storage error; evaluation then fails closed
}

// now is the moment count, within and last look back from.
func (f *runFacts) now() time.Time {
	if !f.at.IsZero() {
		return f.at
	}
	return f.cc.now
}

func (cc *contactCtx) facts(run *smsflow.Run) flow.Facts { return &runFacts{cc: cc, run: run} }

func (f *runFacts) note(err error) {
	if err != nil && f.err == nil {
		f.err = err
		f.cc.e.log.Error("reading facts for a condition", "contact", f.cc.contact.ID, "err", err)
	}
}

func (f *runFacts) Count(name string, window time.Duration) int {
	n, err := f.cc.tx.CountEventsSince(f.cc.contact.ID, name, f.now().Add(-window), f.now())
	f.note(err)
	return n
}

func (f *runFacts) Last(name string) (time.Time, bool) {
	t, ok, err := f.cc.tx.LastEventTime(f.cc.contact.ID, name, f.now())
	f.note(err)
	return t, ok
}

func (f *runFacts) Clicked(step string) bool {
	if f.run == nil || f.run.ID == 0 {
		return false
	}
	ok, err := f.cc.tx.StepClicked(f.run.ID, step)
	f.note(err)
	return ok
}

func (f *runFacts) Delivered(step string) bool {
	if f.run == nil || f.run.ID == 0 {
		return false
	}
	s, err := f.cc.tx.StepMessageStatus(f.run.ID, step)
	f.note(err)
	return s == smsflow.MessageDelivered
}

func (f *runFacts) Replied() bool {
	if f.run == nil {
		return false
	}
	ok, err := f.cc.tx.RunReplied(f.cc.contact.ID, f.run.EnteredAt)
	f.note(err)
	return ok
}
