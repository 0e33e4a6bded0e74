package ingest

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/phone"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/sms/segments"
	"github.com/smsflow/smsflow/store"
)

// MaxInboundBody bounds an inbound text (Twilio's limit is 1,600 characters).
const MaxInboundBody = 1600

// InboundOptions is what Inbound needs from the configuration.
type InboundOptions struct {
	Region      string // region of numbers written without +country
	Provider    string // the provider the text came through ("console", "twilio", …)
	Keywords    policy.KeywordConfig
	DoubleOptIn bool   // JOIN leaves the number pending until Y/YES
	BrandName   string // names the sender in automatic replies
	HelpText    string // the HELP reply (brand.help)
	// SendConfirmations is false when the provider answers STOP, START and
	// HELP itself (Twilio with opt_out_replies: twilio): smsflow then only
	// records. JOIN/YES confirmations and the confirmation of a non-keyword
	// revocation are still sent — the provider knows nothing of them.
	SendConfirmations bool
}

// InboundOptionsFromConfig builds the options for texts arriving through the
// named provider.
func InboundOptionsFromConfig(cfg config.Config, provider string) InboundOptions {
	kw := cfg.KeywordConfig()
	return InboundOptions{
		Region: cfg.DefaultRegion, Provider: provider, Keywords: kw, DoubleOptIn: cfg.DoubleOptIn,
		BrandName: cfg.Brand.Name, HelpText: cfg.Brand.Help,
		SendConfirmations: !(provider == "twilio" && cfg.Twilio.OptOutReplies != "smsflow"),
	}
}

// InboundResult is what an inbound SMS became.
type InboundResult struct {
	ContactID string `json:"contact_id"`
	MessageID int64  `json:"message_id"`
	// Event is the event the text fed to the engine ("Message Replied"),
	// "" for a keyword.
	Event string `json:"event,omitempty"`
	// Keyword is the matched keyword kind ("stop", "help", …; "revocation"
	// for a flagged non-keyword opt-out), "" for an ordinary reply.
	Keyword string `json:"keyword,omitempty"`
	// Consent is the number's status after a change the text made, ""
	// when it changed nothing.
	Consent smsflow.ConsentStatus `json:"consent,omitempty"`
	// ConsentRefused says why the ledger refused the change, if it did.
	ConsentRefused string `json:"consent_refused,omitempty"`
	// ReplyMessageID is the queued automatic reply, 0 when none.
	ReplyMessageID int64 `json:"reply_message_id,omitempty"`
	// ReplySkipped says why no automatic reply was queued for a keyword
	// (policy.ReplySkipped…).
	ReplySkipped string `json:"reply_skipped,omitempty"`
}

// Inbound stores an inbound SMS from a provider: the contact (created as
// phone:+… when the number is unknown) and the message (its body cleaned by
// smsflow.CleanText), then, in the same
// transaction, what it means (policy.Classify):
//   - STOP set or a clear revocation: unsubscribe (ledger source keyword,
//     evidence the message), which the engine sees as an Unsubscribed
//     consent event (it ends runs, cancels queued sends), and one
//     confirmation at most every 24 h;
//   - HELP/INFO: the help text; START/UNSTOP: resubscribe and confirm;
//   - JOIN: subscribe, or pending with double opt-in ("Reply Y…"); Y/YES
//     while pending: subscribe and confirm.
//
// Keywords feed no run. Every other text — and a revocation, flagged with
// "revocation": true — becomes a Message Replied event for the contact's
// waiting run. Automatic replies are queued in the outbox (no run, flow "",
// step "keyword:<kind>"), at most policy.AutoRepliesPerHour per number.
func Inbound(ctx context.Context, db Store, clock smsflow.Clock, from, body string, opt InboundOptions) (InboundResult, error) {
	n, err := phone.Parse(from, opt.Region)
	if err != nil {
		return InboundResult{}, smsflow.FieldErrorf(smsflow.EINVALID, "from", "%s", smsflow.ErrorMessage(err))
	}
	// Cleaned, not refused: a STOP followed by a stray NUL or byte is still
	// a STOP, and must reach the ledger the same way on every database.
	body = smsflow.CleanText(body)
	if utf8.RuneCountInString(body) > MaxInboundBody {
		return InboundResult{}, smsflow.FieldErrorf(smsflow.EINVALID, "body", "body is longer than %d characters", MaxInboundBody)
	}
	now := clock.Now()
	var out InboundResult
	err = writeTx(ctx, db, func(tx WriteTx) error {
		c, err := tx.ContactByPhone(n.E164)
		if err != nil {
			return err
		}
		if c == nil {
			c = &smsflow.Contact{ID: smsflow.ContactIDForPhone(n.E164), Phone: n.E164, PhoneType: n.Type, Timezones: n.Timezones,
				Traits: map[string]any{}, PhoneVerified: true, CreatedAt: now, UpdatedAt: now}
			if len(n.Timezones) > 0 {
				c.Timezone, c.TimezoneSource = n.Timezones[0], "number"
			}
			if err := tx.InsertContact(c); err != nil {
				return err
			}
		} else if !c.PhoneVerified {
			// The number texted in: it reaches whoever holds this contact.
			if err := tx.VerifyPhone(n.E164); err != nil {
				return err
			}
		}
		// Consent and the reply limits are read-then-written: one number at a time.
		if err := tx.LockContact(c.ID); err != nil {
			return err
		}
		before, err := tx.ContactConsent(n.E164)
		if err != nil {
			return err
		}
		match := policy.Classify(body, opt.Keywords, before == smsflow.ConsentPending)
		info := segments.Measure(body)
		m := &smsflow.Message{Direction: "in", ContactID: c.ID, Phone: n.E164, Body: body, Encoding: info.Encoding,
			Characters: info.Characters, Segments: info.Segments, Status: smsflow.MessageReceived, Provider: opt.Provider, CreatedAt: now, UpdatedAt: now}
		if _, err := tx.InsertMessage(m); err != nil {
			return err
		}
		out = InboundResult{ContactID: c.ID, MessageID: m.ID, Keyword: string(match.Kind)}
		k := keywordTx{tx: tx, c: c, m: m, match: match, before: before, opt: opt, out: &out}
		if err := k.apply(); err != nil {
			return err
		}
		if match.Kind != policy.KeywordNone {
			// Consent (or HELP) answered it: the inbox leaves it out (D100).
			if err := tx.ConsumeReplies([]store.ConsumedReply{{MessageID: m.ID, By: "keyword:" + string(match.Kind)}}); err != nil {
				return err
			}
		}
		if match.Kind != policy.KeywordNone && match.Kind != policy.KeywordRevocation {
			return nil // a keyword feeds no run
		}
		props := map[string]any{"text": strings.TrimSpace(body), "message_id": m.ID}
		if match.Kind == policy.KeywordRevocation {
			props["revocation"] = true
			props["revocation_rule"] = match.Keyword
		}
		ev := &smsflow.Event{MessageID: fmt.Sprintf("mo-%d", m.ID), Type: smsflow.EventInbound, Name: smsflow.EventMessageReplied, ContactID: c.ID,
			Properties: props, Timestamp: now, ReceivedAt: now}
		if _, err := tx.InsertEvent(ev); err != nil {
			return err
		}
		out.Event = ev.Name
		return tx.AddInbox(c.ID, ev.Seq)
	})
	return out, err
}
