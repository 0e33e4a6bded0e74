package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/store/storetest"
)

// smscPeer is testdata/smppserver/server.js (the npm package smpp, not our
// code) run for one test: it prints one JSON object per thing that happened
// and takes commands on stdin.
type smscPeer struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	port   int
	mu     sync.Mutex
	events []map[string]any
	notify chan struct{}
	exited chan struct{}
}

func startSMSCPeer(t *testing.T, args ...string) *smscPeer {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found: install Node.js to run the SMPP wiring test")
	}
	dir := filepath.Join("..", "..", "testdata", "smppserver")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "smpp")); err != nil {
		t.Skip("testdata/smppserver/node_modules missing: run `npm ci --prefix testdata/smppserver`")
	}
	p := &smscPeer{t: t, notify: make(chan struct{}), exited: make(chan struct{})}
	p.cmd = exec.Command(node, append([]string{filepath.Join(dir, "server.js"), "--port", "0", "--system-id", "smsflow", "--password", "secret"}, args...)...)
	p.cmd.Stderr = os.Stderr
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.exited)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var e map[string]any
			if json.Unmarshal(sc.Bytes(), &e) != nil {
				continue
			}
			p.mu.Lock()
			p.events = append(p.events, e)
			close(p.notify)
			p.notify = make(chan struct{})
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		p.stdin.Close()
		p.cmd.Process.Kill()
		<-p.exited
		p.cmd.Wait()
	})
	p.port = int(p.waitFor("listening", func(e map[string]any) bool { return e["event"] == "listening" }, 1)[0]["port"].(float64))
	return p
}

// waitFor waits until n events match and returns the matching ones.
func (p *smscPeer) waitFor(what string, match func(map[string]any) bool, n int) []map[string]any {
	p.t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		ch := p.notify
		var got []map[string]any
		for _, e := range p.events {
			if match(e) {
				got = append(got, e)
			}
		}
		p.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-ch:
		case <-p.exited:
			p.t.Fatalf("server.js exited waiting for %s", what)
		case <-deadline.C:
			p.t.Fatalf("no %d× %s from server.js", n, what)
		}
	}
}

func (p *smscPeer) send(cmd map[string]any) {
	p.t.Helper()
	b, _ := json.Marshal(cmd)
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		p.t.Fatal(err)
	}
}

func TestSMPPProviderEndToEnd(t *testing.T) {
	for kind, dsn := range storetest.DSNs(t) {
		t.Run(kind, func(t *testing.T) {
			const ana, bob = "+14155550100", "+14155550101"
			smsc := startSMSCPeer(t, "--throttle", "14155550101")
			cfg := config.Default()
			cfg.Provider = "smpp"
			cfg.SMPP = config.SMPP{Addr: fmt.Sprintf("127.0.0.1:%d", smsc.port), SystemID: "smsflow", Password: "secret", SourceAddr: "12345"}
			w := startProviderWorld(t, dsn, cfg)
			smsc.waitFor("bind", func(e map[string]any) bool { return e["event"] == "bind" && e["ok"] == true }, 1)
			if len(w.app.webhooks) != 0 {
				t.Errorf("webhooks for smpp: %v", w.app.webhooks)
			}

			// submit_sm, then the SMSC's receipt (decimal id, as 3.3 SMSCs
			// write it; usually before the sender has recorded the hex id)
			// marks the message delivered, and the waiting run goes on.
			w.order("ana", ana, "3001")
			sent := w.outcome("ana", "thanks", smsflow.MessageSent)
			sub := smsc.waitFor("submit_sm to ana", func(e map[string]any) bool {
				return e["event"] == "submit_sm" && e["destination_addr"] == "14155550100"
			}, 1)
			if sub[0]["text"] != "Thanks for your order 3001!" || sub[0]["registered_delivery"] != 1.0 {
				t.Errorf("submit_sm %v", sub[0])
			}
			w.outcome("ana", "arrived", smsflow.MessageSent)
			if m := w.message("ana", sent.ID); m["status"] != smsflow.MessageDelivered {
				t.Errorf("thanks after the receipt: %v", m)
			}

			// ESME_RTHROTTLED every time: retried up to the limit, then failed.
			w.order("bob", bob, "3002")
			failed := w.outcome("bob", "thanks", smsflow.MessageFailed)
			if m := w.message("bob", failed.ID); m["error_code"] != "0x58" {
				t.Errorf("bob's message: %v", m)
			}
			if n := len(smsc.waitFor("submit_sm to bob", func(e map[string]any) bool {
				return e["event"] == "submit_sm" && e["destination_addr"] == "14155550101"
			}, 3)); n != 3 {
				t.Errorf("%d submit_sm to bob, want 3 (the attempt limit)", n)
			}

			// deliver_sm MO: STOP goes through keyword handling (smsflow
			// confirms: SMPP has no opt-out handling of its own).
			smsc.send(map[string]any{"cmd": "mo", "from": "14155550100", "to": "12345", "text": "STOP"})
			smsc.waitFor("the MO acknowledged", func(e map[string]any) bool {
				return e["event"] == "deliver_sm_resp" && e["kind"] == "mo" && e["command_status"] == 0.0
			}, 1)
			if got := w.consent("ana"); !slices.Equal(got, []string{"unsubscribed/keyword"}) {
				t.Errorf("ana's ledger after STOP: %v", got)
			}
			w.outcome("ana", "keyword:stop", smsflow.MessageSent)

			// Shutdown unbinds.
			w.app.Stop()
			smsc.waitFor("unbind", func(e map[string]any) bool { return e["event"] == "unbind" }, 1)
		})
	}
}
