package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/smsflow/smsflow"
)

// Policy is the configured governance (docs/governance.md): quiet hours, frequency
// caps, smart sending and deferral limits. The zero value is not useful:
// start from Default.
type Policy struct {
	Quiet        QuietHours
	Caps         []Cap
	OnCap        string        // OnCapSkip (default) or OnCapDefer
	SmartSending time.Duration // 0: off
	MaxDeferral  time.Duration // a deferred send older than this is skipped:expired
	// ServicePerNumber bounds the service messages flows may send one
	// number (limits.service_per_number): whatever starts them, and
	// whoever sends the events, one number gets at most Max per Per.
	ServicePerNumber ServiceLimit
}

// ServiceLimit is at most Max service messages from flows per rolling
// window Per; Max 0 turns it off. Automatic keyword replies (STOP, HELP …
// confirmations, flow "") are not counted: they have their own per-number
// limit and a STOP confirmation must always be possible.
type ServiceLimit struct {
	Max int
	Per time.Duration
}

// DefaultServicePerNumber is limits.service_per_number when not configured:
// far above what a real order causes (confirmation, shipped, out for
// delivery, delivered), far below a flood.
var DefaultServicePerNumber = ServiceLimit{Max: 10, Per: 24 * time.Hour}

// What on_cap may say.
const (
	OnCapSkip  = "skip"
	OnCapDefer = "defer"
)

// Cap is one named frequency cap: at most Max messages of Categories per
// rolling window Per. Caps count messages queued, sending, sent (delivered)
// or unknown — never segments, never failed or canceled ones.
type Cap struct {
	Name       string
	Max        int
	Per        time.Duration
	Categories []string
}

// StateMarketingCap is the statutory limit some states put on marketing
// texts (FL, OK and MD allow at most 3 per 24 h), applied
// when quiet_hours.state_rules is on.
var StateMarketingCap = struct {
	States []string
	Max    int
	Per    time.Duration
}{States: []string{"FL", "OK", "MD"}, Max: 3, Per: 24 * time.Hour}

// Default is the policy with nothing configured: the federal quiet-hours
// window with state rules, no caps, no smart sending, 24 h max deferral.
func Default() Policy {
	return Policy{Quiet: DefaultQuietHours(), OnCap: OnCapSkip, MaxDeferral: 24 * time.Hour, ServicePerNumber: DefaultServicePerNumber}
}

// Validate reports the first configuration mistake naming its field.
func (p Policy) Validate() error {
	if err := p.Quiet.Validate(); err != nil {
		return err
	}
	names := map[string]bool{}
	for i, c := range p.Caps {
		field := fmt.Sprintf("caps[%d]", i)
		switch {
		case c.Name == "":
			return smsflow.FieldErrorf(smsflow.EINVALID, field+".name", "every cap needs a name (it appears in skipped:cap(rule=NAME))")
		case names[c.Name]:
			return smsflow.FieldErrorf(smsflow.EINVALID, field+".name", "two caps are named %q; give each its own name", c.Name)
		case c.Max < 1:
			return smsflow.FieldErrorf(smsflow.EINVALID, field+".max", "cap %q: max must be at least 1", c.Name)
		case c.Per <= 0:
			return smsflow.FieldErrorf(smsflow.EINVALID, field+".per", "cap %q: per must be a positive duration like 24h or 7d", c.Name)
		case len(c.Categories) == 0:
			return smsflow.FieldErrorf(smsflow.EINVALID, field+".categories", "cap %q: list the categories it counts, e.g. [promo]", c.Name)
		}
		for _, cat := range c.Categories {
			if !slices.Contains(categories, cat) {
				return smsflow.FieldErrorf(smsflow.EINVALID, field+".categories", "cap %q: %q is not a category; use %s", c.Name, cat, strings.Join(categories, ", "))
			}
		}
		names[c.Name] = true
	}
	if p.OnCap != OnCapSkip && p.OnCap != OnCapDefer {
		return smsflow.FieldErrorf(smsflow.EINVALID, "on_cap", "on_cap is %q; use skip or defer", p.OnCap)
	}
	if p.SmartSending < 0 {
		return smsflow.FieldErrorf(smsflow.EINVALID, "smart_sending", "smart_sending must be 0 (off) or a positive number of hours")
	}
	if p.MaxDeferral <= 0 {
		return smsflow.FieldErrorf(smsflow.EINVALID, "max_deferral", "max_deferral must be a positive duration like 24h")
	}
	switch sl := p.ServicePerNumber; {
	case sl.Max < 0:
		return smsflow.FieldErrorf(smsflow.EINVALID, "limits.service_per_number.max", "limits.service_per_number.max must be 0 (off) or a positive number of messages")
	case sl.Max > 0 && sl.Per <= 0:
		return smsflow.FieldErrorf(smsflow.EINVALID, "limits.service_per_number.per", "limits.service_per_number.per must be a positive duration like 24h")
	}
	return nil
}

// Lookback is how far back Recent must reach for Decide to see every
// message a cap, the state limit or smart sending counts.
func (p Policy) Lookback() time.Duration {
	d := max(p.SmartSending, StateMarketingCap.Per)
	if p.ServicePerNumber.Max > 0 {
		d = max(d, p.ServicePerNumber.Per)
	}
	for _, c := range p.Caps {
		d = max(d, c.Per)
	}
	return d
}

// Recent is one earlier outbound message of the contact that counts
// toward caps (queued, sending, sent, delivered or unknown).
type Recent struct {
	At       time.Time
	Category string
	FlowID   string
}

// Send is what the policy check knows about one send a run wants to make.
type Send struct {
	Now       time.Time
	Category  string                // the flow's category: service, lifecycle, behavior, promo
	FlowID    string                // the flow making the send
	Phone     string                // E.164, "" when the contact has none
	PhoneType string                // libphonenumber's type; fixed_line cannot receive SMS
	Consent   smsflow.ConsentStatus // derived from the ledger
	Holdout   bool                  // the run is in the flow's control group
	// TemplateError is the reason rendering failed ("" when it rendered).
	TemplateError string
	// Zones are the recipient's time zones: its explicit zone alone when it
	// has one, else every zone its number may be in.
	Zones []string
	State string // US state of the number's area code, "" when none
	// Recent are the contact's counted outbound messages within Lookback,
	// including those queued earlier in this same instant.
	Recent []Recent
	// DeferredSince is when this send was first deferred (zero: never).
	DeferredSince time.Time
	// UntrustedSource: an event from the public write key started or
	// resumed the run, and the number is not verified
	// (smsflow.Contact.Verified). Service sends are then refused;
	// marketing ones already need a subscribed number.
	UntrustedSource bool
	// UntrustedLink is the host of a link the message would carry that
	// came from a public value and is not allowed ("" when none).
	UntrustedLink string
}

// Outcome is the policy's answer for one send.
type Outcome struct {
	// Reason is the Decision string (smsflow.Decision*), as stored and shown.
	Reason string
	// Until is when a deferred send is tried again (zero otherwise).
	Until time.Time
	// SendBefore is the instant after which a queued message must not go
	// out (the end of the recipient's allowed window); zero when the send
	// is exempt from quiet hours.
	SendBefore time.Time
}

// Sent reports whether the outcome lets the message be queued.
func (o Outcome) Sent() bool { return o.Reason == smsflow.DecisionSent }

// Deferred reports whether the send waits until Until.
func (o Outcome) Deferred() bool { return !o.Until.IsZero() }

// Marketing reports whether a category needs a subscribed number (every
// category but service).
func Marketing(category string) bool { return category != "service" }

// Decide is the one policy check every send goes through: a pure function
// of the facts and the clock, in a fixed order — number, consent,
// source, holdout, template, links, deferral age, quiet hours, smart
// sending, caps and the service limit.
func (p Policy) Decide(s Send) Outcome {
	skip := func(reason string) Outcome { return Outcome{Reason: reason} }
	switch {
	case s.Phone == "" || s.PhoneType == "fixed_line" || s.PhoneType == "invalid": // invalid: a provider refused the number
		return skip(smsflow.DecisionInvalidNumber)
	case s.Consent == smsflow.ConsentUnsubscribed:
		return skip(smsflow.DecisionNoConsent)
	case Marketing(s.Category) && s.Consent != smsflow.ConsentSubscribed:
		return skip(smsflow.DecisionNoConsent)
	case s.UntrustedSource:
		return skip(smsflow.DecisionUntrustedSource)
	case s.Holdout:
		return skip(smsflow.DecisionHoldout)
	case s.TemplateError != "":
		return skip(smsflow.DecisionTemplatePrefix + "(" + s.TemplateError + ")")
	case s.UntrustedLink != "":
		return skip(smsflow.DecisionUntrustedLink)
	case !s.DeferredSince.IsZero() && s.Now.Sub(s.DeferredSince) > p.MaxDeferral:
		return skip(smsflow.DecisionExpired)
	}
	allowed, next := p.Quiet.Check(s.Now, s.Zones, s.State, s.Category)
	if !allowed {
		if next.IsZero() || p.Quiet.OnQuiet == OnQuietSkip {
			return skip(smsflow.DecisionQuietHours)
		}
		return Outcome{Reason: fmt.Sprintf("%s(until=%s)", smsflow.DecisionDeferredQuiet, next.UTC().Format(time.RFC3339)), Until: next}
	}
	if o, blocked := p.frequency(s); blocked {
		return o
	}
	out := Outcome{Reason: smsflow.DecisionSent}
	if !slices.Contains(p.Quiet.Exempt, s.Category) {
		out.SendBefore = p.Quiet.AllowedUntil(s.Now, s.Zones, s.State)
	}
	return out
}

// frequency applies smart sending, the state marketing limit and the named
// caps. A refusal caused only by a message queued in this same instant by
// another flow is a collision: that flow won by priority.
func (p Policy) frequency(s Send) (Outcome, bool) {
	marketing := Marketing(s.Category)
	if p.SmartSending > 0 && marketing {
		if o, blocked := p.limit(s, "", 1, p.SmartSending, nil, smsflow.DecisionSmartSending, false); blocked {
			return o, true
		}
	}
	if p.Quiet.StateRules && marketing && slices.Contains(StateMarketingCap.States, s.State) {
		reason := smsflow.DecisionCapPrefix + "(rule=state:" + s.State + ")"
		if o, blocked := p.limit(s, "state:"+s.State, StateMarketingCap.Max, StateMarketingCap.Per, []string{"lifecycle", "behavior", "promo"}, reason, true); blocked {
			return o, true
		}
	}
	for _, c := range p.Caps {
		if !slices.Contains(c.Categories, s.Category) {
			continue
		}
		reason := smsflow.DecisionCapPrefix + "(rule=" + c.Name + ")"
		if o, blocked := p.limit(s, c.Name, c.Max, c.Per, c.Categories, reason, true); blocked {
			return o, true
		}
	}
	if sl := p.ServicePerNumber; sl.Max > 0 && !marketing {
		since, n := s.Now.Add(-sl.Per), 0
		for _, r := range s.Recent {
			if r.Category == s.Category && r.FlowID != "" && r.At.After(since) && !r.At.After(s.Now) {
				n++
			}
		}
		if n >= sl.Max {
			return Outcome{Reason: smsflow.DecisionServiceLimit}, true
		}
	}
	return Outcome{}, false
}

// limit tests one rolling window: at most max counted messages (of cats;
// nil = any) in (now-per, now]. deferrable says whether on_cap: defer may
// postpone instead of skipping.
func (p Policy) limit(s Send, _ string, limit int, per time.Duration, cats []string, reason string, deferrable bool) (Outcome, bool) {
	since := s.Now.Add(-per)
	var counted []Recent
	for _, r := range s.Recent {
		if cats == nil && r.FlowID == s.FlowID && r.At.Equal(s.Now) {
			continue // smart sending: the same flow's message of this instant (two send steps in a row) is one conversation
		}
		if r.At.After(since) && !r.At.After(s.Now) && (cats == nil || slices.Contains(cats, r.Category)) {
			counted = append(counted, r)
		}
	}
	if len(counted) < limit {
		return Outcome{}, false
	}
	slices.SortFunc(counted, func(a, b Recent) int { return a.At.Compare(b.At) })
	// The window frees a place when its oldest messages age out.
	until := counted[len(counted)-limit].At.Add(per)
	if deferrable && p.OnCap == OnCapDefer {
		return Outcome{Reason: fmt.Sprintf("%s(until=%s)", smsflow.DecisionDeferredCap, until.UTC().Format(time.RFC3339)), Until: until}, true
	}
	// Same-instant messages of other flows decided first: a collision — but
	// only when the window had room without them; a window already full
	// before this instant is simply the cap.
	winner, contested := "", 0
	for _, r := range counted {
		if r.At.Equal(s.Now) && r.FlowID != s.FlowID && r.FlowID != "" {
			if winner == "" {
				winner = r.FlowID
			}
			contested++
		}
	}
	if winner != "" && len(counted)-contested < limit {
		return Outcome{Reason: smsflow.DecisionCollisionPrefix + "(flow=" + winner + ")"}, true
	}
	return Outcome{Reason: reason}, true
}

// CanEnter reports whether a contact's consent lets it enter a flow of the
// category (the "consent class" entry check): marketing needs subscribed,
// service a number that is not unsubscribed.
func CanEnter(category string, consent smsflow.ConsentStatus) bool {
	if Marketing(category) {
		return consent == smsflow.ConsentSubscribed
	}
	return consent != smsflow.ConsentUnsubscribed
}
