package smpp

import (
	"sync"
	"sync/atomic"

	"github.com/linxGnu/gosmpp/data"
)

// Write phases of a submit_sm, as watchedConn sees them.
const (
	phaseQueued  int32 = iota // handed to gosmpp, not yet on the wire
	phaseWriting              // conn.Write called
	phaseWritten              // conn.Write returned without error
	phaseFailed               // conn.Write failed: the SMSC got at most a partial PDU
)

// pendingSubmit is a submit_sm waiting for its submit_sm_resp.
type pendingSubmit struct {
	link  *link
	seq   int32
	part  int
	first string
	phase atomic.Int32
	done  chan submitAnswer // buffered 1; receives exactly one answer
}

// maybeWritten reports whether the SMSC may have received the whole PDU.
func (p *pendingSubmit) maybeWritten() bool {
	ph := p.phase.Load()
	return ph == phaseWriting || ph == phaseWritten
}

// submitAnswer is the outcome of a pending submit: the SMSC's answer, or
// lost when the connection went away first.
type submitAnswer struct {
	status data.CommandStatusType
	id     string // normalized
	lost   bool
}

// pendingSubmits correlates submit_sm_resp with submit_sm by sequence
// number (gosmpp numbers PDUs from one process-wide counter).
type pendingSubmits struct {
	mu sync.Mutex
	m  map[int32]*pendingSubmit
}

func (ps *pendingSubmits) add(p *pendingSubmit) {
	ps.mu.Lock()
	ps.m[p.seq] = p
	ps.mu.Unlock()
}

// take removes and returns the pending submit seq, nil when there is none.
func (ps *pendingSubmits) take(seq int32) *pendingSubmit {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p := ps.m[seq]
	delete(ps.m, seq)
	return p
}

// written records a write phase of submit_sm seq; watchedConn calls it.
func (ps *pendingSubmits) written(seq int32, phase int32) {
	ps.mu.Lock()
	p := ps.m[seq]
	ps.mu.Unlock()
	if p != nil {
		p.phase.Store(phase)
	}
}

// resolve hands an answer to the submit it belongs to. The id is recorded
// in ids right here, on the reader goroutine, so a receipt that follows at
// once already finds it.
func (ps *pendingSubmits) resolve(seq int32, st data.CommandStatusType, rawID string, ids *idBook) {
	p := ps.take(seq)
	if p == nil {
		return // answered after its Send gave up, or not ours
	}
	id := NormalizeID(rawID)
	if st == data.ESME_ROK && id != "" {
		e := idEntry{first: p.first, part: p.part}
		if p.part == 0 {
			e.first = id
		}
		ids.add(id, e)
	}
	p.done <- submitAnswer{status: st, id: id}
}

// fail answers every submit pending on l as lost.
func (ps *pendingSubmits) fail(l *link) {
	ps.mu.Lock()
	var lost []*pendingSubmit
	for seq, p := range ps.m {
		if p.link == l {
			lost = append(lost, p)
			delete(ps.m, seq)
		}
	}
	ps.mu.Unlock()
	for _, p := range lost {
		p.done <- submitAnswer{lost: true}
	}
}
