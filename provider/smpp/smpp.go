package smpp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/linxGnu/gosmpp"
	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"
	"github.com/smsflow/smsflow/provider"
)

// Sizes of what the provider keeps in memory.
const (
	knownIDs        = 100_000          // submit_sm_resp ids remembered for matching receipts
	deliverWorkers  = 16               // deliver_sm handled at once; more wait (the reader pauses)
	eventTimeout    = 30 * time.Second // how long one Events call may take
	partsKeep       = 10 * time.Minute // how long parts of a concatenated MO wait for the rest
	partsMaxPending = 1000             // incomplete concatenated MOs kept at most
)

var (
	_ provider.Provider  = (*SMPP)(nil)
	_ provider.Connector = (*SMPP)(nil)
)

// SMPP is the SMPP 3.4 provider. Send is safe for concurrent use; Connect
// must be called once before Send can succeed.
type SMPP struct {
	cfg     Config
	log     *slog.Logger
	sources map[string]source // by Message.Sender: "" and each of Config.Senders

	ids     *idBook
	parts   *reassembly
	pending pendingSubmits

	mu      sync.Mutex
	cur     *link // the bound connection, nil while not bound
	started bool
	stop    context.CancelFunc // ends the connection's life (Close)
	ctx     context.Context    // the connection's life
	ev      provider.Events
	done    chan struct{} // closed when the supervisor has returned

	workers sync.WaitGroup
	sem     chan struct{}
}

// link is one bound connection (one bind, one generation).
type link struct {
	sess      *gosmpp.Session
	ready     chan struct{} // closed once sess is set
	lost      chan struct{} // closed when the connection is gone
	lostOnce  sync.Once
	closeOnce sync.Once
}

func (l *link) markLost() { l.lostOnce.Do(func() { close(l.lost) }) }

// New returns an SMPP provider for cfg, logging to log. It validates cfg
// (errors are *smsflow.Error with the smpp.* field at fault) and does not
// connect: call Connect.
func New(cfg Config, log *slog.Logger) (*SMPP, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	def := source{ton: *c.SourceTON, npi: *c.SourceNPI, addr: c.SourceAddr}
	sources := map[string]source{"": def, strings.TrimSpace(cfg.SourceAddr): def}
	for _, a := range c.Senders[min(1, len(c.Senders)):] { // the first is SourceAddr
		a = strings.TrimSpace(a)
		if sources[a], err = parseSource("senders", a, nil, nil); err != nil {
			return nil, err
		}
	}
	return &SMPP{
		cfg:     c,
		sources: sources,
		log:     log.With("provider", "smpp"),
		ids:     newIDBook(knownIDs),
		parts:   newReassembly(partsKeep, partsMaxPending),
		pending: pendingSubmits{m: map[int32]*pendingSubmit{}},
		sem:     make(chan struct{}, deliverWorkers),
	}, nil
}

// Name is "smpp".
func (s *SMPP) Name() string { return "smpp" }

// Connect binds as a transceiver to the SMSC and keeps the bind up, handing
// delivery receipts and inbound messages to ev, until Close is called or ctx
// is canceled. It waits for the first bind: when the SMSC refuses our
// credentials (ESME_RBINDFAIL, ESME_RINVPASWD, ESME_RINVSYSID,
// ESME_RINVSYSTYP) it returns that error and stops; when the SMSC cannot be
// reached it logs a warning, returns nil and keeps trying in the background
// with exponential backoff (Send fails Transient meanwhile). Connect may be
// called only once.
func (s *SMPP) Connect(ctx context.Context, ev provider.Events) error {
	if ev == nil {
		return errors.New("smpp: Connect needs an Events to hand receipts and replies to")
	}
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("smpp: Connect was already called; make a new provider to connect again")
	}
	s.started = true
	s.ctx, s.stop = context.WithCancel(context.WithoutCancel(ctx))
	s.ev = ev
	s.done = make(chan struct{})
	s.mu.Unlock()
	go func() { // the caller's ctx ends the connection too
		select {
		case <-ctx.Done():
			s.stop()
		case <-s.ctx.Done():
		}
	}()

	l, err := s.bind()
	if err != nil {
		var be gosmpp.BindError
		if errors.As(err, &be) && bindRefusals[be.CommandStatus] {
			s.stop()
			close(s.done)
			return fmt.Errorf("smpp: the SMSC at %s refused the bind as %q (%s, 0x%02X): check smpp.system_id and smpp.password",
				s.cfg.Addr, s.cfg.SystemID, be.CommandStatus.Desc(), uint32(be.CommandStatus))
		}
		s.log.Warn("SMPP bind failed; retrying in the background", "addr", s.cfg.Addr, "err", err)
	} else {
		s.setLink(l) // bound before Connect returns, so Send works at once
		s.log.Info("SMPP bound", "addr", s.cfg.Addr, "system_id", s.cfg.SystemID)
	}
	go s.supervise(l)
	return nil
}

// Close unbinds, stops reconnecting and waits for the receipts and replies
// being handed over. It is safe to call more than once, and before Connect.
func (s *SMPP) Close() error {
	s.mu.Lock()
	if !s.started {
		s.started = true // a later Connect fails
		s.mu.Unlock()
		return nil
	}
	stop, done := s.stop, s.done
	s.mu.Unlock()
	if stop == nil { // closed before Connect
		return nil
	}
	stop()
	<-done
	s.workers.Wait()
	return nil
}

// supervise keeps a bind up: it waits for the current one to be lost, then
// binds again with exponential backoff, until the provider is closed. The
// backoff starts over only after a bind that lasted ReconnectMax, so an
// SMSC that accepts the bind and drops us at once is not hammered.
func (s *SMPP) supervise(l *link) {
	defer close(s.done)
	wait := s.cfg.ReconnectMin
	for {
		if l != nil {
			boundAt := time.Now()
			s.setLink(l)
			select {
			case <-l.lost:
				s.setLink(nil)
				l.closeOnce.Do(func() { _ = l.sess.Close() })
				s.pending.fail(l)
				if time.Since(boundAt) >= s.cfg.ReconnectMax {
					wait = s.cfg.ReconnectMin
				} else {
					wait = min(2*wait, s.cfg.ReconnectMax)
				}
				if s.ctx.Err() == nil {
					s.log.Warn("SMPP connection lost; reconnecting", "addr", s.cfg.Addr, "in", wait)
				}
			case <-s.ctx.Done():
				s.setLink(nil)
				l.closeOnce.Do(func() { _ = l.sess.Close() })
				s.pending.fail(l)
				return
			}
		}
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(wait):
		}
		var err error
		if l, err = s.bind(); err != nil {
			wait = min(2*wait, s.cfg.ReconnectMax)
			var be gosmpp.BindError
			if errors.As(err, &be) && bindRefusals[be.CommandStatus] {
				s.log.Error("the SMSC refused the bind: check smpp.system_id and smpp.password", "addr", s.cfg.Addr, "err", err, "retry_in", wait)
			} else {
				s.log.Warn("SMPP bind failed", "addr", s.cfg.Addr, "err", err, "retry_in", wait)
			}
			continue
		}
		s.log.Info("SMPP bound", "addr", s.cfg.Addr, "system_id", s.cfg.SystemID)
	}
}

func (s *SMPP) setLink(l *link) {
	s.mu.Lock()
	s.cur = l
	s.mu.Unlock()
}

func (s *SMPP) current() *link {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// bind opens one connection and binds as a transceiver.
func (s *SMPP) bind() (*link, error) {
	l := &link{ready: make(chan struct{}), lost: make(chan struct{})}
	var conn *watchedConn // read only after NewSession returned: same goroutine
	dialer := func(addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: s.cfg.BindTimeout}
		c, err := d.DialContext(s.ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		// Bounds the wait for bind_transceiver_resp; after the bind gosmpp
		// sets its own deadline before every read and write.
		_ = c.SetDeadline(time.Now().Add(s.cfg.BindTimeout))
		conn = &watchedConn{Conn: c, onWrite: s.pending.written, onBad: func(cmd data.CommandIDType, err error) {
			s.log.Warn("unreadable SMPP request answered and dropped", "command_id", fmt.Sprintf("0x%08X", uint32(cmd)), "err", err)
		}}
		return conn, nil
	}
	auth := gosmpp.Auth{SMSC: s.cfg.Addr, SystemID: s.cfg.SystemID, Password: s.cfg.Password, SystemType: s.cfg.SystemType}
	settings := gosmpp.Settings{
		EnquireLink:  s.cfg.EnquireLink,
		ReadTimeout:  3 * s.cfg.EnquireLink,
		WriteTimeout: s.cfg.BindTimeout,
		OnAllPDU:     func(p pdu.PDU) (pdu.PDU, bool) { return s.onPDU(l, p) },
		OnReceivingError: func(err error) {
			if s.ctx.Err() == nil {
				s.log.Warn("SMPP read failed", "addr", s.cfg.Addr, "err", err)
			}
		},
		OnSubmitError: func(p pdu.PDU, err error) {
			s.log.Warn("SMPP write failed", "addr", s.cfg.Addr, "pdu", fmt.Sprintf("%T", p), "err", err)
		},
		OnClosed: func(st gosmpp.State) {
			if st != gosmpp.ExplicitClosing {
				l.markLost()
			}
		},
	}
	// rebindingInterval 0: gosmpp's fixed-interval rebind is off; supervise
	// does it with backoff.
	sess, err := gosmpp.NewSession(gosmpp.TRXConnector(dialer, auth), settings, 0)
	if err != nil {
		close(l.ready)
		var be gosmpp.BindError
		if conn != nil && !errors.As(err, &be) {
			if st, ok := conn.bindRefusal(); ok {
				err = gosmpp.BindError{CommandStatus: st}
			}
		}
		return nil, err
	}
	l.sess = sess
	close(l.ready)
	return l, nil
}

// onPDU handles every PDU the SMSC sends; it runs on gosmpp's reader
// goroutine, so it must not block for long. The PDU it returns (if any) is
// the answer. A panic while handling one PDU is logged and, for a request,
// answered with generic_nack: it must not end the process or the bind.
func (s *SMPP) onPDU(l *link, p pdu.PDU) (resp pdu.PDU, closeBind bool) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("SMPP PDU handling panicked; answered generic_nack, bind kept", "pdu", fmt.Sprintf("%T", p), "panic", r, "stack", string(debug.Stack()))
			resp, closeBind = nil, false
			if p.CanResponse() {
				nack := pdu.NewGenericNack().(*pdu.GenericNack)
				nack.SequenceNumber = p.GetSequenceNumber()
				nack.CommandStatus = data.ESME_RSYSERR
				resp = nack
			}
		}
	}()
	switch p := p.(type) {
	case *pdu.SubmitSMResp:
		s.pending.resolve(p.SequenceNumber, p.CommandStatus, p.MessageID, s.ids)
	case *pdu.GenericNack:
		s.pending.resolve(p.SequenceNumber, p.CommandStatus, "", s.ids)
	case *pdu.DeliverSM:
		s.dispatchDeliver(l, p)
	case *pdu.EnquireLink:
		return p.GetResponse(), false
	case *pdu.Unbind:
		s.log.Info("the SMSC unbound; reconnecting", "addr", s.cfg.Addr)
		return p.GetResponse(), true
	case *pdu.EnquireLinkResp, *pdu.UnbindResp, *pdu.BindResp, *pdu.DeliverSMResp, *pdu.DataSMResp:
	default:
		if p.CanResponse() {
			s.log.Info("SMPP request not supported; answering generic_nack", "pdu", fmt.Sprintf("%T", p))
			nack := pdu.NewGenericNack().(*pdu.GenericNack)
			nack.SequenceNumber = p.GetSequenceNumber()
			nack.CommandStatus = data.ESME_RINVCMDID
			return nack, false
		}
	}
	return nil, false
}

// deliverRecovered is deliver, with a panic logged and answered
// ESME_RX_P_APPN (permanent: the same PDU would panic again) instead of
// ending the process.
func (s *SMPP) deliverRecovered(ctx context.Context, d *pdu.DeliverSM) (st data.CommandStatusType) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("SMPP deliver_sm handling panicked; answered ESME_RX_P_APPN", "panic", r, "stack", string(debug.Stack()))
			st = data.ESME_RX_P_APPN
		}
	}()
	return s.deliver(ctx, d)
}

// dispatchDeliver hands a deliver_sm to a worker, which answers it once
// Events has taken it. Waiting for a worker pauses the reader (backpressure).
func (s *SMPP) dispatchDeliver(l *link, d *pdu.DeliverSM) {
	select {
	case s.sem <- struct{}{}:
	case <-s.ctx.Done():
		return
	}
	s.workers.Add(1)
	go func() {
		defer func() { <-s.sem; s.workers.Done() }()
		ctx, cancel := context.WithTimeout(s.ctx, eventTimeout)
		status := s.deliverRecovered(ctx, d)
		cancel()
		resp := d.GetResponse()
		if h, ok := resp.(*pdu.DeliverSMResp); ok {
			h.CommandStatus = status
		}
		select {
		case <-l.ready:
		case <-s.ctx.Done():
			return
		}
		if l.sess == nil {
			return
		}
		if err := l.sess.Transceiver().Submit(resp); err != nil {
			s.log.Warn("SMPP deliver_sm_resp not sent; the SMSC will deliver again", "err", err)
		}
	}()
}
