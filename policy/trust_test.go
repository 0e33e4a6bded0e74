package policy

import (
	"testing"
	"time"

	"github.com/smsflow/smsflow"
)

func TestDecideUntrustedSourceAndLink(t *testing.T) {
	p := Default()
	service := func(t *testing.T) Send {
		s := promoSend(t, "2026-03-04 12:00")
		s.Category, s.Consent = "service", smsflow.ConsentNone
		return s
	}
	for _, tt := range []struct {
		name string
		edit func(*Send)
		want string
	}{
		{"trusted", func(*Send) {}, smsflow.DecisionSent},
		{"public event, unverified number", func(s *Send) { s.UntrustedSource = true }, smsflow.DecisionUntrustedSource},
		{"no number wins", func(s *Send) { s.UntrustedSource, s.Phone = true, "" }, smsflow.DecisionInvalidNumber},
		{"opt-out wins", func(s *Send) { s.UntrustedSource, s.Consent = true, smsflow.ConsentUnsubscribed }, smsflow.DecisionNoConsent},
		{"before holdout", func(s *Send) { s.UntrustedSource, s.Holdout = true, true }, smsflow.DecisionUntrustedSource},
		{"untrusted link", func(s *Send) { s.UntrustedLink = "evil.example" }, smsflow.DecisionUntrustedLink},
		{"holdout before the link", func(s *Send) { s.UntrustedLink, s.Holdout = "evil.example", true }, smsflow.DecisionHoldout},
		{"template before the link", func(s *Send) { s.UntrustedLink, s.TemplateError = "evil.example", "empty" }, smsflow.DecisionTemplatePrefix + "(empty)"},
	} {
		s := service(t)
		tt.edit(&s)
		if got := p.Decide(s).Reason; got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestDecideServicePerNumber(t *testing.T) {
	p := Default()
	if p.ServicePerNumber != (ServiceLimit{Max: 10, Per: 24 * time.Hour}) {
		t.Fatalf("default service limit %+v, want 10 per 24h", p.ServicePerNumber)
	}
	p.ServicePerNumber = ServiceLimit{Max: 3, Per: 24 * time.Hour}
	s := promoSend(t, "2026-03-04 12:00")
	s.Category = "service"
	s.Recent = []Recent{
		ago(s, 25*time.Hour, "service", "ship"),  // out of the window
		ago(s, time.Hour, "service", ""),         // a keyword reply: not counted
		ago(s, time.Hour, "promo", "promo-flow"), // another category
		ago(s, 3*time.Hour, "service", "ship"),
		ago(s, 2*time.Hour, "service", "ship"),
	}
	if got := p.Decide(s).Reason; got != smsflow.DecisionSent {
		t.Fatalf("2 of 3 used: %s", got)
	}
	s.Recent = append(s.Recent, ago(s, 0, "service", "otp"))
	if got := p.Decide(s).Reason; got != smsflow.DecisionServiceLimit {
		t.Fatalf("3 of 3 used: %s, want %s", got, smsflow.DecisionServiceLimit)
	}
	// Marketing sends are not counted against it, and max 0 turns it off.
	s.Category = "promo"
	if got := p.Decide(s).Reason; got != smsflow.DecisionSent {
		t.Errorf("promo: %s", got)
	}
	s.Category, p.ServicePerNumber.Max = "service", 0
	if got := p.Decide(s).Reason; got != smsflow.DecisionSent {
		t.Errorf("limit off: %s", got)
	}
	// Lookback reaches the window, so the caller loads what it counts.
	p.ServicePerNumber = ServiceLimit{Max: 3, Per: 72 * time.Hour}
	if p.Lookback() < 72*time.Hour {
		t.Errorf("Lookback %s misses the service window", p.Lookback())
	}
	if err := (Policy{Quiet: DefaultQuietHours(), OnCap: OnCapSkip, MaxDeferral: time.Hour, ServicePerNumber: ServiceLimit{Max: 2}}).Validate(); smsflow.ErrorField(err) != "limits.service_per_number.per" {
		t.Errorf("a limit without a window: %v", err)
	}
}
