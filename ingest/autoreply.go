package ingest

import (
	"fmt"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/sms/segments"
)

// queueAutoReply is the one way smsflow queues an automatic message to a
// number — keyword replies and double opt-in confirmation requests alike: a
// run-less service message in the outbox (flow "", step id step, which
// starts with policy.AutoReplyStepPrefix), valid for policy.AutoReplyTTL.
// allow sees the automatic replies the number got in the last 24 h and says
// why none may go now ("" when one may: policy.AllowAutoReply and friends).
// It returns the queued message's id, or 0 and why nothing was queued. The
// caller holds the contact's lock, so the limits cannot be raced.
func queueAutoReply(tx WriteTx, c *smsflow.Contact, step, text string, now time.Time, allow func(recent []policy.AutoReplySent) string) (int64, string, error) {
	since := now.Add(-max(policy.OptOutConfirmationEvery, policy.ConfirmationRequestEvery))
	rows, err := tx.AutoReplies(c.ID, c.Phone, policy.AutoReplyStepPrefix, since)
	if err != nil {
		return 0, "", err
	}
	recent := make([]policy.AutoReplySent, len(rows))
	for i, r := range rows {
		recent[i] = policy.AutoReplySent{StepID: r.StepID, At: r.At}
	}
	if why := allow(recent); why != "" {
		return 0, why, nil
	}
	info := segments.Measure(text)
	r := &smsflow.Message{Direction: "out", StepID: step, ContactID: c.ID, Phone: c.Phone, Body: text,
		Encoding: info.Encoding, Characters: info.Characters, Segments: info.Segments, Status: smsflow.MessageQueued, Category: "service",
		SendBefore: now.Add(policy.AutoReplyTTL), CreatedAt: now, UpdatedAt: now}
	inserted, err := tx.InsertMessage(r)
	if err != nil {
		return 0, "", err
	}
	if !inserted {
		return 0, "", fmt.Errorf("queue %s reply: the outbox refused it", step)
	}
	return r.ID, "", nil
}
