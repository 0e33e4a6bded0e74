// Package smpp is the SMPP 3.4 provider: one transceiver bind to an SMSC,
// kept alive with enquire_link and re-established with exponential backoff,
// over which it submits messages and receives delivery receipts and replies.
// The wire work is github.com/linxGnu/gosmpp; what goes into each PDU is
// decided here.
//
// Sending. A body is measured and cut by sms/segments (never gosmpp's
// splitter): GSM-7 bodies go as unpacked GSM 03.38 septets with
// data_coding 0, anything else as UTF-16BE with data_coding 8. A body of
// several segments goes as several submit_sm, each with the concatenation
// UDH 05 00 03 ref total part and esm_class 0x40; the 8-bit ref is the low
// byte of the message id, so a resend of the same message reuses it. Parts
// are submitted one after the other, each waiting for its submit_sm_resp,
// and every submit_sm asks for a delivery receipt (registered_delivery 1).
// Result.ProviderID is the normalized message_id of the FIRST part.
//
// Failures are classified for the pipeline (see statusKinds): throttling
// and a full queue are Transient, an invalid destination is InvalidNumber,
// every other command_status is Permanent with Code "0x..."; no bind is
// Transient; a submit_sm that was written but got no answer (timeout or a
// lost connection) is Unknown, since the SMSC may have taken it.
//
// Receiving. A deliver_sm whose esm_class says "delivery receipt" (or
// intermediate notification) becomes a provider.Receipt; any other becomes
// a provider.Inbound once all its concatenated parts are in. Every
// deliver_sm is answered: ESME_ROK when Events took it (or when it is
// malformed and retrying cannot help), ESME_RX_T_APPN (0x64, temporary) when
// Events returned an error, so the SMSC delivers it again.
//
// A receipt's ProviderID is the first part's id: the receipt of a later
// part is dropped when it says delivered and reported under the first
// part's id when it says undelivered or failed. Receipt.At is left zero
// ("now"): SMPP receipt dates carry no time zone. ErrorCode is the err:
// field unless it is all zeros.
//
// Message ids. SMSCs disagree on the base of message ids: submit_sm_resp may
// give "2A00000F" (hex) and the receipt "704643087" (decimal), or the other
// way round. See NormalizeID and idBook for the rule.
//
// Memory. The ids of the last 100,000 parts sent and the parts of
// incomplete inbound messages (10 minutes at most) are kept in memory
// only: after a restart a receipt for an earlier message is reported with
// its id normalized (and converted the way the SMSC was last seen to need,
// if any), and a later part's receipt under its own id.
//
// Malformed input. gosmpp drops the connection on a PDU it cannot parse,
// and the SMSC would send it again after the rebind, forever; so a request
// it could not parse (an unknown command id, a deliver_sm whose UDH flag is
// set over a broken header …) is held back, logged and answered here
// (deliver_sm_resp ESME_ROK, or generic_nack). data_sm and other requests we
// do not use are answered with generic_nack. A broken stream (a
// command_length under 16) still ends the connection, and a new bind follows.
package smpp
