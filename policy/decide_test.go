package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/smsflow/smsflow"
)

// Zones and numbers the Decide tests use.
const (
	nyZone      = "America/New_York"
	laZone      = "America/Los_Angeles"
	chicagoZone = "America/Chicago"
	boiseZone   = "America/Boise"
)

// rfc is the until=… form a deferred reason carries.
func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// deferredQuiet and deferredCap are the exact reasons Decide writes.
func deferredQuiet(until time.Time) string { return "deferred:quiet_hours(until=" + rfc(until) + ")" }
func deferredCap(until time.Time) string   { return "deferred:cap(until=" + rfc(until) + ")" }

// promoSend is a subscribed New York mobile number asked for a promo at
// `at` local time (a Wednesday unless the caller says otherwise).
func promoSend(t *testing.T, at string) Send {
	t.Helper()
	return Send{Now: local(t, nyZone, at), Category: "promo", FlowID: "promo-flow", Phone: "+12125550100", PhoneType: "mobile",
		Consent: smsflow.ConsentSubscribed, Zones: []string{nyZone}, State: "NY"}
}

// ago is a counted earlier message d before s.Now.
func ago(s Send, d time.Duration, category, flowID string) Recent {
	return Recent{At: s.Now.Add(-d), Category: category, FlowID: flowID}
}

// decideCase is one row of the Decide tables: a send, the policy it meets
// and the whole outcome expected (zero Until / SendBefore mean none).
type decideCase struct {
	name       string
	pol        Policy
	send       Send
	reason     string
	until      time.Time
	sendBefore time.Time
}

func runDecideCases(t *testing.T, cases []decideCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.pol.Validate(); err != nil {
				t.Fatalf("test policy does not validate: %v", err)
			}
			got := tc.pol.Decide(tc.send)
			if got.Reason != tc.reason {
				t.Errorf("Reason = %q, want %q", got.Reason, tc.reason)
			}
			if !got.Until.Equal(tc.until) {
				t.Errorf("Until = %v, want %v", got.Until.UTC(), tc.until.UTC())
			}
			if !got.SendBefore.Equal(tc.sendBefore) {
				t.Errorf("SendBefore = %v, want %v", got.SendBefore.UTC(), tc.sendBefore.UTC())
			}
			if got.Sent() != (tc.reason == smsflow.DecisionSent) {
				t.Errorf("Sent() = %v for %q", got.Sent(), got.Reason)
			}
			if got.Deferred() != !tc.until.IsZero() {
				t.Errorf("Deferred() = %v for %q", got.Deferred(), got.Reason)
			}
		})
	}
}

// with returns a copy of s changed by fn (table rows stay one line each).
func with(s Send, fn func(*Send)) Send {
	fn(&s)
	return s
}

func pol(fn func(*Policy)) Policy {
	p := Default()
	if fn != nil {
		fn(&p)
	}
	return p
}

func TestDecideNumberConsentHoldoutTemplate(t *testing.T) {
	def := Default()
	noon := promoSend(t, "2026-03-04 12:00")
	endNY := local(t, nyZone, "2026-03-04 21:00")
	service := with(noon, func(s *Send) { s.Category = "service"; s.FlowID = "shipping" })
	runDecideCases(t, []decideCase{
		{name: "subscribed promo at noon is sent, until 21:00", pol: def, send: noon, reason: "sent", sendBefore: endNY},
		{name: "no phone", pol: def, send: with(noon, func(s *Send) { s.Phone = "" }), reason: "skipped:invalid_number"},
		{name: "fixed line", pol: def, send: with(noon, func(s *Send) { s.PhoneType = "fixed_line" }), reason: "skipped:invalid_number"},
		{name: "a number a provider refused", pol: def, send: with(noon, func(s *Send) { s.PhoneType = "invalid" }), reason: "skipped:invalid_number"},
		{name: "invalid number before consent", pol: def, send: with(noon, func(s *Send) { s.PhoneType = "fixed_line"; s.Consent = smsflow.ConsentUnsubscribed }), reason: "skipped:invalid_number"},
		{name: "fixed_line_or_mobile can receive", pol: def, send: with(noon, func(s *Send) { s.PhoneType = "fixed_line_or_mobile" }), reason: "sent", sendBefore: endNY},

		{name: "promo needs subscribed: none", pol: def, send: with(noon, func(s *Send) { s.Consent = smsflow.ConsentNone }), reason: "skipped:no_consent"},
		{name: "promo needs subscribed: pending", pol: def, send: with(noon, func(s *Send) { s.Consent = smsflow.ConsentPending }), reason: "skipped:no_consent"},
		{name: "promo needs subscribed: unsubscribed", pol: def, send: with(noon, func(s *Send) { s.Consent = smsflow.ConsentUnsubscribed }), reason: "skipped:no_consent"},
		{name: "lifecycle needs subscribed", pol: def, send: with(noon, func(s *Send) { s.Category = "lifecycle"; s.Consent = smsflow.ConsentNone }), reason: "skipped:no_consent"},
		{name: "behavior needs subscribed", pol: def, send: with(noon, func(s *Send) { s.Category = "behavior"; s.Consent = smsflow.ConsentPending }), reason: "skipped:no_consent"},
		{name: "service with no consent record goes", pol: def, send: with(service, func(s *Send) { s.Consent = smsflow.ConsentNone }), reason: "sent"},
		{name: "service while pending goes", pol: def, send: with(service, func(s *Send) { s.Consent = smsflow.ConsentPending }), reason: "sent"},
		{name: "service to an unsubscribed number does not", pol: def, send: with(service, func(s *Send) { s.Consent = smsflow.ConsentUnsubscribed }), reason: "skipped:no_consent"},

		{name: "holdout", pol: def, send: with(noon, func(s *Send) { s.Holdout = true }), reason: "skipped:holdout"},
		{name: "consent before holdout", pol: def, send: with(noon, func(s *Send) { s.Holdout = true; s.Consent = smsflow.ConsentNone }), reason: "skipped:no_consent"},
		{name: "holdout in quiet hours is still holdout", pol: def, send: with(promoSend(t, "2026-03-04 23:00"), func(s *Send) { s.Holdout = true }), reason: "skipped:holdout"},
		{name: "holdout uses no cap check", pol: pol(func(p *Policy) { p.SmartSending = 24 * time.Hour }),
			send: with(noon, func(s *Send) { s.Holdout = true; s.Recent = []Recent{ago(noon, time.Hour, "promo", "x")} }), reason: "skipped:holdout"},

		{name: "template", pol: def, send: with(noon, func(s *Send) { s.TemplateError = "empty" }), reason: "skipped:template(empty)"},
		{name: "holdout before template", pol: def, send: with(noon, func(s *Send) { s.TemplateError = "empty"; s.Holdout = true }), reason: "skipped:holdout"},
		{name: "template before quiet hours", pol: def, send: with(promoSend(t, "2026-03-04 23:00"), func(s *Send) { s.TemplateError = "missing variable" }), reason: "skipped:template(missing variable)"},
	})
}

func TestDecideMaxDeferral(t *testing.T) {
	def := Default() // 24 h
	noon := promoSend(t, "2026-03-05 12:00")
	night := promoSend(t, "2026-03-05 23:00")
	short := pol(func(p *Policy) { p.MaxDeferral = 10 * time.Hour })
	runDecideCases(t, []decideCase{
		{name: "deferred 12h ago goes", pol: def, send: with(noon, func(s *Send) { s.DeferredSince = s.Now.Add(-12 * time.Hour) }), reason: "sent",
			sendBefore: local(t, nyZone, "2026-03-05 21:00")},
		{name: "exactly max_deferral still goes", pol: def, send: with(noon, func(s *Send) { s.DeferredSince = s.Now.Add(-24 * time.Hour) }), reason: "sent",
			sendBefore: local(t, nyZone, "2026-03-05 21:00")},
		{name: "past max_deferral expires", pol: def, send: with(noon, func(s *Send) { s.DeferredSince = s.Now.Add(-24*time.Hour - time.Second) }), reason: "skipped:expired"},
		{name: "expiry before quiet hours", pol: def, send: with(night, func(s *Send) { s.DeferredSince = s.Now.Add(-25 * time.Hour) }), reason: "skipped:expired"},
		{name: "expiry before caps", pol: pol(func(p *Policy) { p.SmartSending = time.Hour }),
			send: with(noon, func(s *Send) {
				s.DeferredSince = s.Now.Add(-30 * time.Hour)
				s.Recent = []Recent{ago(*s, time.Minute, "promo", "x")}
			}), reason: "skipped:expired"},
		{name: "configured 10h: a 21:00→08:00 deferral (11h) expires", pol: short,
			send: with(promoSend(t, "2026-03-05 08:00"), func(s *Send) { s.DeferredSince = local(t, nyZone, "2026-03-04 21:00") }), reason: "skipped:expired"},
		{name: "never deferred: no expiry", pol: short, send: noon, reason: "sent", sendBefore: local(t, nyZone, "2026-03-05 21:00")},
		{name: "consent before expiry", pol: def, send: with(noon, func(s *Send) {
			s.DeferredSince = s.Now.Add(-48 * time.Hour)
			s.Consent = smsflow.ConsentUnsubscribed
		}), reason: "skipped:no_consent"},
	})
}

func TestDecideQuietHours(t *testing.T) {
	def := Default()
	skip := pol(func(p *Policy) { p.Quiet.OnQuiet = OnQuietSkip })
	noExempt := pol(func(p *Policy) { p.Quiet.Exempt = nil })
	next8 := local(t, nyZone, "2026-03-05 08:00")
	runDecideCases(t, []decideCase{
		{name: "23:00 defers to 08:00 next day", pol: def, send: promoSend(t, "2026-03-04 23:00"), reason: deferredQuiet(next8), until: next8},
		{name: "21:00 is quiet (window is half-open)", pol: def, send: promoSend(t, "2026-03-04 21:00"), reason: deferredQuiet(next8), until: next8},
		{name: "20:59 goes, send_before 21:00", pol: def, send: promoSend(t, "2026-03-04 20:59"), reason: "sent", sendBefore: local(t, nyZone, "2026-03-04 21:00")},
		{name: "00:30 defers to 08:00 the same day", pol: def, send: promoSend(t, "2026-03-05 00:30"), reason: deferredQuiet(next8), until: next8},
		{name: "07:59 defers one minute", pol: def, send: promoSend(t, "2026-03-05 07:59"), reason: deferredQuiet(next8), until: next8},
		{name: "08:00 goes", pol: def, send: promoSend(t, "2026-03-05 08:00"), reason: "sent", sendBefore: local(t, nyZone, "2026-03-05 21:00")},
		{name: "on_quiet skip", pol: skip, send: promoSend(t, "2026-03-04 23:00"), reason: "skipped:quiet_hours"},
		{name: "on_quiet skip lets allowed sends go", pol: skip, send: promoSend(t, "2026-03-04 12:00"), reason: "sent", sendBefore: local(t, nyZone, "2026-03-04 21:00")},
		{name: "lifecycle is not exempt", pol: def, send: with(promoSend(t, "2026-03-04 23:00"), func(s *Send) { s.Category = "lifecycle" }), reason: deferredQuiet(next8), until: next8},
		{name: "service is exempt by default, no send_before", pol: def, send: with(promoSend(t, "2026-03-04 23:00"), func(s *Send) { s.Category = "service" }), reason: "sent"},
		{name: "service is exempt even with on_quiet skip", pol: skip, send: with(promoSend(t, "2026-03-04 03:00"), func(s *Send) { s.Category = "service" }), reason: "sent"},
		{name: "service without the exemption defers", pol: noExempt, send: with(promoSend(t, "2026-03-04 23:00"), func(s *Send) { s.Category = "service" }), reason: deferredQuiet(next8), until: next8},
		{name: "exempt service at noon still has no send_before", pol: def, send: with(promoSend(t, "2026-03-04 12:00"), func(s *Send) { s.Category = "service" }), reason: "sent"},
		{name: "custom window 10:00-18:00", pol: pol(func(p *Policy) { p.Quiet.Allowed = hours(10, 18) }), send: promoSend(t, "2026-03-04 09:00"),
			reason: deferredQuiet(local(t, nyZone, "2026-03-04 10:00")), until: local(t, nyZone, "2026-03-04 10:00")},
		{name: "custom window send_before", pol: pol(func(p *Policy) { p.Quiet.Allowed = hours(10, 18) }), send: promoSend(t, "2026-03-04 10:00"),
			reason: "sent", sendBefore: local(t, nyZone, "2026-03-04 18:00")},
		{name: "no zone fails closed (skip, not defer)", pol: def, send: with(promoSend(t, "2026-03-04 12:00"), func(s *Send) { s.Zones = nil }), reason: "skipped:quiet_hours"},
		{name: "unknown zone fails closed", pol: def, send: with(promoSend(t, "2026-03-04 12:00"), func(s *Send) { s.Zones = []string{"Mars/Olympus"} }), reason: "skipped:quiet_hours"},
		{name: "one unknown zone among good ones fails closed", pol: def, send: with(promoSend(t, "2026-03-04 12:00"), func(s *Send) { s.Zones = []string{nyZone, "Nowhere/Else"} }), reason: "skipped:quiet_hours"},
	})
}

func TestDecideMultiZoneMustBeAllowedInAll(t *testing.T) {
	def := Default()
	// +1 208: Idaho, split between Boise (Mountain) and Los Angeles (Pacific).
	if got := strings.Join(numberZones(t, "+12085550100"), " "); got != boiseZone+" "+laZone {
		t.Fatalf("zones of +1 208 = %q", got)
	}
	idaho := func(at string) Send {
		return Send{Now: local(t, laZone, at), Category: "promo", FlowID: "f", Phone: "+12085550100", PhoneType: "mobile",
			Consent: smsflow.ConsentSubscribed, Zones: []string{boiseZone, laZone}, State: "ID"}
	}
	la8 := local(t, laZone, "2026-03-05 08:00")
	runDecideCases(t, []decideCase{
		// 07:30 in LA is 08:30 in Boise: allowed there, not in LA.
		{name: "allowed in Boise only: wait for LA", pol: def, send: idaho("2026-03-05 07:30"), reason: deferredQuiet(la8), until: la8},
		// 20:30 in LA is 21:30 in Boise: quiet in Boise; next moment both allow is 08:00 LA.
		{name: "allowed in LA only: wait for both", pol: def, send: idaho("2026-03-04 20:30"), reason: deferredQuiet(la8), until: la8},
		// Noon in LA: allowed in both; the window closes first in Boise (21:00 MST = 20:00 PST).
		{name: "send_before is the earliest close", pol: def, send: idaho("2026-03-05 12:00"), reason: "sent", sendBefore: local(t, laZone, "2026-03-05 20:00")},
		{name: "explicit single zone wins", pol: def, send: with(idaho("2026-03-05 07:30"), func(s *Send) { s.Zones = []string{boiseZone} }),
			reason: "sent", sendBefore: local(t, boiseZone, "2026-03-05 21:00")},
		{name: "on_quiet skip in one zone", pol: pol(func(p *Policy) { p.Quiet.OnQuiet = OnQuietSkip }), send: idaho("2026-03-04 20:30"), reason: "skipped:quiet_hours"},
		// Zones so far apart that no moment is allowed in both: skipped, never sent early.
		// 10:00-12:00 in LA (18-20 UTC) and London (10-12 UTC) never meet.
		{name: "zones with no common window", pol: pol(func(p *Policy) { p.Quiet.Allowed = hours(10, 12) }),
			send: with(idaho("2026-03-05 12:00"), func(s *Send) { s.Zones = []string{laZone, "Europe/London"} }), reason: "skipped:quiet_hours"},
	})
}

func TestDecideStateRules(t *testing.T) {
	def := Default()
	noState := pol(func(p *Policy) { p.Quiet.StateRules = false })
	// A Florida number (+1 305, Miami) in New York's zone.
	fl := func(at string) Send {
		return with(promoSend(t, at), func(s *Send) { s.Phone = "+13055550100"; s.State = "FL" })
	}
	if got := StateForNumber("+13055550100"); got != "FL" {
		t.Fatalf("state of +1 305 = %q, want FL", got)
	}
	central := func(state, at string) Send {
		return Send{Now: local(t, chicagoZone, at), Category: "promo", FlowID: "f", Phone: "+12055550100", PhoneType: "mobile",
			Consent: smsflow.ConsentSubscribed, Zones: []string{chicagoZone}, State: state}
	}
	ct := with(promoSend(t, "2026-03-04 08:30"), func(s *Send) { s.State = "CT"; s.Phone = "+12035550100" })
	ky := with(promoSend(t, "2026-03-04 09:30"), func(s *Send) { s.State = "KY"; s.Phone = "+15025550100" })
	runDecideCases(t, []decideCase{
		{name: "FL closes at 20:00", pol: def, send: fl("2026-03-04 20:30"), reason: deferredQuiet(local(t, nyZone, "2026-03-05 08:00")), until: local(t, nyZone, "2026-03-05 08:00")},
		{name: "FL send_before 20:00", pol: def, send: fl("2026-03-04 12:00"), reason: "sent", sendBefore: local(t, nyZone, "2026-03-04 20:00")},
		{name: "FL at 20:30 without state rules", pol: noState, send: fl("2026-03-04 20:30"), reason: "sent", sendBefore: local(t, nyZone, "2026-03-04 21:00")},
		{name: "FL service is exempt", pol: def, send: with(fl("2026-03-04 20:30"), func(s *Send) { s.Category = "service" }), reason: "sent"},
		{name: "CT opens at 09:00", pol: def, send: ct, reason: deferredQuiet(local(t, nyZone, "2026-03-04 09:00")), until: local(t, nyZone, "2026-03-04 09:00")},
		{name: "KY opens at 10:00", pol: def, send: ky, reason: deferredQuiet(local(t, nyZone, "2026-03-04 10:00")), until: local(t, nyZone, "2026-03-04 10:00")},
		{name: "state window never loosens the base", pol: pol(func(p *Policy) { p.Quiet.Allowed = hours(11, 19) }), send: ky,
			reason: deferredQuiet(local(t, nyZone, "2026-03-04 11:00")), until: local(t, nyZone, "2026-03-04 11:00")},

		// Alabama: no Sunday. Saturday 2026-03-14 20:30 → Monday 08:00.
		{name: "AL Saturday night waits for Monday", pol: def, send: central("AL", "2026-03-14 20:30"),
			reason: deferredQuiet(local(t, chicagoZone, "2026-03-16 08:00")), until: local(t, chicagoZone, "2026-03-16 08:00")},
		{name: "AL Sunday noon waits for Monday", pol: def, send: central("AL", "2026-03-15 12:00"),
			reason: deferredQuiet(local(t, chicagoZone, "2026-03-16 08:00")), until: local(t, chicagoZone, "2026-03-16 08:00")},
		{name: "MS Sunday noon waits for Monday", pol: def, send: central("MS", "2026-03-15 12:00"),
			reason: deferredQuiet(local(t, chicagoZone, "2026-03-16 08:00")), until: local(t, chicagoZone, "2026-03-16 08:00")},
		{name: "TX Sunday noon goes", pol: def, send: central("TX", "2026-03-15 12:00"), reason: "sent", sendBefore: local(t, chicagoZone, "2026-03-15 21:00")},
		{name: "AL Sunday without state rules goes", pol: noState, send: central("AL", "2026-03-15 12:00"), reason: "sent", sendBefore: local(t, chicagoZone, "2026-03-15 21:00")},
		// Holidays: MLK Day 2026-01-19 (Mon) follows a weekend: Saturday evening → Tuesday.
		{name: "AL MLK weekend waits for Tuesday", pol: def, send: central("AL", "2026-01-17 20:30"),
			reason: deferredQuiet(local(t, chicagoZone, "2026-01-20 08:00")), until: local(t, chicagoZone, "2026-01-20 08:00")},
		{name: "LA (Louisiana) Memorial Day", pol: def, send: central("LA", "2026-05-25 12:00"),
			reason: deferredQuiet(local(t, chicagoZone, "2026-05-26 08:00")), until: local(t, chicagoZone, "2026-05-26 08:00")},
		// Mississippi forbids Sundays, not holidays.
		{name: "MS on a federal holiday goes", pol: def, send: central("MS", "2026-05-25 12:00"), reason: "sent", sendBefore: local(t, chicagoZone, "2026-05-25 20:00")},
		// A year the holiday table does not cover counts as a holiday: nothing within the search bound.
		{name: "AL beyond the holiday table fails closed", pol: def, send: central("AL", "2040-03-14 12:00"), reason: "skipped:quiet_hours"},
	})
}

func TestDecideSmartSending(t *testing.T) {
	ss := pol(func(p *Policy) { p.SmartSending = 4 * time.Hour })
	ssDefer := pol(func(p *Policy) { p.SmartSending = 4 * time.Hour; p.OnCap = OnCapDefer })
	noon := promoSend(t, "2026-03-04 12:00")
	endNY := local(t, nyZone, "2026-03-04 21:00")
	recent := func(rs ...Recent) Send { return with(noon, func(s *Send) { s.Recent = rs }) }
	runDecideCases(t, []decideCase{
		{name: "any SMS 3h ago (even service) blocks marketing", pol: ss, send: recent(ago(noon, 3*time.Hour, "service", "shipping")), reason: "skipped:smart_sending"},
		{name: "same flow 1h ago blocks", pol: ss, send: recent(ago(noon, time.Hour, "promo", "promo-flow")), reason: "skipped:smart_sending"},
		{name: "exactly 4h ago has left the window", pol: ss, send: recent(ago(noon, 4*time.Hour, "promo", "x")), reason: "sent", sendBefore: endNY},
		{name: "5h ago", pol: ss, send: recent(ago(noon, 5*time.Hour, "promo", "x")), reason: "sent", sendBefore: endNY},
		{name: "a message in the future is not counted", pol: ss, send: recent(Recent{At: noon.Now.Add(time.Minute), Category: "promo", FlowID: "x"}), reason: "sent", sendBefore: endNY},
		{name: "off (0)", pol: Default(), send: recent(ago(noon, time.Minute, "promo", "x")), reason: "sent", sendBefore: endNY},
		{name: "service sends ignore it", pol: ss, send: with(recent(ago(noon, time.Minute, "promo", "x")), func(s *Send) { s.Category = "service" }), reason: "sent"},
		{name: "two send steps of one flow in one instant are one conversation", pol: ss, send: recent(ago(noon, 0, "promo", "promo-flow")), reason: "sent", sendBefore: endNY},
		{name: "another flow's send of this instant: collision", pol: ss, send: recent(ago(noon, 0, "behavior", "cart")), reason: "skipped:collision(flow=cart)"},
		{name: "smart sending skips even with on_cap defer", pol: ssDefer, send: recent(ago(noon, time.Hour, "promo", "x")), reason: "skipped:smart_sending"},
		{name: "quiet hours come before smart sending", pol: ss, send: with(promoSend(t, "2026-03-04 23:00"), func(s *Send) { s.Recent = []Recent{ago(*s, time.Hour, "promo", "x")} }),
			reason: deferredQuiet(local(t, nyZone, "2026-03-05 08:00")), until: local(t, nyZone, "2026-03-05 08:00")},
	})
}

func TestDecideStateMarketingCap(t *testing.T) {
	def := Default()
	deferCap := pol(func(p *Policy) { p.OnCap = OnCapDefer })
	noState := pol(func(p *Policy) { p.Quiet.StateRules = false })
	if StateMarketingCap.Max != 3 || StateMarketingCap.Per != 24*time.Hour || strings.Join(StateMarketingCap.States, ",") != "FL,OK,MD" {
		t.Fatalf("StateMarketingCap = %+v", StateMarketingCap)
	}
	at := func(state string) Send {
		return with(promoSend(t, "2026-03-04 12:00"), func(s *Send) { s.State = state })
	}
	three := func(s Send) Send {
		s.Recent = []Recent{ago(s, 20*time.Hour, "promo", "a"), ago(s, 10*time.Hour, "lifecycle", "b"), ago(s, 2*time.Hour, "behavior", "c")}
		return s
	}
	two := func(s Send) Send {
		s.Recent = []Recent{ago(s, 20*time.Hour, "promo", "a"), ago(s, 2*time.Hour, "behavior", "c")}
		return s
	}
	fl := at("FL")
	end20 := local(t, nyZone, "2026-03-04 20:00")
	runDecideCases(t, []decideCase{
		{name: "FL: 3 marketing in 24h", pol: def, send: three(fl), reason: "skipped:cap(rule=state:FL)"},
		{name: "OK: 3 marketing in 24h", pol: def, send: three(at("OK")), reason: "skipped:cap(rule=state:OK)"},
		{name: "MD: 3 marketing in 24h", pol: def, send: three(at("MD")), reason: "skipped:cap(rule=state:MD)"},
		{name: "FL: 2 marketing in 24h", pol: def, send: two(fl), reason: "sent", sendBefore: end20},
		{name: "FL: the third is a service message", pol: def, send: with(two(fl), func(s *Send) { s.Recent = append(s.Recent, ago(*s, time.Hour, "service", "ship")) }), reason: "sent", sendBefore: end20},
		{name: "FL: the oldest exactly 24h ago", pol: def, send: with(three(fl), func(s *Send) { s.Recent[0].At = s.Now.Add(-24 * time.Hour) }), reason: "sent", sendBefore: end20},
		{name: "FL: service sends are not capped", pol: def, send: with(three(fl), func(s *Send) { s.Category = "service" }), reason: "sent"},
		{name: "NY has no state cap", pol: def, send: three(at("NY")), reason: "sent", sendBefore: local(t, nyZone, "2026-03-04 21:00")},
		{name: "WA has a window but no cap", pol: def, send: three(at("WA")), reason: "sent", sendBefore: end20},
		{name: "no state rules, no state cap", pol: noState, send: three(fl), reason: "sent", sendBefore: local(t, nyZone, "2026-03-04 21:00")},
		// on_cap defer: the oldest of the three (20h ago) frees its place 4h from now.
		{name: "FL with on_cap defer", pol: deferCap, send: three(fl), reason: deferredCap(fl.Now.Add(4 * time.Hour)), until: fl.Now.Add(4 * time.Hour)},
	})
}

func TestDecideNamedCaps(t *testing.T) {
	caps := []Cap{
		{Name: "promo-daily", Max: 1, Per: 24 * time.Hour, Categories: []string{"promo"}},
		{Name: "marketing-weekly", Max: 3, Per: 7 * 24 * time.Hour, Categories: []string{"lifecycle", "behavior", "promo"}},
	}
	skipP := pol(func(p *Policy) { p.Caps = caps })
	deferP := pol(func(p *Policy) { p.Caps = caps; p.OnCap = OnCapDefer })
	noon := promoSend(t, "2026-03-04 12:00")
	endNY := local(t, nyZone, "2026-03-04 21:00")
	recent := func(category string, rs ...Recent) Send {
		return with(noon, func(s *Send) { s.Category = category; s.Recent = rs })
	}
	week := []Recent{ago(noon, 6*24*time.Hour, "lifecycle", "welcome"), ago(noon, 3*24*time.Hour, "promo", "sale"), ago(noon, 26*time.Hour, "behavior", "cart")}
	runDecideCases(t, []decideCase{
		{name: "promo 23h after a promo", pol: skipP, send: recent("promo", ago(noon, 23*time.Hour, "promo", "sale")), reason: "skipped:cap(rule=promo-daily)"},
		{name: "promo 24h after a promo: the window rolled", pol: skipP, send: recent("promo", ago(noon, 24*time.Hour, "promo", "sale")), reason: "sent", sendBefore: endNY},
		{name: "behavior an hour after a promo: promo-daily does not apply", pol: skipP, send: recent("behavior", ago(noon, time.Hour, "promo", "sale")), reason: "sent", sendBefore: endNY},
		{name: "promo an hour after a behavior: promo-daily counts only promo", pol: skipP, send: recent("promo", ago(noon, time.Hour, "behavior", "cart")), reason: "sent", sendBefore: endNY},
		{name: "weekly: 3 marketing in 7d", pol: skipP, send: recent("behavior", week...), reason: "skipped:cap(rule=marketing-weekly)"},
		{name: "weekly: service messages are not counted", pol: skipP, send: recent("behavior", week[0], week[1], ago(noon, time.Hour, "service", "ship")), reason: "sent", sendBefore: endNY},
		{name: "weekly: service sends are not capped", pol: skipP, send: recent("service", week...), reason: "sent"},
		{name: "weekly: the oldest just left the window", pol: skipP,
			send: recent("behavior", ago(noon, 7*24*time.Hour, "lifecycle", "welcome"), week[1], week[2]), reason: "sent", sendBefore: endNY},
		{name: "both caps full: the first listed names it", pol: skipP, send: recent("promo", append(append([]Recent{}, week...), ago(noon, time.Hour, "promo", "sale"))...),
			reason: "skipped:cap(rule=promo-daily)"},
		// on_cap defer: until the moment the window frees a place.
		{name: "defer until the promo ages out", pol: deferP, send: recent("promo", ago(noon, 23*time.Hour, "promo", "sale")),
			reason: deferredCap(noon.Now.Add(time.Hour)), until: noon.Now.Add(time.Hour)},
		{name: "defer until the oldest of the week ages out", pol: deferP, send: recent("behavior", week...),
			reason: deferredCap(noon.Now.Add(24 * time.Hour)), until: noon.Now.Add(24 * time.Hour)},
	})

	// Max 2 with three messages in the window: two must age out, so the
	// window frees a place when the second oldest does.
	two := pol(func(p *Policy) {
		p.Caps = []Cap{{Name: "two-a-day", Max: 2, Per: 24 * time.Hour, Categories: []string{"promo", "behavior"}}}
		p.OnCap = OnCapDefer
	})
	unsorted := recent("promo", ago(noon, 5*time.Hour, "promo", "a"), ago(noon, 20*time.Hour, "promo", "b"), ago(noon, 10*time.Hour, "behavior", "c"))
	runDecideCases(t, []decideCase{
		{name: "max 2, three in the window, unsorted", pol: two, send: unsorted, reason: deferredCap(noon.Now.Add(14 * time.Hour)), until: noon.Now.Add(14 * time.Hour)},
	})
	// The deferral is exact: at until the send goes (quiet hours allowing),
	// a nanosecond before it is still capped.
	s := unsorted
	s.Now = noon.Now.Add(14 * time.Hour) // 02:00 next day: quiet hours then decide
	if got := two.Decide(s); !strings.HasPrefix(got.Reason, "deferred:quiet_hours") {
		t.Errorf("at the cap's until (02:00 local) = %q, want quiet hours to take over", got.Reason)
	}
	wide := two
	wide.Quiet.Allowed = Window{Start: 0, End: EndOfDay}
	if got := wide.Decide(s); got.Reason != "sent" {
		t.Errorf("at the cap's until with a 24h window = %q, want sent", got.Reason)
	}
	s.Now = s.Now.Add(-time.Nanosecond)
	if got := wide.Decide(s); !strings.HasPrefix(got.Reason, "deferred:cap") {
		t.Errorf("just before the cap's until = %q, want still deferred:cap", got.Reason)
	}
}

func TestDecideCollision(t *testing.T) {
	caps := []Cap{{Name: "promo-daily", Max: 1, Per: 24 * time.Hour, Categories: []string{"promo", "behavior"}}}
	skipP := pol(func(p *Policy) { p.Caps = caps })
	deferP := pol(func(p *Policy) { p.Caps = caps; p.OnCap = OnCapDefer })
	noon := promoSend(t, "2026-03-04 12:00")
	recent := func(rs ...Recent) Send { return with(noon, func(s *Send) { s.Recent = rs }) }
	runDecideCases(t, []decideCase{
		{name: "another flow queued in this instant", pol: skipP, send: recent(ago(noon, 0, "behavior", "cart")), reason: "skipped:collision(flow=cart)"},
		{name: "the same flow's earlier step of this instant meets the cap", pol: skipP, send: recent(ago(noon, 0, "promo", "promo-flow")), reason: "skipped:cap(rule=promo-daily)"},
		{name: "a second earlier is not a collision", pol: skipP, send: recent(ago(noon, time.Second, "behavior", "cart")), reason: "skipped:cap(rule=promo-daily)"},
		{name: "an automatic reply (no flow) of this instant is not a collision", pol: pol(func(p *Policy) { p.SmartSending = time.Hour }),
			send: recent(ago(noon, 0, "", "")), reason: "skipped:smart_sending"},
		{name: "on_cap defer turns a collision into deferred:cap", pol: deferP, send: recent(ago(noon, 0, "behavior", "cart")),
			reason: deferredCap(noon.Now.Add(24 * time.Hour)), until: noon.Now.Add(24 * time.Hour)},
		// The cap was already full before this instant: nobody won a race,
		// the send simply meets the cap (a cap of N allows N).
		{name: "cap already full before the instant: cap, not collision", pol: skipP,
			send: recent(ago(noon, 2*time.Hour, "promo", "sale"), ago(noon, 0, "behavior", "cart")), reason: "skipped:cap(rule=promo-daily)"},
		{name: "smart sending already blocked before the instant", pol: pol(func(p *Policy) { p.SmartSending = 4 * time.Hour }),
			send: recent(ago(noon, time.Hour, "service", "ship"), ago(noon, 0, "behavior", "cart")), reason: "skipped:smart_sending"},
		{name: "FL state cap: the third of this instant collides", pol: Default(),
			send:   with(recent(ago(noon, 5*time.Hour, "promo", "a"), ago(noon, 3*time.Hour, "promo", "b"), ago(noon, 0, "behavior", "cart")), func(s *Send) { s.State = "FL" }),
			reason: "skipped:collision(flow=cart)"},
	})
}

// TestDecideDST: a send deferred across a daylight-saving change is released
// at the allowed start in local time after the change (08:00 local), never
// early, in both directions and both coasts.
func TestDecideDST(t *testing.T) {
	def := Default()
	for _, tc := range []struct {
		name, zone string
		now        string // UTC
		until      string // UTC
	}{
		// 2026-03-08 02:00 EST → 03:00 EDT.
		{"NY spring: Saturday 22:00 EST", nyZone, "2026-03-08 03:00", "2026-03-08 12:00"},
		{"NY spring: 01:59 EST, just before the jump", nyZone, "2026-03-08 06:59", "2026-03-08 12:00"},
		{"NY spring: 03:00 EDT, just after the jump", nyZone, "2026-03-08 07:00", "2026-03-08 12:00"},
		{"NY spring: 07:59 EDT", nyZone, "2026-03-08 11:59", "2026-03-08 12:00"},
		// 2026-11-01 02:00 EDT → 01:00 EST.
		{"NY fall: Saturday 22:00 EDT", nyZone, "2026-11-01 02:00", "2026-11-01 13:00"},
		{"NY fall: 01:30 EDT (first)", nyZone, "2026-11-01 05:30", "2026-11-01 13:00"},
		{"NY fall: 01:30 EST (second)", nyZone, "2026-11-01 06:30", "2026-11-01 13:00"},
		{"NY fall: 07:59 EST", nyZone, "2026-11-01 12:59", "2026-11-01 13:00"},
		// Los Angeles changes at its own 02:00, three hours later in UTC.
		{"LA spring: Saturday 21:00 PST", laZone, "2026-03-08 05:00", "2026-03-08 15:00"},
		{"LA spring: 01:30 PST", laZone, "2026-03-08 09:30", "2026-03-08 15:00"},
		{"LA spring: 03:30 PDT", laZone, "2026-03-08 10:30", "2026-03-08 15:00"},
		{"LA fall: Saturday 21:00 PDT", laZone, "2026-11-01 04:00", "2026-11-01 16:00"},
		{"LA fall: 01:30 PDT (first)", laZone, "2026-11-01 08:30", "2026-11-01 16:00"},
		{"LA fall: 01:30 PST (second)", laZone, "2026-11-01 09:30", "2026-11-01 16:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Send{Now: utc(t, tc.now), Category: "promo", FlowID: "f", Phone: "+12125550100", PhoneType: "mobile",
				Consent: smsflow.ConsentSubscribed, Zones: []string{tc.zone}}
			want := utc(t, tc.until)
			got := def.Decide(s)
			if got.Reason != deferredQuiet(want) || !got.Until.Equal(want) {
				t.Fatalf("Decide = %q until %v, want %q", got.Reason, got.Until.UTC(), deferredQuiet(want))
			}
			loc, _ := LoadZone(tc.zone)
			if l := got.Until.In(loc); l.Hour() != 8 || l.Minute() != 0 {
				t.Errorf("until is %v local, want 08:00", l)
			}
			// Never early: every minute before until is still quiet; at until it goes.
			for u := s.Now; u.Before(want); u = u.Add(time.Minute) {
				s2 := s
				s2.Now, s2.DeferredSince = u, s.Now
				if o := def.Decide(s2); o.Sent() || !o.Until.Equal(want) {
					t.Fatalf("at %v (%v local): %q until %v, want still deferred to %v", u.UTC(), u.In(loc), o.Reason, o.Until.UTC(), want)
				}
			}
			s.Now, s.DeferredSince = want, s.Now
			if o := def.Decide(s); !o.Sent() {
				t.Errorf("released at until: %q, want sent", o.Reason)
			}
		})
	}

	// send_before on the change days is 21:00 local in the new offset.
	for _, tc := range []struct{ zone, now, before string }{
		{nyZone, "2026-03-08 16:00", "2026-03-09 01:00"}, // 12:00 EDT → 21:00 EDT
		{nyZone, "2026-11-01 17:00", "2026-11-02 02:00"}, // 12:00 EST → 21:00 EST
		{laZone, "2026-03-08 19:00", "2026-03-09 04:00"}, // 12:00 PDT → 21:00 PDT
		{laZone, "2026-11-01 20:00", "2026-11-02 05:00"}, // 12:00 PST → 21:00 PST
	} {
		s := Send{Now: utc(t, tc.now), Category: "promo", FlowID: "f", Phone: "+12125550100", PhoneType: "mobile",
			Consent: smsflow.ConsentSubscribed, Zones: []string{tc.zone}}
		if o := def.Decide(s); !o.Sent() || !o.SendBefore.Equal(utc(t, tc.before)) {
			t.Errorf("%s at %s UTC: %q send_before %v, want sent before %s UTC", tc.zone, tc.now, o.Reason, o.SendBefore.UTC(), tc.before)
		}
	}

	// Windows whose start falls in the gap or the overlap.
	gap := pol(func(p *Policy) { p.Quiet.Allowed = Window{Start: 2*60 + 30, End: 21 * 60} })
	overlap := pol(func(p *Policy) { p.Quiet.Allowed = Window{Start: 1*60 + 30, End: 21 * 60} })
	for _, tc := range []struct {
		name       string
		p          Policy
		now, until string // UTC
	}{
		{"02:30 skipped by spring forward opens at 03:00 EDT", gap, "2026-03-08 06:00", "2026-03-08 07:00"},
		{"01:30 passed twice opens at its first occurrence", overlap, "2026-11-01 04:00", "2026-11-01 05:30"},
	} {
		s := Send{Now: utc(t, tc.now), Category: "promo", FlowID: "f", Phone: "+12125550100", PhoneType: "mobile",
			Consent: smsflow.ConsentSubscribed, Zones: []string{nyZone}}
		if o := tc.p.Decide(s); !o.Until.Equal(utc(t, tc.until)) {
			t.Errorf("%s: %q until %v, want %s UTC", tc.name, o.Reason, o.Until.UTC(), tc.until)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default: %v", err)
	}
	good := Cap{Name: "promo-daily", Max: 1, Per: 24 * time.Hour, Categories: []string{"promo"}}
	withCaps := func(cs ...Cap) Policy { return pol(func(p *Policy) { p.Caps = cs }) }
	capWith := func(fn func(*Cap)) Cap {
		c := good
		c.Categories = append([]string(nil), good.Categories...)
		fn(&c)
		return c
	}
	for _, tc := range []struct {
		name  string
		p     Policy
		field string
		msg   string
	}{
		{"quiet hours checked first", pol(func(p *Policy) { p.Quiet.OnQuiet = "later"; p.OnCap = "x" }), "quiet_hours.on_quiet", `on_quiet is "later"; use defer or skip`},
		{"empty window", pol(func(p *Policy) { p.Quiet.Allowed = Window{} }), "quiet_hours.allowed", "allowed window 00:00-00:00 is empty"},
		{"cap without a name", withCaps(capWith(func(c *Cap) { c.Name = "" })), "caps[0].name", "every cap needs a name (it appears in skipped:cap(rule=NAME))"},
		{"duplicate names", withCaps(good, good), "caps[1].name", `two caps are named "promo-daily"; give each its own name`},
		{"max 0", withCaps(good, capWith(func(c *Cap) { c.Name = "b"; c.Max = 0 })), "caps[1].max", `cap "b": max must be at least 1`},
		{"per 0", withCaps(capWith(func(c *Cap) { c.Per = 0 })), "caps[0].per", `cap "promo-daily": per must be a positive duration like 24h or 7d`},
		{"per negative", withCaps(capWith(func(c *Cap) { c.Per = -time.Hour })), "caps[0].per", `cap "promo-daily": per must be a positive duration like 24h or 7d`},
		{"no categories", withCaps(capWith(func(c *Cap) { c.Categories = nil })), "caps[0].categories", `cap "promo-daily": list the categories it counts, e.g. [promo]`},
		{"unknown category", withCaps(capWith(func(c *Cap) { c.Categories = []string{"promo", "marketing"} })), "caps[0].categories",
			`cap "promo-daily": "marketing" is not a category; use service, lifecycle, behavior, promo`},
		{"on_cap empty", pol(func(p *Policy) { p.OnCap = "" }), "on_cap", `on_cap is ""; use skip or defer`},
		{"on_cap unknown", pol(func(p *Policy) { p.OnCap = "queue" }), "on_cap", `on_cap is "queue"; use skip or defer`},
		{"smart_sending negative", pol(func(p *Policy) { p.SmartSending = -time.Hour }), "smart_sending", "smart_sending must be 0 (off) or a positive number of hours"},
		{"max_deferral 0", pol(func(p *Policy) { p.MaxDeferral = 0 }), "max_deferral", "max_deferral must be a positive duration like 24h"},
		{"max_deferral negative", pol(func(p *Policy) { p.MaxDeferral = -time.Hour }), "max_deferral", "max_deferral must be a positive duration like 24h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if err == nil {
				t.Fatal("Validate() = nil")
			}
			if got := smsflow.ErrorCode(err); got != smsflow.EINVALID {
				t.Errorf("code = %q, want invalid", got)
			}
			if got := smsflow.ErrorField(err); got != tc.field {
				t.Errorf("field = %q, want %q (%v)", got, tc.field, err)
			}
			if got := smsflow.ErrorMessage(err); !strings.HasPrefix(got, tc.msg) {
				t.Errorf("message = %q, want it to start %q", got, tc.msg)
			}
		})
	}
	// Valid non-defaults pass.
	ok := pol(func(p *Policy) {
		p.Caps = []Cap{good, {Name: "weekly", Max: 3, Per: 7 * 24 * time.Hour, Categories: []string{"lifecycle", "behavior", "promo", "service"}}}
		p.OnCap, p.SmartSending, p.MaxDeferral = OnCapDefer, 4*time.Hour, time.Hour
		p.Quiet.OnQuiet = OnQuietSkip
	})
	if err := ok.Validate(); err != nil {
		t.Errorf("valid policy: %v", err)
	}
}

func TestPolicyLookback(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Policy
		want time.Duration
	}{
		{"default: the state cap's 24h", Default(), 24 * time.Hour},
		{"smart sending longer than 24h", pol(func(p *Policy) { p.SmartSending = 36 * time.Hour }), 36 * time.Hour},
		{"weekly cap", pol(func(p *Policy) {
			p.Caps = []Cap{{Name: "a", Max: 1, Per: time.Hour, Categories: []string{"promo"}}, {Name: "w", Max: 3, Per: 7 * 24 * time.Hour, Categories: []string{"promo"}}}
		}), 7 * 24 * time.Hour},
	} {
		if got := tc.p.Lookback(); got != tc.want {
			t.Errorf("%s: Lookback = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCanEnter(t *testing.T) {
	for _, tc := range []struct {
		category string
		consent  smsflow.ConsentStatus
		want     bool
	}{
		{"promo", smsflow.ConsentSubscribed, true},
		{"promo", smsflow.ConsentPending, false},
		{"lifecycle", smsflow.ConsentNone, false},
		{"behavior", smsflow.ConsentUnsubscribed, false},
		{"service", smsflow.ConsentNone, true},
		{"service", smsflow.ConsentPending, true},
		{"service", smsflow.ConsentUnsubscribed, false},
	} {
		if got := CanEnter(tc.category, tc.consent); got != tc.want {
			t.Errorf("CanEnter(%s, %s) = %v, want %v", tc.category, tc.consent, got, tc.want)
		}
	}
}
