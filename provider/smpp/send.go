package smpp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"
	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/provider"
)

// refCounter gives concatenation references to messages without an id.
var refCounter atomic.Uint32

// Send submits m and returns the normalized message_id of its first part
// (see the package doc for how failures are classified). It waits for each
// part's submit_sm_resp for at most Config.SubmitTimeout, or less when ctx
// ends sooner. It never retries.
func (s *SMPP) Send(ctx context.Context, m *smsflow.Message) (provider.Result, error) {
	if m == nil {
		return provider.Result{}, &provider.Error{Kind: provider.Permanent, Message: "no message to send"}
	}
	dest, ton, npi, err := destination(m.Phone)
	if err != nil {
		return provider.Result{}, &provider.Error{Kind: provider.InvalidNumber, Message: err.Error()}
	}
	if m.Body == "" {
		return provider.Result{}, &provider.Error{Kind: provider.Permanent, Message: "the message body is empty; an empty SMS is not sent"}
	}
	src, ok := s.sources[m.Sender]
	if !ok {
		return provider.Result{}, &provider.Error{Kind: provider.Permanent, Message: fmt.Sprintf("sender %q is not one of smpp.senders", m.Sender)}
	}
	ref := byte(m.ID) // stable across resends of the same message
	if m.ID == 0 {
		ref = byte(refCounter.Add(1))
	}
	coding, parts, err := encodeBody(m.Body, ref)
	if err != nil {
		return provider.Result{}, &provider.Error{Kind: provider.Permanent, Message: err.Error()}
	}
	var first string
	for i, p := range parts {
		id, err := s.submit(ctx, submitArgs{src: src, dest: dest, ton: ton, npi: npi, coding: coding, part: p, index: i, total: len(parts), first: first})
		if err != nil {
			var pe *provider.Error
			if errors.As(err, &pe) {
				if len(parts) > 1 {
					pe.Message = fmt.Sprintf("part %d/%d: %s", i+1, len(parts), pe.Message)
					if i > 0 && pe.Kind == provider.Transient {
						pe.Message += fmt.Sprintf(" (%d earlier part(s) were accepted; a resend repeats them with the same concatenation reference)", i)
					}
				}
				s.log.Info("SMPP send failed", "to", phone.Mask(m.Phone), "message", m.ID, "kind", pe.Kind.String(), "code", pe.Code, "err", pe.Message)
			}
			return provider.Result{}, err
		}
		if i == 0 {
			first = id
		}
	}
	if first == "" {
		s.log.Warn("the SMSC accepted the message without a message_id; its receipts cannot be matched", "to", phone.Mask(m.Phone), "message", m.ID)
	}
	s.log.Debug("SMS submitted", "to", phone.Mask(m.Phone), "message", m.ID, "provider_id", first, "parts", len(parts), "data_coding", coding)
	return provider.Result{ProviderID: first, Status: smsflow.MessageSent}, nil
}

// submitArgs is one part to submit.
type submitArgs struct {
	src          source // the sender
	dest         string
	ton, npi     uint8
	coding       byte
	part         outPart
	index, total int
	first        string // normalized id of part 0, for parts after it
}

// submit sends one submit_sm and waits for its answer; it returns the
// normalized message_id.
func (s *SMPP) submit(ctx context.Context, a submitArgs) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", &provider.Error{Kind: provider.Transient, Message: "not submitted: " + context.Cause(ctx).Error()}
	}
	l := s.current()
	if l == nil {
		return "", &provider.Error{Kind: provider.Transient, Message: "not bound to the SMSC at " + s.cfg.Addr + " (reconnecting)"}
	}
	sm, err := s.newSubmitSM(a)
	if err != nil {
		return "", &provider.Error{Kind: provider.Permanent, Message: err.Error()}
	}
	ps := &pendingSubmit{link: l, seq: sm.SequenceNumber, part: a.index, first: a.first, done: make(chan submitAnswer, 1)}
	s.pending.add(ps)
	if err := l.sess.Transceiver().Submit(sm); err != nil {
		s.pending.take(ps.seq)
		return "", &provider.Error{Kind: provider.Transient, Message: "not bound to the SMSC at " + s.cfg.Addr + ": " + err.Error()}
	}

	start := time.Now()
	wait, cancel := context.WithTimeout(ctx, s.cfg.SubmitTimeout)
	defer cancel()
	var ans submitAnswer
	select {
	case ans = <-ps.done:
	case <-wait.Done():
		if s.pending.take(ps.seq) == nil { // answered meanwhile
			ans = <-ps.done
			break
		}
		if ps.maybeWritten() {
			return "", &provider.Error{Kind: provider.Unknown, Message: fmt.Sprintf("no submit_sm_resp from the SMSC within %s (%v); it may have accepted the message",
				time.Since(start).Round(time.Millisecond), context.Cause(wait))}
		}
		return "", &provider.Error{Kind: provider.Transient, Message: fmt.Sprintf("submit_sm not written within %s (%v)",
			time.Since(start).Round(time.Millisecond), context.Cause(wait))}
	}
	switch {
	case ans.lost && ps.maybeWritten():
		return "", &provider.Error{Kind: provider.Unknown, Message: "the SMSC connection was lost after submit_sm was written; it may have accepted the message"}
	case ans.lost:
		return "", &provider.Error{Kind: provider.Transient, Message: "the SMSC connection was lost before submit_sm was written"}
	case ans.status != data.ESME_ROK:
		return "", statusError(ans.status)
	}
	return ans.id, nil
}

// statusError classifies a command_status other than ESME_ROK.
func statusError(st data.CommandStatusType) *provider.Error {
	kind, ok := statusKinds[st]
	if !ok {
		kind = provider.Permanent
	}
	return &provider.Error{
		Kind:    kind,
		Code:    fmt.Sprintf("0x%02X", uint32(st)),
		Message: fmt.Sprintf("the SMSC answered %s (%s)", st.String(), st.Desc()),
		Retry:   throttleWait[st],
	}
}

// newSubmitSM builds the submit_sm of one part.
func (s *SMPP) newSubmitSM(a submitArgs) (*pdu.SubmitSM, error) {
	sm := pdu.NewSubmitSM().(*pdu.SubmitSM)
	src, err := pdu.NewAddressWithTonNpiAddr(a.src.ton, a.src.npi, a.src.addr)
	if err != nil {
		return nil, fmt.Errorf("source_addr: %w", err)
	}
	dst, err := pdu.NewAddressWithTonNpiAddr(a.ton, a.npi, a.dest)
	if err != nil {
		return nil, fmt.Errorf("destination_addr: %w", err)
	}
	sm.SourceAddr, sm.DestAddr = src, dst
	sm.RegisteredDelivery = 1 // SMSC delivery receipt on success and failure
	enc := data.GSM7BIT
	if a.coding == codingUCS2 {
		enc = data.UCS2
	}
	msg, err := pdu.NewBinaryShortMessageWithEncoding(a.part.data, enc)
	if err != nil {
		return nil, fmt.Errorf("short_message: %w", err)
	}
	if u := a.part.udh; len(u) >= 3 {
		msg.SetUDH(pdu.UDH{pdu.InfoElement{ID: u[1], Data: u[3:]}})
		sm.EsmClass |= data.SM_UDH_GSM
	}
	sm.Message = msg
	return sm, nil
}

// destination turns a contact's phone into a destination address: an
// E.164 "+digits" number goes as TON 1 / NPI 1 without its "+", bare digits
// as TON 0 / NPI 1.
func destination(p string) (addr string, ton, npi uint8, err error) {
	p = strings.TrimSpace(p)
	d := strings.TrimPrefix(p, "+")
	if !allDigits(d) || len(d) > 20 {
		return "", 0, 0, fmt.Errorf("%s is not a phone number SMPP can send to (digits, optionally after +, at most 20)", phone.Mask(p))
	}
	if strings.HasPrefix(p, "+") {
		return d, TONInternational, NPIE164, nil
	}
	return d, TONUnknown, NPIE164, nil
}
