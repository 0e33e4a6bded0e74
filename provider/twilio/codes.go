package twilio

import (
	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/provider"
)

// errorKinds maps the Twilio error codes that mean more than "permanent" to
// what the pipeline must do (an unreachable or opted-out number, a sender
// to pause). Any other code on a 4xx answer
// is provider.Permanent; 429 and 5xx answers are provider.Transient whatever
// their code.
var errorKinds = map[string]provider.ErrorKind{
	"21610": provider.Unsubscribed,  // the recipient replied STOP to this sender
	"21211": provider.InvalidNumber, // invalid 'To' phone number
	"21614": provider.InvalidNumber, // 'To' number is not a valid mobile number
	"21635": provider.InvalidNumber, // 'To' number is a landline, cannot receive SMS
}

// statuses maps Twilio's MessageStatus values to smsflow message statuses.
// A status not listed here (scheduled, canceled, read, receiving, received,
// anything new) does not change an outbound message and is acknowledged and
// ignored.
var statuses = map[string]string{
	"accepted":    smsflow.MessageSent,
	"queued":      smsflow.MessageSent,
	"sending":     smsflow.MessageSent,
	"sent":        smsflow.MessageSent,
	"delivered":   smsflow.MessageDelivered,
	"undelivered": smsflow.MessageUndelivered,
	"failed":      smsflow.MessageFailed,
}
