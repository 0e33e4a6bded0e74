package ingest

import (
	"context"
	"log/slog"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/provider"
)

// InboundTexts receives the texts contacts send through one provider: its
// Receive is what delivery.ProviderEvents hands inbound texts to (wired in
// serve), so keywords, consent and replies are handled here only, whatever
// the provider.
type InboundTexts struct {
	DB       Store
	Clock    smsflow.Clock
	Log      *slog.Logger
	Provider string         // the provider's name
	Options  InboundOptions // InboundOptionsFromConfig(cfg, Provider)
}

// Receive stores a text a contact sent, once per provider id (a webhook
// delivered twice is stored once), through Inbound. A text that can never
// be stored (a sender that is not a phone number) is logged and dropped, so
// the provider does not retry it forever; a provider id that is no id
// (smsflow.CheckID) is logged and left out, and the text stored without it.
// stored says the text was stored now (not dropped, not seen before).
func (t *InboundTexts) Receive(ctx context.Context, in provider.Inbound) (stored bool, err error) {
	if err := smsflow.CheckID("provider id", in.ProviderID, smsflow.MaxIDLength); err != nil {
		// The text still counts (it may be a STOP); only its dedupe is lost.
		t.Log.Warn("inbound text with an id that cannot be stored; kept without it", "provider", t.Provider, "provider_id", in.ProviderID, "err", err.Message)
		in.ProviderID = ""
	}
	if in.ProviderID != "" {
		seen, err := t.DB.InboundSeen(ctx, t.Provider, in.ProviderID)
		if err != nil {
			return false, err
		}
		if seen {
			t.Log.Debug("inbound text received again; stored once", "provider", t.Provider, "provider_id", in.ProviderID)
			return false, nil
		}
	}
	res, err := Inbound(ctx, t.DB, t.Clock, in.From, in.Body, t.Options)
	if err != nil {
		if smsflow.ErrorCode(err) == smsflow.EINVALID {
			t.Log.Warn("inbound text dropped", "provider", t.Provider, "from", phone.Mask(in.From), "provider_id", in.ProviderID, "err", smsflow.ErrorMessage(err))
			return false, nil
		}
		return false, err
	}
	if in.ProviderID != "" {
		// A separate write: a crash between the two stores a resent webhook twice.
		if err := writeTx(ctx, t.DB, func(tx WriteTx) error { return tx.SetInboundProviderID(res.MessageID, in.ProviderID) }); err != nil {
			t.Log.Warn("record inbound provider id", "provider", t.Provider, "provider_id", in.ProviderID, "err", err)
		}
	}
	return true, nil
}
