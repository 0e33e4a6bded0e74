package smpp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"
)

// streamConn is a net.Conn reading from a byte stream in small chunks and
// recording what is written.
type streamConn struct {
	net.Conn
	r     io.Reader
	chunk int
	wrote bytes.Buffer
}

func (c *streamConn) Read(b []byte) (int, error) {
	if len(b) > c.chunk {
		b = b[:c.chunk]
	}
	return c.r.Read(b)
}
func (c *streamConn) Write(b []byte) (int, error)      { return c.wrote.Write(b) }
func (c *streamConn) SetWriteDeadline(time.Time) error { return nil }

func pduWire(p pdu.PDU) []byte {
	buf := pdu.NewBuffer(nil)
	p.Marshal(buf)
	return buf.Bytes()
}

func TestWatchedConnHoldsBackUnreadable(t *testing.T) {
	good := deliverSM(t, 0, data.GSM7BIT, []byte("hi"), nil)
	el := pdu.NewEnquireLink()
	// A deliver_sm with the UDH flag whose header claims 10 bytes of 3.
	bad := pduBytes(data.DELIVER_SM, data.ESME_ROK, 4242, []byte{
		0, 1, 1, '1', 0, 1, 1, '2', 0, // service_type, source, dest
		0x40, 0, 0, 0, 0, 0, 0, 0, // esm_class .. data_coding
		0, 3, 0x0a, 0x00, 0x03, // sm_default_msg_id, sm_length 3, short_message
	})
	unknown := pduBytes(data.CommandIDType(0x00000777), data.ESME_ROK, 99, nil)
	stream := append(append(append(append(pduWire(good), bad...), unknown...), pduWire(el)...), 0, 0, 0) // and a torn tail

	for _, chunk := range []int{1, 7, 4096} {
		sc := &streamConn{r: bytes.NewReader(stream), chunk: chunk}
		var bad []data.CommandIDType
		c := &watchedConn{Conn: sc, onBad: func(cmd data.CommandIDType, _ error) { bad = append(bad, cmd) }}
		var got []pdu.PDU
		for {
			p, err := pdu.Parse(c)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("chunk %d: parse: %v", chunk, err)
				}
				break
			}
			got = append(got, p)
		}
		if len(got) != 2 {
			t.Fatalf("chunk %d: gosmpp saw %d PDUs, want 2 (the deliver_sm and the enquire_link)", chunk, len(got))
		}
		if _, ok := got[0].(*pdu.DeliverSM); !ok {
			t.Errorf("chunk %d: first PDU %T", chunk, got[0])
		}
		if _, ok := got[1].(*pdu.EnquireLink); !ok {
			t.Errorf("chunk %d: second PDU %T", chunk, got[1])
		}
		if len(bad) != 2 || bad[0] != data.DELIVER_SM || bad[1] != 0x777 {
			t.Errorf("chunk %d: reported %v", chunk, bad)
		}
		w := sc.wrote.Bytes()
		if len(w) != 17+16 ||
			data.CommandIDType(binary.BigEndian.Uint32(w[4:])) != data.DELIVER_SM_RESP || binary.BigEndian.Uint32(w[8:]) != 0 || binary.BigEndian.Uint32(w[12:]) != 4242 ||
			data.CommandIDType(binary.BigEndian.Uint32(w[17+4:])) != data.GENERIC_NACK || binary.BigEndian.Uint32(w[17+12:]) != 99 {
			t.Errorf("chunk %d: answers written % x", chunk, w)
		}
	}
}

// A query_sm with an optional parameter made gosmpp's parser panic
// (assignment to entry in nil map) on its reader goroutine, ending the
// process (issue 16 item 6). watchedConn answers it generic_nack, reports
// it, and passes on what follows.
func TestWatchedConnSurvivesParserPanic(t *testing.T) {
	crasher := pduBytes(data.QUERY_SM, data.ESME_ROK, 4242, []byte("1234567890\x00\x01\x011234567890\x00\x02\x04\x00\x04\x00\x01\x02\x03"))
	if len(crasher) != 48 {
		t.Fatalf("crasher is %d bytes", len(crasher))
	}
	stream := append(append([]byte(nil), crasher...), pduWire(pdu.NewEnquireLink())...)
	for _, chunk := range []int{1, 5, 4096} {
		sc := &streamConn{r: bytes.NewReader(stream), chunk: chunk}
		var bad []data.CommandIDType
		var errs []error
		c := &watchedConn{Conn: sc, onBad: func(cmd data.CommandIDType, err error) { bad, errs = append(bad, cmd), append(errs, err) }}
		p, err := pdu.Parse(c)
		if err != nil {
			t.Fatalf("chunk %d: %v", chunk, err)
		}
		if _, ok := p.(*pdu.EnquireLink); !ok {
			t.Errorf("chunk %d: gosmpp saw %T first, want the enquire_link after the held-back query_sm", chunk, p)
		}
		if len(bad) != 1 || bad[0] != data.QUERY_SM || !errors.Is(errs[0], errParserPanic) {
			t.Errorf("chunk %d: reported %v %v, want the query_sm as a parser panic", chunk, bad, errs)
		}
		w := sc.wrote.Bytes()
		if len(w) != 16 || data.CommandIDType(binary.BigEndian.Uint32(w[4:])) != data.GENERIC_NACK ||
			binary.BigEndian.Uint32(w[8:]) != uint32(data.ESME_RINVCMDID) || binary.BigEndian.Uint32(w[12:]) != 4242 {
			t.Errorf("chunk %d: answer written % x, want generic_nack for sequence 4242", chunk, w)
		}
	}
}

// FuzzWatchedConn: whatever the SMSC sends, watchedConn never panics, never
// invents bytes, every whole request it passes on parses, and nothing it
// passes on makes gosmpp's parser panic (gosmpp parses on its own reader
// goroutine, where a panic ends the process).
func FuzzWatchedConn(f *testing.F) {
	f.Add(pduWire(pdu.NewEnquireLink()), 3)
	f.Add(append(pduWire(pdu.NewUnbind()), pduBytes(data.DELIVER_SM, 0, 1, []byte{0x40})...), 5)
	f.Add([]byte{0, 0, 0, 8, 0, 0, 0, 5}, 1)
	f.Fuzz(func(t *testing.T, stream []byte, chunk int) {
		if chunk <= 0 || chunk > 1<<16 {
			chunk = 1 + (chunk&0xff+0xff)%256
		}
		sc := &streamConn{r: bytes.NewReader(stream), chunk: chunk}
		c := &watchedConn{Conn: sc}
		out, _ := io.ReadAll(c)
		if len(out) > len(stream) {
			t.Fatalf("passed on %d bytes of %d", len(out), len(stream))
		}
		for len(out) >= 16 {
			size := binary.BigEndian.Uint32(out)
			if size < 16 || size > data.MAX_PDU_LEN || uint32(len(out)) < size {
				return // a broken or torn stream is passed on as it is
			}
			cmd := data.CommandIDType(binary.BigEndian.Uint32(out[4:]))
			_, err := pdu.Parse(bytes.NewReader(out[:size])) // a panic fails the fuzz target
			if cmd&data.GENERIC_NACK == 0 && err != nil {
				t.Fatalf("passed on a request gosmpp cannot parse: %v", err)
			}
			out = out[size:]
		}
	})
}
