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

// FuzzWatchedConn: whatever the SMSC sends, watchedConn never panics, never
// invents bytes, and every whole request it passes on parses.
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
			if cmd&data.GENERIC_NACK == 0 {
				if _, err := pdu.Parse(bytes.NewReader(out[:size])); err != nil {
					t.Fatalf("passed on a request gosmpp cannot parse: %v", err)
				}
			}
			out = out[size:]
		}
	})
}
