package smpp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/smsflow/smsflow/provider"
)

// The tests talk to a real SMPP server that is not our code: the npm package
// smpp, run by testdata/smppserver/server.js. Install it with
//
//	npm ci --prefix testdata/smppserver
//
// from the repository root.

const (
	testSystemID = "smsflow"
	testPassword = "secret"
	waitLimit    = 10 * time.Second
)

// smscEvent is one JSON line the server printed.
type smscEvent struct {
	Event              string   `json:"event"`
	Port               int      `json:"port"`
	OK                 bool     `json:"ok"`
	SequenceNumber     int      `json:"sequence_number"`
	SourceAddr         string   `json:"source_addr"`
	SourceTON          int      `json:"source_addr_ton"`
	SourceNPI          int      `json:"source_addr_npi"`
	DestinationAddr    string   `json:"destination_addr"`
	DestTON            int      `json:"dest_addr_ton"`
	DestNPI            int      `json:"dest_addr_npi"`
	EsmClass           int      `json:"esm_class"`
	DataCoding         int      `json:"data_coding"`
	RegisteredDelivery int      `json:"registered_delivery"`
	UDH                []string `json:"udh"`
	Text               *string  `json:"text"`
	MessageHex         string   `json:"message_hex"`
	MessageID          string   `json:"message_id"`
	ReceiptID          string   `json:"receipt_id"`
	CommandStatus      *int     `json:"command_status"`
	Kind               string   `json:"kind"`
	Attempt            int      `json:"attempt"`
	Sessions           int      `json:"sessions"`
}

// smsc is a running server.js.
type smsc struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	Port  int

	mu     sync.Mutex
	events []smscEvent
	notify chan struct{} // closed and replaced on every event
	exited chan struct{}
}

// serverDir is testdata/smppserver at the repository root.
func serverDir() string { return filepath.Join("..", "..", "testdata", "smppserver") }

// startSMSC starts server.js on port (0: any) with extra arguments, and
// stops it when the test ends. It skips the test when Node.js or the npm
// package is not installed.
func startSMSC(t *testing.T, port int, args ...string) *smsc {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found: install Node.js to run the SMPP tests")
	}
	if _, err := os.Stat(filepath.Join(serverDir(), "node_modules", "smpp")); err != nil {
		t.Skip("testdata/smppserver/node_modules missing: run `npm ci --prefix testdata/smppserver` to run the SMPP tests")
	}
	argv := append([]string{filepath.Join(serverDir(), "server.js"), "--port", fmt.Sprint(port),
		"--system-id", testSystemID, "--password", testPassword}, args...)
	cmd := exec.Command(node, argv...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", node, err)
	}
	s := &smsc{t: t, cmd: cmd, stdin: stdin, notify: make(chan struct{}), exited: make(chan struct{})}
	go s.read(stdout)
	t.Cleanup(s.stop)
	ev := s.waitFor("listening", func(e smscEvent) bool { return e.Event == "listening" }, 1)
	s.Port = ev[0].Port
	return s
}

func (s *smsc) read(r io.Reader) {
	defer close(s.exited)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e smscEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			s.t.Errorf("server.js printed a line that is not JSON: %q", sc.Text())
			continue
		}
		s.mu.Lock()
		s.events = append(s.events, e)
		close(s.notify)
		s.notify = make(chan struct{})
		s.mu.Unlock()
	}
}

// stop kills the server and waits for it to exit.
func (s *smsc) stop() {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	_ = s.cmd.Wait()
}

// send writes a command line to the server.
func (s *smsc) send(cmd map[string]any) {
	s.t.Helper()
	b, err := json.Marshal(cmd)
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.stdin.Write(append(b, '\n')); err != nil {
		s.t.Fatalf("write to server.js: %v", err)
	}
}

// matching returns the events so far that match.
func (s *smsc) matching(match func(smscEvent) bool) []smscEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []smscEvent
	for _, e := range s.events {
		if match(e) {
			out = append(out, e)
		}
	}
	return out
}

// waitFor waits until at least n events match and returns them all.
func (s *smsc) waitFor(what string, match func(smscEvent) bool, n int) []smscEvent {
	s.t.Helper()
	deadline := time.After(waitLimit)
	for {
		s.mu.Lock()
		ch := s.notify
		s.mu.Unlock()
		if got := s.matching(match); len(got) >= n {
			return got
		}
		select {
		case <-ch:
		case <-s.exited:
			if got := s.matching(match); len(got) >= n {
				return got
			}
			s.t.Fatalf("server.js exited while waiting for %d× %s", n, what)
		case <-deadline:
			s.t.Fatalf("waited %s for %d× %s; got %d", waitLimit, n, what, len(s.matching(match)))
		}
	}
}

// submitsTo matches the submit_sm events for one destination.
func submitsTo(dest string) func(smscEvent) bool {
	return func(e smscEvent) bool { return e.Event == "submit_sm" && e.DestinationAddr == dest }
}

// recorder is a provider.Events that keeps what it is given. failNext
// makes that many next calls return an error.
type recorder struct {
	mu       sync.Mutex
	receipts []provider.Receipt
	inbound  []provider.Inbound
	failNext int
	notify   chan struct{}
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{})} }

func (r *recorder) take() error {
	if r.failNext > 0 {
		r.failNext--
		return errors.New("database is down")
	}
	return nil
}

func (r *recorder) changed() {
	close(r.notify)
	r.notify = make(chan struct{})
}

func (r *recorder) Receipt(_ context.Context, rc provider.Receipt) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.take(); err != nil {
		return err
	}
	r.receipts = append(r.receipts, rc)
	r.changed()
	return nil
}

func (r *recorder) Inbound(_ context.Context, m provider.Inbound) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.take(); err != nil {
		return err
	}
	r.inbound = append(r.inbound, m)
	r.changed()
	return nil
}

func (r *recorder) setFailNext(n int) {
	r.mu.Lock()
	r.failNext = n
	r.mu.Unlock()
}

// waitReceipt waits for a receipt with the provider id.
func (r *recorder) waitReceipt(t *testing.T, id string) provider.Receipt {
	t.Helper()
	var got provider.Receipt
	r.wait(t, "receipt for "+id, func() bool {
		for _, rc := range r.receipts {
			if rc.ProviderID == id {
				got = rc
				return true
			}
		}
		return false
	})
	return got
}

// receiptsFor returns the receipts so far with the provider id.
func (r *recorder) receiptsFor(id string) []provider.Receipt {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []provider.Receipt
	for _, rc := range r.receipts {
		if rc.ProviderID == id {
			out = append(out, rc)
		}
	}
	return out
}

// waitInbound waits for an inbound message from a number.
func (r *recorder) waitInbound(t *testing.T, from string) provider.Inbound {
	t.Helper()
	var got provider.Inbound
	r.wait(t, "inbound from "+from, func() bool {
		for _, m := range r.inbound {
			if m.From == from {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

// wait waits until cond (called with r.mu held) is true.
func (r *recorder) wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		r.mu.Lock()
		ok, ch := cond(), r.notify
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("waited %s for %s", waitLimit, what)
		}
	}
}
