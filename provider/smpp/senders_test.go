package smpp

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/provider"
)

// TestSendFromEachSender: with smpp.senders, each message goes with the
// source address its Sender names (TON and NPI derived from it), the
// default's without one; a sender not configured is refused for good.
func TestSendFromEachSender(t *testing.T) {
	srv := startSMSC(t, 0)
	p := connect(t, srv.Port, newRecorder(), func(c *Config) { c.Senders = []string{"12345", "+14155550199", "GLOW"} })
	for i, tt := range []struct {
		sender, to, addr string
		ton, npi         uint8
	}{
		{"", "+15550000011", "12345", TONNetwork, NPIUnknown},
		{"12345", "+15550000012", "12345", TONNetwork, NPIUnknown},
		{"+14155550199", "+15550000013", "14155550199", TONInternational, NPIE164},
		{"GLOW", "+15550000014", "GLOW", TONAlphanumeric, NPIUnknown},
	} {
		if _, err := p.Send(context.Background(), &smsflow.Message{ID: int64(100 + i), Phone: tt.to, Body: "hi", Sender: tt.sender}); err != nil {
			t.Fatalf("send from %q: %v", tt.sender, err)
		}
		e := srv.waitFor("submit_sm", submitsTo(strings.TrimPrefix(tt.to, "+")), 1)[0]
		if e.SourceAddr != tt.addr || e.SourceTON != int(tt.ton) || e.SourceNPI != int(tt.npi) {
			t.Errorf("from %q: source %q TON %d NPI %d; want %q %d/%d", tt.sender, e.SourceAddr, e.SourceTON, e.SourceNPI, tt.addr, tt.ton, tt.npi)
		}
	}
	_, err := p.Send(context.Background(), &smsflow.Message{ID: 200, Phone: "+15550000015", Body: "hi", Sender: "54321"})
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Kind != provider.Permanent || !strings.Contains(pe.Message, "54321") {
		t.Errorf("send from a sender not configured: %v", err)
	}
}

func TestSendersChecked(t *testing.T) {
	base := Config{Addr: "127.0.0.1:2775", SystemID: "x", SourceAddr: "12345"}
	for _, tt := range []struct {
		senders []string
		field   string
	}{
		{[]string{"12345", "TOOLONGSENDERID"}, "smpp.senders[1].source_addr"},
		{[]string{"12345", ""}, "smpp.senders[1].source_addr"},
		{[]string{"12345", "caf\u00e9"}, "smpp.senders[1].source_addr"},
	} {
		c := base
		c.Senders = tt.senders
		_, err := New(c, nil)
		if err == nil || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("senders %q: %v; want an error naming %s", tt.senders, err, tt.field)
		}
	}
}
