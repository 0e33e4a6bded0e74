package config

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/smsflow/smsflow"
)

// TwilioSender is one entry of twilio.senders: a sending number or sender
// id (from) or a Messaging Service (messaging_service_sid), with its pace.
type TwilioSender struct {
	From                string `yaml:"from"`
	MessagingServiceSID string `yaml:"messaging_service_sid"`
	// Rate is segments per second, minute or hour; unset, twilio.rate's
	// default (1/s, a long code's pace); "" no limit.
	Rate     *string `yaml:"rate"`
	DailyCap int     `yaml:"daily_cap"` // segments per UTC day, 0 = no cap
}

// SMPPSender is one entry of smpp.senders: a source address (number, short
// code or alphanumeric sender id) with its pace.
type SMPPSender struct {
	SourceAddr string `yaml:"source_addr"`
	Rate       string `yaml:"rate"`
	DailyCap   int    `yaml:"daily_cap"`
}

// HTTPSender is one entry of http.senders: the from address the gateway is
// given with each message, with its pace.
type HTTPSender struct {
	From     string `yaml:"from"`
	Rate     string `yaml:"rate"`
	DailyCap int    `yaml:"daily_cap"`
}

// ConsoleSender is one entry of console.senders.
type ConsoleSender struct {
	From     string `yaml:"from"`
	Rate     string `yaml:"rate"`
	DailyCap int    `yaml:"daily_cap"`
}

// Sender is one configured sender of a provider: the address its messages
// go out from and its pace.
type Sender struct {
	// Key is where it is configured, for messages: "twilio.senders[1]",
	// or "twilio" for the section's single-sender keys.
	Key string
	// Address is its from, messaging_service_sid or source_addr,
	// normalized (NormalizeSender); "" when the section names none (http
	// and console without senders).
	Address string
	// Pacing is its rate and daily cap, keyed "provider:address".
	Pacing Pacing
}

// Senders are the configured provider's senders, the first the default: a
// send step's from: names one by its address; a message without one goes
// from the default.
type Senders struct {
	Provider string
	List     []Sender
	// Open accepts any from: (console without console.senders: flows
	// written for a real account run in development); its messages go from
	// the one sender.
	Open bool
}

// Senders returns the configured provider's senders (the section's senders
// list, or its single-sender keys as a one-sender list), with an error
// naming the key when one is wrong.
func (c Config) Senders() (Senders, error) {
	name := strings.TrimSpace(c.Provider)
	if name == "" || !senderSection(name) {
		name = "console"
	}
	list, err := c.sendersOf(name)
	if err != nil {
		return Senders{}, err
	}
	return Senders{Provider: name, List: list, Open: name == "console" && len(c.Console.Senders) == 0}, nil
}

// Default is the default sender (the first).
func (s Senders) Default() Sender { return s.List[0] }

// Others are the addresses of the senders other than the default: the
// messages queued for them keep their sender; any other goes from the
// default (store DB.RepointQueued).
func (s Senders) Others() []string {
	var out []string
	for _, x := range s.List[1:] {
		out = append(out, x.Address)
	}
	return out
}

// Resolve maps a send step's from: to the sender its message is queued for:
// "" for the default sender (no from:, or one naming the default, or any
// from: when Open), the address for another configured sender. ok is false
// when from names no configured sender.
func (s Senders) Resolve(from string) (address string, ok bool) {
	from = NormalizeSender(from)
	if from == "" {
		return "", true
	}
	for i, x := range s.List {
		if x.Address == from {
			if i == 0 {
				return "", true
			}
			return x.Address, true
		}
	}
	return "", s.Open
}

// Check is the flow validator's check of a send step's from: (flow
// Options.CheckFrom): "" when it names a configured sender, else why not,
// with the senders configured.
func (s Senders) Check(from string) string {
	if _, ok := s.Resolve(from); ok {
		return ""
	}
	return fmt.Sprintf("from %q is not one of the configured %s senders (%s); add it to %s.senders, or name one of them", from, s.Provider, s.names(), s.Provider)
}

// names lists the senders for people: "+15005550006 (default), MG…".
func (s Senders) names() string {
	var out []string
	for i, x := range s.List {
		a := x.Address
		if a == "" {
			a = "the " + s.Provider + " provider's own"
		}
		if i == 0 {
			a += " (default)"
		}
		out = append(out, a)
	}
	return strings.Join(out, ", ")
}

// NormalizeSender is how a sender's address is compared: trimmed, and a
// number written with a "+" in any common format ("+1 (415) 555-0100")
// reduced to E.164 ("+14155550100"). Short codes, alphanumeric ids and
// Messaging Service SIDs are kept as written.
func NormalizeSender(s string) string {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "+") {
		return s
	}
	var b strings.Builder
	b.WriteByte('+')
	for _, r := range s[1:] {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/' || r == '\u00a0':
		default:
			return s // not a written number: kept
		}
	}
	if b.Len() < 2 {
		return s
	}
	return b.String()
}

// senderSection reports whether name is a provider section with senders.
func senderSection(name string) bool {
	switch name {
	case "console", "twilio", "smpp", "http":
		return true
	}
	return false
}

var serviceSIDShape = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)

// sendersOf reads one provider section's senders: the senders list, or the
// single-sender keys as a one-sender list (setting both is an error).
func (c Config) sendersOf(name string) ([]Sender, error) {
	type entry struct {
		key, addrKey, addr string
		rate               string
		daily              int
		service            bool // a Twilio Messaging Service
	}
	var (
		list   []entry
		single entry
		legacy []string // the single-sender keys set
	)
	def := Default()
	given := func(key string, set bool) {
		if set || c.written(name+"."+key) {
			legacy = append(legacy, c.named(name+"."+key))
		}
	}
	switch name {
	case "twilio":
		t := c.Twilio
		for i, x := range t.Senders {
			e := entry{key: fmt.Sprintf("twilio.senders[%d]", i), addrKey: "from", addr: x.From, rate: def.Twilio.Rate, daily: x.DailyCap}
			if x.Rate != nil {
				e.rate = *x.Rate
			}
			switch from, sid := strings.TrimSpace(x.From), strings.TrimSpace(x.MessagingServiceSID); {
			case from == "" && sid == "":
				return nil, smsflow.FieldErrorf(smsflow.EINVALID, e.key, "%s has neither from nor messaging_service_sid: give the number (from: \"+15005550006\") or the Messaging Service (messaging_service_sid: MG…) it sends as", e.key)
			case from != "" && sid != "":
				return nil, smsflow.FieldErrorf(smsflow.EINVALID, e.key, "%s has both from and messaging_service_sid: Twilio refuses a message with both; make them two senders", e.key)
			case sid != "":
				e.addrKey, e.addr, e.service = "messaging_service_sid", sid, true
			}
			list = append(list, e)
		}
		given("from", strings.TrimSpace(t.From) != "")
		given("messaging_service_sid", strings.TrimSpace(t.MessagingServiceSID) != "")
		given("rate", t.Rate != def.Twilio.Rate)
		given("daily_cap", t.DailyCap != 0)
		single = entry{key: "twilio", addrKey: "from", addr: t.From, rate: t.Rate, daily: t.DailyCap}
		if strings.TrimSpace(t.From) == "" && strings.TrimSpace(t.MessagingServiceSID) != "" {
			single.addrKey, single.addr, single.service = "messaging_service_sid", t.MessagingServiceSID, true
		}
	case "smpp":
		for i, x := range c.SMPP.Senders {
			list = append(list, entry{key: fmt.Sprintf("smpp.senders[%d]", i), addrKey: "source_addr", addr: x.SourceAddr, rate: x.Rate, daily: x.DailyCap})
		}
		given("source_addr", strings.TrimSpace(c.SMPP.SourceAddr) != "")
		given("rate", c.SMPP.Rate != "")
		given("daily_cap", c.SMPP.DailyCap != 0)
		single = entry{key: "smpp", addrKey: "source_addr", addr: c.SMPP.SourceAddr, rate: c.SMPP.Rate, daily: c.SMPP.DailyCap}
	case "http":
		for i, x := range c.HTTP.Senders {
			list = append(list, entry{key: fmt.Sprintf("http.senders[%d]", i), addrKey: "from", addr: x.From, rate: x.Rate, daily: x.DailyCap})
		}
		given("rate", c.HTTP.Rate != "")
		given("daily_cap", c.HTTP.DailyCap != 0)
		single = entry{key: "http", rate: c.HTTP.Rate, daily: c.HTTP.DailyCap}
	case "console":
		for i, x := range c.Console.Senders {
			list = append(list, entry{key: fmt.Sprintf("console.senders[%d]", i), addrKey: "from", addr: x.From, rate: x.Rate, daily: x.DailyCap})
		}
		given("rate", c.Console.Rate != "")
		given("daily_cap", c.Console.DailyCap != 0)
		single = entry{key: "console", rate: c.Console.Rate, daily: c.Console.DailyCap}
	}
	if len(list) > 0 && len(legacy) > 0 {
		return nil, smsflow.FieldErrorf(smsflow.EINVALID, name+".senders", "%s.senders and %s are both set: with a senders list, give each sender its own address, rate and daily_cap inside it (the first is the default) and remove %s",
			name, strings.Join(legacy, ", "), strings.Join(legacy, ", "))
	}
	if len(list) == 0 {
		list = []entry{single}
	}
	out := make([]Sender, 0, len(list))
	seen := map[string]string{}
	for _, e := range list {
		addr := NormalizeSender(e.addr)
		if e.key != name && addr == "" {
			return nil, smsflow.FieldErrorf(smsflow.EINVALID, e.key+"."+e.addrKey, "%s.%s is empty: each sender of a list names the address it sends as", e.key, e.addrKey)
		}
		if e.service && !serviceSIDShape.MatchString(addr) {
			return nil, smsflow.FieldErrorf(smsflow.EINVALID, e.key+".messaging_service_sid", "%s.messaging_service_sid must be \"MG\" followed by 32 hex digits", e.key)
		}
		if name == "twilio" && !e.service && serviceSIDShape.MatchString(addr) {
			return nil, smsflow.FieldErrorf(smsflow.EINVALID, e.key+".from", "%s.from %q is a Messaging Service SID: write it as messaging_service_sid", e.key, addr)
		}
		if prev, dup := seen[addr]; dup {
			return nil, smsflow.FieldErrorf(smsflow.EINVALID, e.key+"."+e.addrKey, "%s.%s %q is also %s: each sender once", e.key, e.addrKey, addr, prev)
		}
		seen[addr] = e.key
		p, err := pacingSection{key: e.key, provider: name, from: addr, rate: e.rate, daily: e.daily}.pacing()
		if err != nil {
			return nil, err
		}
		out = append(out, Sender{Key: e.key, Address: addr, Pacing: p})
	}
	return out, nil
}
