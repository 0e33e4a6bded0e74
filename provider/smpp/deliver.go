package smpp

import (
	"context"
	"encoding/binary"
	"strings"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"
	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/provider"
)

// esm_class message type bits of a deliver_sm (SMPP 3.4, esm_class).
const (
	esmTypeMask     = 0x3C
	esmReceipt      = 0x04 // SMSC delivery receipt
	esmIntermediate = 0x20 // intermediate delivery notification
)

// statusTemporary answers a deliver_sm that Events could not take, so the
// SMSC delivers it again: ESME_RX_T_APPN, "ESME receiver temporary
// application error".
const statusTemporary = data.ESME_RX_T_APPN

// deliver handles one deliver_sm and returns the command_status of its
// answer. It never panics on malformed input: what cannot be understood is
// logged and acknowledged (a redelivery would not make it better).
func (s *SMPP) deliver(ctx context.Context, d *pdu.DeliverSM) data.CommandStatusType {
	switch d.EsmClass & esmTypeMask {
	case esmReceipt, esmIntermediate:
		return s.deliverReceipt(ctx, d)
	case 0:
		return s.deliverInbound(ctx, d)
	default:
		s.log.Debug("deliver_sm of a type we do not use; acknowledged", "esm_class", d.EsmClass)
		return data.ESME_ROK
	}
}

// deliverReceipt turns a delivery receipt into a provider.Receipt.
func (s *SMPP) deliverReceipt(ctx context.Context, d *pdu.DeliverSM) data.CommandStatusType {
	body, _ := d.Message.GetMessageData()
	if p, ok := d.OptionalParameters[pdu.TagMessagePayload]; ok && len(body) == 0 {
		body = p.Data
	}
	// Receipt text is ASCII; a few SMSCs send it as UCS-2.
	text := strings.ToValidUTF8(string(body), "\uFFFD")
	if enc := d.Message.Encoding(); enc != nil && enc.DataCoding() == codingUCS2 {
		text, _ = decodeText(codingUCS2, body)
	}
	rt, perr := ParseReceiptText(text)

	rawID := rt.ID
	if f, ok := d.OptionalParameters[pdu.TagReceiptedMessageID]; ok && f.String() != "" {
		rawID = f.String() // the SMPP 3.4 TLV, in the same form as submit_sm_resp
	}
	stat := rt.Stat
	if stat == "" {
		if f, ok := d.OptionalParameters[pdu.TagMessageStateOption]; ok && len(f.Data) == 1 { // message_state, 0x0427
			stat = messageStates[f.Data[0]]
		}
	}
	if rawID == "" || stat == "" {
		s.log.Warn("malformed delivery receipt dropped", "text", clip(text, 160), "err", perr)
		return data.ESME_ROK
	}
	status, ok := receiptStats[stat]
	if !ok {
		s.log.Warn("delivery receipt with an unknown stat dropped", "stat", clip(stat, 20), "id", clip(rawID, 70))
		return data.ESME_ROK
	}
	id, e, known := s.ids.resolve(rawID)
	if known && e.part > 0 {
		// A later part of a concatenated message: its failure fails the
		// message; its success says nothing the first part's receipt won't.
		if status != smsflow.MessageUndelivered && status != smsflow.MessageFailed {
			s.log.Debug("receipt for a later part acknowledged", "id", id, "part", e.part+1, "stat", stat)
			return data.ESME_ROK
		}
		id = e.first
	} else if known {
		id = e.first
	}
	r := provider.Receipt{ProviderID: id, Status: status}
	if code := strings.TrimLeft(rt.Err, "0"); code != "" {
		r.ErrorCode = rt.Err
	}
	if err := s.ev.Receipt(ctx, r); err != nil {
		s.log.Warn("receipt not stored; asking the SMSC to deliver it again", "provider_id", id, "status", status, "err", err)
		return statusTemporary
	}
	s.log.Debug("receipt", "provider_id", id, "status", status, "err_code", r.ErrorCode)
	return data.ESME_ROK
}

// deliverInbound turns a mobile-originated deliver_sm into a
// provider.Inbound, once all its parts are in.
func (s *SMPP) deliverInbound(ctx context.Context, d *pdu.DeliverSM) data.CommandStatusType {
	body, _ := d.Message.GetMessageData()
	udh := d.Message.UDH()
	if p, ok := d.OptionalParameters[pdu.TagMessagePayload]; ok && len(body) == 0 {
		body, udh = p.Data, nil
		if d.EsmClass&data.SM_UDH_GSM != 0 {
			var err error
			if udh, body, err = splitUDH(p.Data); err != nil {
				s.log.Warn("inbound SMS with a malformed UDH dropped", "from", phone.Mask(d.SourceAddr.Address()), "err", err)
				return data.ESME_ROK
			}
		}
	}
	from := addrString(d.SourceAddr)
	to := addrString(d.DestAddr)

	key, part, total, concat := concatInfo(udh, d.OptionalParameters)
	var key2 partsKey
	if concat {
		key2 = partsKey{from: from, to: to, ref: key, total: total}
		var complete bool
		body, complete = s.parts.add(key2, part, body)
		if !complete {
			return data.ESME_ROK // held until the other parts come
		}
	}
	text, ok := decodeWith(d.Message.Encoding(), body)
	if !ok {
		s.log.Info("inbound SMS with binary or unsupported data_coding dropped", "from", phone.Mask(from))
		if concat {
			s.parts.remove(key2)
		}
		return data.ESME_ROK
	}
	in := provider.Inbound{From: from, To: to, Body: text}
	if err := s.ev.Inbound(ctx, in); err != nil {
		s.log.Warn("inbound SMS not stored; asking the SMSC to deliver it again", "from", phone.Mask(from), "err", err)
		return statusTemporary // the other parts stay held
	}
	if concat {
		s.parts.remove(key2)
	}
	s.log.Info("inbound SMS", "from", phone.Mask(from), "to", to, "chars", len([]rune(text)))
	return data.ESME_ROK
}

// decodeWith decodes a short message by the Encoding gosmpp read from its
// data_coding (nil when gosmpp does not know the value).
func decodeWith(enc data.Encoding, b []byte) (string, bool) {
	if enc == nil {
		return "", false
	}
	dc := enc.DataCoding()
	if text, ok := decodeText(dc, b); ok {
		return text, true
	}
	switch dc {
	case data.CYRILLICCoding, data.HEBREWCoding:
		if text, err := enc.Decode(b); err == nil {
			return text, true
		}
	}
	return "", false
}

// addrString writes an address as the contact's number: international
// numbers (TON 1) get their "+".
func addrString(a pdu.Address) string {
	s := strings.TrimSpace(a.Address())
	if a.Ton() == TONInternational && s != "" && !strings.HasPrefix(s, "+") {
		return "+" + s
	}
	return s
}

// splitUDH separates a user data header (with its length byte) from the
// text after it.
func splitUDH(b []byte) (pdu.UDH, []byte, error) {
	var u pdu.UDH
	if _, err := u.UnmarshalBinary(b); err != nil {
		return nil, nil, err
	}
	n := int(b[0]) + 1
	if n > len(b) {
		n = len(b)
	}
	return u, b[n:], nil
}

// concatInfo finds the concatenation of a part: from its UDH (IE 0x00 with
// an 8-bit reference, IE 0x08 with a 16-bit one) or from the SAR TLVs.
func concatInfo(u pdu.UDH, tlv map[pdu.Tag]pdu.Field) (ref uint16, part, total int, ok bool) {
	for _, ie := range u {
		switch {
		case ie.ID == udhConcat8 && len(ie.Data) == 3:
			ref, total, part = uint16(ie.Data[0]), int(ie.Data[1]), int(ie.Data[2])
		case ie.ID == udhConcat16 && len(ie.Data) == 4:
			ref, total, part = binary.BigEndian.Uint16(ie.Data), int(ie.Data[2]), int(ie.Data[3])
		default:
			continue
		}
		return ref, part, total, total > 1 && part >= 1 && part <= total
	}
	r, okR := tlv[pdu.TagSarMsgRefNum]
	t, okT := tlv[pdu.TagSarTotalSegments]
	p, okP := tlv[pdu.TagSarSegmentSeqnum]
	if okR && okT && okP && len(r.Data) == 2 && len(t.Data) == 1 && len(p.Data) == 1 {
		ref, total, part = binary.BigEndian.Uint16(r.Data), int(t.Data[0]), int(p.Data[0])
		return ref, part, total, total > 1 && part >= 1 && part <= total
	}
	return 0, 0, 0, false
}
