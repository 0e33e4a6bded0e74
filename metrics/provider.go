package metrics

import (
	"context"
	"errors"
	"net/http"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/provider"
)

// Provider returns p with every Send counted (smsflow_provider_sends_total
// by result) and timed (smsflow_provider_call_duration_seconds). The result
// still implements provider.Webhooks and provider.Connector exactly when p
// does, passing those calls through; Unwrap returns p (for type checks such
// as *console.Console). A nil m returns p itself.
func Provider(p provider.Provider, m *Metrics) provider.Provider {
	if m == nil {
		return p
	}
	name := p.Name()
	for _, r := range []string{smsflow.MessageSent, provider.Transient.String(), provider.Permanent.String(), provider.Unknown.String()} {
		m.sends.WithLabelValues(name, r)
	}
	ip := &instrumented{p: p, m: m}
	w, isW := p.(provider.Webhooks)
	c, isC := p.(provider.Connector)
	switch {
	case isW && isC:
		return &struct {
			*instrumented
			webhooks
			provider.Connector
		}{ip, webhooks{w}, c}
	case isW:
		return &struct {
			*instrumented
			webhooks
		}{ip, webhooks{w}}
	case isC:
		return &struct {
			*instrumented
			provider.Connector
		}{ip, c}
	}
	return ip
}

// webhooks passes Webhooks through (an embedded provider.Webhooks field
// would be named Webhooks and hide its own method).
type webhooks struct{ w provider.Webhooks }

func (h webhooks) Webhooks(ev provider.Events) map[string]http.Handler { return h.w.Webhooks(ev) }

// instrumented is a provider whose sends are counted and timed; Provider
// makes them.
type instrumented struct {
	p provider.Provider
	m *Metrics
}

// Name is the wrapped provider's name.
func (ip *instrumented) Name() string { return ip.p.Name() }

// Send calls the wrapped provider and records the call's result and how
// long it took. The result and error are passed back unchanged.
func (ip *instrumented) Send(ctx context.Context, msg *smsflow.Message) (provider.Result, error) {
	start := ip.m.now()
	res, err := ip.p.Send(ctx, msg)
	d := ip.m.now().Sub(start)
	name := ip.p.Name()
	ip.m.callDuration.WithLabelValues(name).Observe(d.Seconds())
	ip.m.sends.WithLabelValues(name, sendResult(res, err)).Inc()
	return res, err
}

// Unwrap returns the provider that instrumented wraps.
func (ip *instrumented) Unwrap() provider.Provider { return ip.p }

// sendResult is the result label of one call: the status the provider
// returned, or the kind of its failure (any error that is not a
// *provider.Error is "unknown", as the sender treats it).
func sendResult(res provider.Result, err error) string {
	if err == nil {
		if res.Status == "" {
			return smsflow.MessageSent
		}
		return res.Status
	}
	var pe *provider.Error
	if errors.As(err, &pe) {
		return pe.Kind.String()
	}
	return provider.Unknown.String()
}
