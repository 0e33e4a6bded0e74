package smpp

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
)

// Defaults for the zero values of Config.
const (
	DefaultEnquireLink   = 30 * time.Second
	DefaultSubmitTimeout = 10 * time.Second
	DefaultReconnectMin  = time.Second
	DefaultReconnectMax  = time.Minute
	DefaultBindTimeout   = 10 * time.Second
)

// Type of number and numbering plan indicator values used for addresses
// (SMPP 3.4, addr_ton and addr_npi).
const (
	TONUnknown       uint8 = 0
	TONInternational uint8 = 1
	TONNetwork       uint8 = 3
	TONAlphanumeric  uint8 = 5
	NPIUnknown       uint8 = 0
	NPIE164          uint8 = 1
)

// Config is what the SMPP provider needs to bind and send. Addr, SystemID
// and SourceAddr are required (Password too, for most SMSCs); New fills in
// the rest.
type Config struct {
	Addr       string // host:port of the SMSC, e.g. "smsc.example:2775"
	SystemID   string // bind system_id (at most 15 characters)
	Password   string // bind password (at most 8 characters)
	SystemType string // bind system_type, usually empty
	SourceAddr string // our number, short code or alphanumeric sender id

	// Senders, when smpp.senders is configured, are its source addresses
	// in order (the first is SourceAddr): a message goes from the one its
	// Sender names, with TON and NPI derived from it as for SourceAddr.
	Senders []string

	// SourceTON and SourceNPI describe SourceAddr. Nil means derived from
	// it: letters give TON 5 (alphanumeric) / NPI 0; "+" and digits, or 9
	// or more digits, give TON 1 (international) / NPI 1 (E.164), and the
	// "+" is dropped; up to 8 digits (a short code) give TON 3 / NPI 0.
	SourceTON, SourceNPI *uint8

	// EnquireLink is how often the bind is probed (default 30s). With no
	// PDU at all from the SMSC for 3 periods the connection is dropped
	// and made again.
	EnquireLink time.Duration
	// SubmitTimeout bounds the wait for each submit_sm_resp when the
	// caller's context has no earlier deadline (default 10s).
	SubmitTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the exponential backoff between
	// bind attempts (defaults 1s and 1m).
	ReconnectMin, ReconnectMax time.Duration
	// BindTimeout bounds connecting and waiting for bind_transceiver_resp
	// (default 10s).
	BindTimeout time.Duration
}

// withDefaults returns c validated, with its zero values filled in.
func (c Config) withDefaults() (Config, error) {
	bad := func(field, format string, args ...any) (Config, error) {
		return c, smsflow.FieldErrorf(smsflow.EINVALID, "smpp."+field, format, args...)
	}
	c.Addr = strings.TrimSpace(c.Addr)
	if c.Addr == "" {
		return bad("addr", "the SMSC address is missing: set smpp.addr to host:port, e.g. smsc.example:2775")
	}
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil || host == "" {
		return bad("addr", "%q is not host:port: set smpp.addr like smsc.example:2775", c.Addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return bad("addr", "port %q in %q is not a number from 1 to 65535", port, c.Addr)
	}
	if c.SystemID == "" {
		return bad("system_id", "the bind system_id is missing: set smpp.system_id to the account name the SMSC gave you")
	}
	if len(c.SystemID) > 15 {
		return bad("system_id", "system_id is %d characters; SMPP allows at most 15", len(c.SystemID))
	}
	if len(c.Password) > 8 {
		return bad("password", "the password is %d characters; SMPP allows at most 8", len(c.Password))
	}
	if len(c.SystemType) > 12 {
		return bad("system_type", "system_type is %d characters; SMPP allows at most 12", len(c.SystemType))
	}
	if !printableASCII(c.SystemID) || !printableASCII(c.Password) || !printableASCII(c.SystemType) {
		return bad("system_id", "system_id, password and system_type must be printable ASCII")
	}
	c.SourceAddr = strings.TrimSpace(c.SourceAddr)
	if c.SourceAddr == "" {
		return bad("source_addr", "the sender is missing: set smpp.source_addr to your number, short code or sender id")
	}
	src, err := parseSource("source_addr", c.SourceAddr, c.SourceTON, c.SourceNPI)
	if err != nil {
		return c, err
	}
	for i, a := range c.Senders {
		if _, err := parseSource(fmt.Sprintf("senders[%d].source_addr", i), strings.TrimSpace(a), nil, nil); err != nil {
			return c, err
		}
	}
	c.SourceAddr, c.SourceTON, c.SourceNPI = src.addr, &src.ton, &src.npi

	for _, d := range []struct {
		field string
		v     *time.Duration
		def   time.Duration
	}{
		{"enquire_link", &c.EnquireLink, DefaultEnquireLink},
		{"submit_timeout", &c.SubmitTimeout, DefaultSubmitTimeout},
		{"reconnect_min", &c.ReconnectMin, DefaultReconnectMin},
		{"reconnect_max", &c.ReconnectMax, DefaultReconnectMax},
		{"bind_timeout", &c.BindTimeout, DefaultBindTimeout},
	} {
		if *d.v < 0 {
			return bad(d.field, "%s is negative (%s); leave it 0 for the default %s", d.field, *d.v, d.def)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if c.ReconnectMax < c.ReconnectMin {
		return bad("reconnect_max", "reconnect_max (%s) is below reconnect_min (%s)", c.ReconnectMax, c.ReconnectMin)
	}
	return c, nil
}

// source is an address to send from as submit_sm carries it.
type source struct {
	ton, npi uint8
	addr     string
}

// parseSource checks a configured source address (field names it, under
// smpp.) and derives its TON and NPI unless given.
func parseSource(field, raw string, ton, npi *uint8) (source, error) {
	t, n, addr := sourceType(raw)
	if ton != nil {
		t = *ton
	}
	if npi != nil {
		n = *npi
	}
	bad := func(format string, args ...any) (source, error) {
		return source{}, smsflow.FieldErrorf(smsflow.EINVALID, "smpp."+field, format, args...)
	}
	switch {
	case addr == "":
		return bad("smpp.%s is empty: give the number, short code or sender id to send as", field)
	case !printableASCII(addr):
		return bad("%s %q must be printable ASCII", field, raw)
	case t == TONAlphanumeric && len(addr) > 11:
		return bad("an alphanumeric sender id has at most 11 characters; %q has %d", addr, len(addr))
	case len(addr) > 20:
		return bad("%s has %d characters; SMPP allows at most 20", field, len(addr))
	}
	return source{ton: t, npi: n, addr: addr}, nil
}

// sourceType derives TON, NPI and the address to send from a configured
// source address (see Config.SourceTON).
func sourceType(s string) (ton, npi uint8, addr string) {
	digits := strings.TrimPrefix(s, "+")
	if allDigits(digits) {
		if strings.HasPrefix(s, "+") || len(digits) > 8 {
			return TONInternational, NPIE164, digits
		}
		return TONNetwork, NPIUnknown, digits
	}
	return TONAlphanumeric, NPIUnknown, s
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
