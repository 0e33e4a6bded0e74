package simulate

import (
	"context"
	"fmt"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/ingest"
	"github.com/smsflow/smsflow/policy"
)

// timeline collects the lines of a simulation in the order smsflow did
// things: an input's own effects (its consent change, or its refusal), then
// what the engine did with it (flow lines), then what the provider sent
// (replies), instant by instant. The virtual clock only moves forward and
// the simulation runs one step at a time, so that order is time order and
// the same input always gives the same timeline.
type timeline struct {
	ctx   context.Context
	db    timelineStore
	clock *clock
	lines []Line
	// ledger is the id of the last consent entry shown (or skipped: the
	// --contacts import is the starting state, not part of the timeline).
	ledger int64
	// after holds the lines of an input that come after its consent
	// change (a reply the limits held back), until the input is done.
	after []Line
	// err is the first error of a callback, which cannot return one;
	// Run returns it.
	err error
}

// ledgerPage is how many consent entries one look at the ledger reads.
const ledgerPage = 500

// trace adds a flow line (Engine.OnTrace).
func (tl *timeline) trace(t engine.Trace) {
	if l, ok := toLine(t); ok {
		tl.lines = append(tl.lines, l)
	}
}

// outcome adds the automatic replies among a round of provider calls
// (Sender.OnOutcome): a message with no run — STOP/HELP/START/JOIN/YES
// confirmations, the double opt-in request — whose step names its keyword
// class ("keyword:stop"). Flow messages have their send lines already. A
// reply that did not go out (its send_before passed) is a skip line; one
// queued again (a transient refusal) will come back.
func (tl *timeline) outcome(m smsflow.Message) {
	if m.RunID != 0 || m.Direction != "out" {
		return
	}
	at := m.UpdatedAt
	if at.IsZero() {
		at = tl.clock.Now()
	}
	switch m.Status {
	case smsflow.MessageQueued:
	case smsflow.MessageSent, smsflow.MessageDelivered:
		tl.add(Line{Contact: m.ContactID, Kind: "reply", Body: m.Body, Reason: m.StepID}, at)
	default:
		reason := string(m.Status)
		if m.ErrorCode != "" {
			reason += ":" + m.ErrorCode
		}
		tl.add(Line{Contact: m.ContactID, Step: m.StepID, Kind: "skip", Reason: reason}, at)
	}
}

// replyNotQueued adds a skip line for a keyword whose automatic reply the
// reply limits held back (one opt-out confirmation per 24 h, five replies
// per hour), so that the timeline shows every keyword answered or not. A
// refused consent change is shown as the refused line instead.
func (tl *timeline) replyNotQueued(res ingest.InboundResult) {
	if res.ReplySkipped == "" || res.ReplySkipped == policy.ReplySkippedNoChange {
		return
	}
	tl.after = append(tl.after, Line{Contact: res.ContactID, Step: policy.AutoReplyStep(policy.KeywordKind(res.Keyword)), Kind: "skip",
		Reason: "skipped:" + res.ReplySkipped})
}

// input records what became of one input line: a refused line when the
// system refused it, then its consent change (read from the ledger), then a
// reply it did not get. An internal error is returned: it stops the run.
func (tl *timeline) input(in input, err error) error {
	if err != nil {
		if smsflow.ErrorCode(err) == smsflow.EINTERNAL {
			return err
		}
		tl.add(Line{Contact: in.contact(), Kind: "refused", InputLine: in.line, Reason: smsflow.ErrorMessage(err)}, tl.clock.Now())
	}
	if err := tl.consent(); err != nil {
		return err
	}
	for _, l := range tl.after {
		tl.add(l, tl.clock.Now())
	}
	tl.after = tl.after[:0]
	return nil
}

// consent adds a consent line for each ledger entry appended since the last
// look, at the instant smsflow recorded it.
func (tl *timeline) consent() error {
	return tl.followLedger(func(e smsflow.ConsentEntry) {
		tl.add(Line{Contact: e.ContactID, Kind: "consent", Status: string(e.Status), Source: string(e.Source)}, e.RecordedAt)
	})
}

// skipLedger moves past the entries recorded so far without showing them.
func (tl *timeline) skipLedger() error {
	return tl.followLedger(func(smsflow.ConsentEntry) {})
}

func (tl *timeline) followLedger(fn func(smsflow.ConsentEntry)) error {
	for {
		page, err := tl.db.ConsentRecordedAfter(tl.ctx, tl.ledger, ledgerPage)
		if err != nil {
			return fmt.Errorf("read the consent ledger: %w", err)
		}
		for _, e := range page {
			fn(e)
			tl.ledger = e.ID
		}
		if len(page) < ledgerPage {
			return nil
		}
	}
}

// add appends a line of a contact at an instant, shown in the contact's
// time zone as the flow lines are (UTC when it has none, or no contact).
func (tl *timeline) add(l Line, at time.Time) {
	zone := ""
	if l.Contact != "" {
		c, err := tl.db.Contact(tl.ctx, l.Contact)
		switch {
		case err == nil:
			zone = c.Timezone
		case smsflow.ErrorCode(err) != smsflow.ENOTFOUND && tl.err == nil:
			tl.err = fmt.Errorf("read contact %s: %w", l.Contact, err)
		}
	}
	l.Time, l.LocalTime = at.UTC().Format(time.RFC3339), localTime(at, zone)
	tl.lines = append(tl.lines, l)
}

// localTime formats an instant in a zone, UTC when the zone is unknown.
func localTime(at time.Time, zone string) string {
	local := at.UTC()
	if loc, err := policy.LoadZone(zone); err == nil {
		local = at.In(loc)
	}
	return local.Format("2006-01-02T15:04:05-07:00 MST")
}

// contact is who an input line is about, as written: its userId, else its
// anonymousId, else an inbound text's number.
func (in input) contact() string {
	for _, k := range []string{"userId", "anonymousId", "from"} {
		if s, ok := in.raw[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// Note is a remark on a whole timeline for the person reading it, "" when
// there is none: today, that every flow entry was skipped for want of
// consent (a history without consent lines and no --contacts file texts
// nobody marketing).
func Note(lines []Line) string {
	skipped := 0
	for _, l := range lines {
		switch {
		case l.Kind == "enter":
			return ""
		case l.Kind == "skip" && l.Step == "entry":
			if l.Reason != smsflow.DecisionNoConsent {
				return ""
			}
			skipped++
		}
	}
	if skipped == 0 {
		return ""
	}
	return fmt.Sprintf("note: every flow entry was skipped for want of consent (%d × %s): marketing flows need a phone number that is subscribed — "+
		"give --contacts FILE with consent, or add {\"type\":\"consent\",\"userId\":…,\"status\":\"subscribed\",\"timestamp\":…} lines", skipped, smsflow.DecisionNoConsent)
}
