package smpp

import (
	"time"

	"github.com/linxGnu/gosmpp/data"
	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/provider"
)

// The data tables of the SMPP provider, in one place.

// statusKinds classifies a submit_sm_resp command_status other than
// ESME_ROK. Any status not listed is provider.Permanent.
var statusKinds = map[data.CommandStatusType]provider.ErrorKind{
	data.ESME_RTHROTTLED: provider.Transient,     // 0x58: over the SMSC's rate; back off
	data.ESME_RMSGQFUL:   provider.Transient,     // 0x14: the SMSC's queue is full; back off
	data.ESME_RX_T_APPN:  provider.Transient,     // 0x64: "temporary application error"
	data.ESME_RINVBNDSTS: provider.Transient,     // 0x04: the SMSC no longer sees us bound
	data.ESME_RINVDSTADR: provider.InvalidNumber, // 0x0B: the destination cannot receive SMS
}

// throttleWait is the pause suggested (provider.Error.Retry) after the SMSC
// said it is throttling us or its queue is full. SMPP gives no figure of its
// own; one second is a whole window of a typical 30-50 msg/s bind.
var throttleWait = map[data.CommandStatusType]time.Duration{
	data.ESME_RTHROTTLED: time.Second,
	data.ESME_RMSGQFUL:   time.Second,
}

// bindRefusals are bind_transceiver_resp statuses that no retry will fix:
// the first Connect reports them instead of retrying.
var bindRefusals = map[data.CommandStatusType]bool{
	data.ESME_RBINDFAIL:  true, // 0x0D
	data.ESME_RINVPASWD:  true, // 0x0E
	data.ESME_RINVSYSID:  true, // 0x0F
	data.ESME_RINVSYSTYP: true, // 0x53
}

// receiptStats maps the stat: field of a delivery receipt (SMPP 3.4
// Appendix B, plus the long spellings some SMSCs use) to a message status.
// A stat not listed is logged and the receipt dropped.
var receiptStats = map[string]string{
	"DELIVRD":       smsflow.MessageDelivered,
	"DELIVERED":     smsflow.MessageDelivered,
	"UNDELIV":       smsflow.MessageUndelivered,
	"UNDELIVERABLE": smsflow.MessageUndelivered,
	"EXPIRED":       smsflow.MessageFailed,
	"DELETED":       smsflow.MessageFailed,
	"REJECTD":       smsflow.MessageFailed,
	"REJECTED":      smsflow.MessageFailed,
	"UNKNOWN":       smsflow.MessageFailed,
	"ACCEPTD":       smsflow.MessageSent, // accepted by the SMSC, not yet on the handset
	"ACCEPTED":      smsflow.MessageSent,
	"ENROUTE":       smsflow.MessageSent,
}

// messageStates names the values of the message_state TLV (0x0427), used
// when a receipt has no stat: field.
var messageStates = map[byte]string{
	1: "ENROUTE",
	2: "DELIVRD",
	3: "EXPIRED",
	4: "DELETED",
	5: "UNDELIV",
	6: "ACCEPTD",
	7: "UNKNOWN",
	8: "REJECTD",
}
