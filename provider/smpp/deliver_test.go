package smpp

import (
	"bytes"
	"context"
	"testing"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"
)

// offline returns a provider that is not connected, with rec as its Events,
// for feeding deliver_sm PDUs straight to deliver.
func offline(t testing.TB, rec *recorder) *SMPP {
	t.Helper()
	p, err := New(Config{Addr: "127.0.0.1:2775", SystemID: "t", SourceAddr: "12345"}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	p.ev = rec
	return p
}

// deliverSM builds a deliver_sm and sends it through the wire format and
// gosmpp's parser, as the reader would see it.
func deliverSM(t testing.TB, esm byte, enc data.Encoding, msg []byte, udh pdu.UDH, tlvs ...pdu.Field) *pdu.DeliverSM {
	t.Helper()
	d := pdu.NewDeliverSM().(*pdu.DeliverSM)
	d.SourceAddr, _ = pdu.NewAddressWithTonNpiAddr(1, 1, "15557654321")
	d.DestAddr, _ = pdu.NewAddressWithTonNpiAddr(3, 0, "12345")
	d.EsmClass = esm
	sm, err := pdu.NewBinaryShortMessageWithEncoding(msg, enc)
	if err != nil {
		t.Fatal(err)
	}
	if udh != nil {
		sm.SetUDH(udh)
		d.EsmClass |= data.SM_UDH_GSM
	}
	d.Message = sm
	for _, f := range tlvs {
		d.RegisterOptionalParam(f)
	}
	return reparse(t, d)
}

func reparse(t testing.TB, p pdu.PDU) *pdu.DeliverSM {
	t.Helper()
	buf := pdu.NewBuffer(nil)
	p.Marshal(buf)
	got, err := pdu.Parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("parse our own deliver_sm: %v", err)
	}
	return got.(*pdu.DeliverSM)
}

func TestDeliverReceiptForms(t *testing.T) {
	rec := newRecorder()
	p := offline(t, rec)
	p.ids.add("2a00000f", idEntry{first: "2a00000f"})
	p.ids.add("2a000010", idEntry{first: "2a00000f", part: 1})
	ctx := context.Background()

	for _, c := range []struct {
		name   string
		d      *pdu.DeliverSM
		status data.CommandStatusType
		want   []string // ProviderID:Status of the receipts stored by this PDU
	}{
		{"message_state TLV when there is no stat:",
			deliverSM(t, esmReceipt, data.ASCII, []byte("id:704643087"), nil, pdu.Field{Tag: pdu.TagMessageStateOption, Data: []byte{5}}),
			data.ESME_ROK, []string{"2a00000f:undelivered"}},
		{"intermediate notification ENROUTE is sent",
			deliverSM(t, esmIntermediate, data.ASCII, []byte("id:2A00000F stat:ENROUTE"), nil),
			data.ESME_ROK, []string{"2a00000f:sent"}},
		{"a later part delivered is not reported",
			deliverSM(t, esmReceipt, data.ASCII, []byte("id:704643088 stat:DELIVRD err:000"), nil),
			data.ESME_ROK, nil},
		{"a later part failed fails the message",
			deliverSM(t, esmReceipt, data.ASCII, []byte("id:704643088 stat:REJECTD err:0B"), nil),
			data.ESME_ROK, []string{"2a00000f:failed"}},
		{"unknown stat dropped",
			deliverSM(t, esmReceipt, data.ASCII, []byte("id:1 stat:WEIRD"), nil),
			data.ESME_ROK, nil},
		{"receipt text in UCS-2",
			deliverSM(t, esmReceipt, data.UCS2, encodeUCS2("id:2A00000F stat:EXPIRED err:007"), nil),
			data.ESME_ROK, []string{"2a00000f:failed"}},
		{"receipt text in message_payload",
			deliverSM(t, esmReceipt, data.ASCII, nil, nil, pdu.Field{Tag: pdu.TagMessagePayload, Data: []byte("id:2a00000f stat:DELIVRD")}),
			data.ESME_ROK, []string{"2a00000f:delivered"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec.mu.Lock()
			before := len(rec.receipts)
			rec.mu.Unlock()
			if st := p.deliver(ctx, c.d); st != c.status {
				t.Errorf("answer %#x, want %#x", uint32(st), uint32(c.status))
			}
			rec.mu.Lock()
			var got []string
			for _, r := range rec.receipts[before:] {
				got = append(got, r.ProviderID+":"+r.Status)
			}
			rec.mu.Unlock()
			if len(got) != len(c.want) || (len(got) > 0 && got[0] != c.want[0]) {
				t.Errorf("stored %v, want %v", got, c.want)
			}
		})
	}
}

func TestDeliverInboundSAR(t *testing.T) {
	rec := newRecorder()
	p := offline(t, rec)
	sar := func(part byte) []pdu.Field {
		return []pdu.Field{
			{Tag: pdu.TagSarMsgRefNum, Data: []byte{0x01, 0x02}},
			{Tag: pdu.TagSarTotalSegments, Data: []byte{2}},
			{Tag: pdu.TagSarSegmentSeqnum, Data: []byte{part}},
		}
	}
	// The escape pair of € is cut between the parts: joined before decoding.
	p1 := deliverSM(t, 0, data.GSM7BIT, []byte{'P', 'r', 'i', 'c', 'e', ' ', 0x1B}, nil, sar(1)...)
	p2 := deliverSM(t, 0, data.GSM7BIT, []byte{0x65, '5'}, nil, sar(2)...)
	if st := p.deliver(context.Background(), p2); st != data.ESME_ROK {
		t.Fatalf("part 2 answered %#x", uint32(st))
	}
	if len(rec.inbound) != 0 {
		t.Fatalf("inbound before all parts: %+v", rec.inbound)
	}
	if st := p.deliver(context.Background(), p1); st != data.ESME_ROK {
		t.Fatalf("part 1 answered %#x", uint32(st))
	}
	if len(rec.inbound) != 1 || rec.inbound[0].Body != "Price €5" || rec.inbound[0].From != "+15557654321" || rec.inbound[0].To != "12345" {
		t.Errorf("inbound %+v, want one %q from +15557654321 to 12345", rec.inbound, "Price €5")
	}
}

func TestDeliverInboundFailureKeepsParts(t *testing.T) {
	rec := newRecorder()
	p := offline(t, rec)
	udh := func(part byte) pdu.UDH { return pdu.UDH{pdu.NewIEConcatMessage(2, part, 9)} }
	ctx := context.Background()
	p.deliver(ctx, deliverSM(t, 0, data.UCS2, encodeUCS2("Hello "), udh(1)))
	rec.setFailNext(1)
	last := deliverSM(t, 0, data.UCS2, encodeUCS2("world"), udh(2))
	if st := p.deliver(ctx, last); st != statusTemporary {
		t.Fatalf("answer %#x when Events failed, want %#x", uint32(st), uint32(statusTemporary))
	}
	if st := p.deliver(ctx, last); st != data.ESME_ROK { // the SMSC sends the last part again
		t.Fatalf("redelivery answered %#x", uint32(st))
	}
	if len(rec.inbound) != 1 || rec.inbound[0].Body != "Hello world" {
		t.Errorf("inbound %+v, want one \"Hello world\"", rec.inbound)
	}
}

// FuzzDeliverSM feeds arbitrary bytes to gosmpp's parser and every
// deliver_sm it accepts to deliver: nothing may panic, and the answer is
// always ESME_ROK (Events never fails here).
func FuzzDeliverSM(f *testing.F) {
	seed := func(d *pdu.DeliverSM) {
		buf := pdu.NewBuffer(nil)
		d.Marshal(buf)
		f.Add(buf.Bytes())
	}
	seed(deliverSM(f, esmReceipt, data.ASCII, []byte("id:1 sub:001 dlvrd:001 submit date:2501010000 done date:2501010001 stat:DELIVRD err:000 text:x"), nil))
	seed(deliverSM(f, 0, data.UCS2, encodeUCS2("Привет"), pdu.UDH{pdu.NewIEConcatMessage(2, 1, 7)}))
	seed(deliverSM(f, 0, data.GSM7BIT, []byte("STOP"), nil))
	seed(deliverSM(f, esmReceipt, data.ASCII, nil, nil, pdu.Field{Tag: pdu.TagReceiptedMessageID, Data: []byte("abc\x00")},
		pdu.Field{Tag: pdu.TagMessageStateOption, Data: []byte{2}}))
	seed(deliverSM(f, 0, data.GSM7BIT, nil, nil, pdu.Field{Tag: pdu.TagMessagePayload, Data: []byte{5, 0, 3, 1, 2, 1, 'h', 'i'}}))

	rec := newRecorder()
	p := offline(f, rec)
	f.Fuzz(func(t *testing.T, b []byte) {
		// parsePDU is how the wire reads a PDU before gosmpp does: a PDU
		// that panics gosmpp's parser is an error there, never a crash
		// (testdata/fuzz/FuzzDeliverSM keeps the query_sm that did).
		got, err := parsePDU(b)
		if err != nil {
			return
		}
		d, ok := got.(*pdu.DeliverSM)
		if !ok {
			return
		}
		if st := p.deliver(context.Background(), d); st != data.ESME_ROK {
			t.Errorf("answer %#x, want ESME_ROK", uint32(st))
		}
	})
}
