package smpp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"
)

// watchedConn sits between gosmpp and the TCP connection.
//
// Writes: it tells pendingSubmits when a submit_sm goes on the wire, so a
// timeout can be told apart: never written (Transient) or written and not
// answered (Unknown). gosmpp writes each PDU with a single Write call.
//
// Reads: it hands gosmpp whole PDUs only, and holds back a request PDU that
// gosmpp's parser would fail on (an unknown command id, a deliver_sm with
// the UDH flag over a broken header, a query_sm with an optional parameter,
// which makes the parser panic …). gosmpp would drop the connection on it
// (or, for a panic, the process would end) and the SMSC would send it again
// after the rebind, forever; instead watchedConn answers it itself
// (deliver_sm_resp ESME_ROK for a deliver_sm: it cannot be read, and
// redelivery would not change that; generic_nack for anything else) and
// reports it through onBad. The bind stays up.
//
// It also keeps the header of the first PDU read: gosmpp cannot parse a
// bind_transceiver_resp error that comes without a body (as many SMSCs send
// it) and reports io.EOF, so bind reads the refusal's status from here.
type watchedConn struct {
	net.Conn
	onWrite func(seq int32, phase int32)
	onBad   func(cmd data.CommandIDType, err error)

	head []byte // the header of the first PDU read
	in   []byte // bytes read from the connection, not yet framed
	out  []byte // whole PDUs ready for gosmpp
	err  error  // a read error to return once out is drained
}

func (c *watchedConn) Write(b []byte) (int, error) {
	if len(b) < 16 || data.CommandIDType(binary.BigEndian.Uint32(b[4:8])) != data.SUBMIT_SM {
		return c.Conn.Write(b)
	}
	seq := int32(binary.BigEndian.Uint32(b[12:16]))
	c.onWrite(seq, phaseWriting)
	n, err := c.Conn.Write(b)
	if err != nil {
		c.onWrite(seq, phaseFailed)
	} else {
		c.onWrite(seq, phaseWritten)
	}
	return n, err
}

func (c *watchedConn) Read(b []byte) (int, error) {
	var buf [4096]byte
	for len(c.out) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		n, err := c.Conn.Read(buf[:])
		c.in = append(c.in, buf[:n]...)
		if need := 16 - len(c.head); need > 0 {
			c.head = append(c.head, c.in[:min(len(c.in), need)]...)
		}
		c.frame()
		if err != nil {
			c.err = err
			if len(c.out) == 0 {
				c.out, c.in = c.in, nil // let gosmpp see what is left, then the error
			}
		}
	}
	n := copy(b, c.out)
	c.out = c.out[n:]
	return n, nil
}

// frame moves the whole PDUs in c.in to c.out, holding back the requests
// gosmpp cannot parse and any PDU that makes its parser panic.
func (c *watchedConn) frame() {
	for len(c.in) >= 16 {
		size := binary.BigEndian.Uint32(c.in[0:4])
		if size < 16 || size > data.MAX_PDU_LEN { // the stream is broken: let gosmpp fail on it
			c.out = append(c.out, c.in...)
			c.in = nil
			return
		}
		if uint32(len(c.in)) < size {
			return
		}
		p := c.in[:size]
		c.in = c.in[size:]
		cmd := data.CommandIDType(binary.BigEndian.Uint32(p[4:8]))
		request := cmd&data.GENERIC_NACK == 0
		// Every PDU is parsed here first, under a recover:
		// gosmpp parses on its reader goroutine, where a panic (v0.3.1:
		// a query_sm with an optional parameter writes to a nil map) would
		// end the process. A request it cannot read is answered and
		// dropped; a response it cannot read is passed on (gosmpp then
		// drops the connection, and the rebind resolves what it answered),
		// unless it panics: then it is dropped, and what it answered times
		// out as unknown.
		if _, err := parsePDU(p); err != nil && (request || errors.Is(err, errParserPanic)) {
			if request {
				c.answerUnreadable(cmd, binary.BigEndian.Uint32(p[12:16]))
			}
			if c.onBad != nil {
				c.onBad(cmd, err)
			}
			continue
		}
		c.out = append(c.out, p...)
	}
}

// errParserPanic marks a PDU that made gosmpp's parser panic.
var errParserPanic = errors.New("gosmpp's parser panicked")

// parsePDU is pdu.Parse of one whole PDU with a panic of the parser turned
// into an error wrapping errParserPanic.
func parsePDU(b []byte) (p pdu.PDU, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("%w: %v", errParserPanic, r)
		}
	}()
	return pdu.Parse(bytes.NewReader(b))
}

// answerUnreadable answers a request PDU gosmpp cannot parse.
func (c *watchedConn) answerUnreadable(cmd data.CommandIDType, seq uint32) {
	var resp []byte
	if cmd == data.DELIVER_SM {
		resp = pduBytes(data.DELIVER_SM_RESP, data.ESME_ROK, seq, []byte{0}) // empty message_id
	} else {
		resp = pduBytes(data.GENERIC_NACK, data.ESME_RINVCMDID, seq, nil)
	}
	_ = c.Conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, _ = c.Conn.Write(resp) // net.Conn writes are atomic with gosmpp's own
}

func pduBytes(cmd data.CommandIDType, st data.CommandStatusType, seq uint32, body []byte) []byte {
	b := make([]byte, 16, 16+len(body))
	binary.BigEndian.PutUint32(b[0:], uint32(16+len(body)))
	binary.BigEndian.PutUint32(b[4:], uint32(cmd))
	binary.BigEndian.PutUint32(b[8:], uint32(st))
	binary.BigEndian.PutUint32(b[12:], seq)
	return append(b, body...)
}

// bindRefusal returns the command_status of a bind_transceiver_resp error
// when that was the first PDU read.
func (c *watchedConn) bindRefusal() (data.CommandStatusType, bool) {
	if len(c.head) < 16 || data.CommandIDType(binary.BigEndian.Uint32(c.head[4:8])) != data.BIND_TRANSCEIVER_RESP {
		return 0, false
	}
	st := data.CommandStatusType(binary.BigEndian.Uint32(c.head[8:12]))
	return st, st != data.ESME_ROK
}
