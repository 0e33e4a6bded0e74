package ingest

import (
	"fmt"
	"strings"

	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/policy"
	"github.com/smsflow/smsflow/store"
)

// keywordTx applies a classified inbound text inside Inbound's transaction:
// the consent change and the automatic reply.
type keywordTx struct {
	tx     WriteTx
	c      *smsflow.Contact
	m      *smsflow.Message // the inbound message
	match  policy.Match
	before smsflow.ConsentStatus
	opt    InboundOptions
	out    *InboundResult
}

func (k *keywordTx) apply() error {
	switch k.match.Kind {
	case policy.KeywordStop, policy.KeywordRevocation:
		if _, err := k.consent(smsflow.ConsentUnsubscribed); err != nil {
			return err
		}
		// Twilio's own STOP handling answers keywords; it knows nothing of a
		// revocation in words or of a keyword in other Unicode forms
		// ("ＳＴＯＰ"), so smsflow confirms those itself.
		return k.reply(k.match.Kind == policy.KeywordStop && !k.match.Folded, false)
	case policy.KeywordHelp:
		return k.reply(!k.match.Folded, false)
	case policy.KeywordStart:
		ok, err := k.consent(smsflow.ConsentSubscribed)
		if err != nil || !ok {
			return err
		}
		return k.reply(!k.match.Folded, false)
	case policy.KeywordJoin:
		if k.before == smsflow.ConsentSubscribed {
			return k.reply(false, false) // already in: confirm, change nothing
		}
		status := smsflow.ConsentSubscribed
		if k.opt.DoubleOptIn {
			status = smsflow.ConsentPending
		}
		ok, err := k.consent(status)
		if err != nil || !ok {
			return err
		}
		return k.reply(false, status == smsflow.ConsentPending)
	case policy.KeywordConfirm:
		// The number's Y confirms the pending opt-in — a JOIN, a form, a
		// checkout, the API or Shopify: recorded as double_opt_in, with the
		// opt-in it confirms as evidence.
		ok, err := k.consent(smsflow.ConsentSubscribed)
		if err != nil || !ok {
			return err
		}
		return k.reply(false, false)
	}
	return nil
}

// consent appends a keyword entry to the number's ledger the way
// RecordConsent does (AppendConsent, then store.ConsentEvent into the engine's
// inbox). false when the ledger's rule refused it: that is recorded in the
// result, not an error. The text is the evidence; a Y/YES confirming a
// double opt-in is recorded with source double_opt_in and the pending
// opt-in it confirms (its id, source, claimed time and evidence).
func (k *keywordTx) consent(status smsflow.ConsentStatus) (bool, error) {
	evidence := map[string]any{"keyword": k.match.Keyword, "body": k.m.Body, "message_id": k.m.ID, "provider": k.opt.Provider}
	if k.match.Flagged {
		evidence["revocation"] = true
	}
	source := smsflow.SourceKeyword
	if k.match.Kind == policy.KeywordConfirm {
		source = smsflow.SourceDoubleOptIn
		optIn, err := k.tx.LatestConsent(k.c.Phone)
		if err != nil {
			return false, err
		}
		if optIn != nil && optIn.Status == smsflow.ConsentPending {
			evidence["opt_in"] = map[string]any{"id": optIn.ID, "source": string(optIn.Source), "timestamp": optIn.OccurredAt, "evidence": optIn.Evidence}
		}
	}
	e := &smsflow.ConsentEntry{Phone: k.c.Phone, ContactID: k.c.ID, Status: status, Source: source,
		Evidence: evidence, MessageID: fmt.Sprintf("mo-%d", k.m.ID), OccurredAt: k.m.CreatedAt.UTC(), RecordedAt: k.m.CreatedAt}
	if err := k.tx.AppendConsent(e); err != nil {
		if smsflow.ErrorCode(err) == smsflow.ECONFLICT {
			k.out.ConsentRefused = smsflow.ErrorMessage(err)
			k.out.ReplySkipped = policy.ReplySkippedNoChange
			return false, nil
		}
		return false, err
	}
	if err := store.ConsentEvent(k.tx, e, k.before, true); err != nil {
		return false, err
	}
	if status != k.before {
		k.out.Consent = status
	}
	return true, nil
}

// reply queues the automatic reply for the match unless the provider sends
// its own (providerAnswers and !SendConfirmations) or the number's reply
// limits say no.
func (k *keywordTx) reply(providerAnswers, joinPending bool) error {
	if providerAnswers && !k.opt.SendConfirmations {
		k.out.ReplySkipped = policy.ReplySkippedProvider
		return nil
	}
	text := smsflow.CleanText(policy.AutoReplyText(k.match.Kind, joinPending, k.opt.BrandName, k.opt.HelpText))
	if strings.TrimSpace(text) == "" {
		return nil
	}
	step := policy.AutoReplyStep(k.match.Kind)
	now := k.m.CreatedAt
	id, why, err := queueAutoReply(k.tx, k.c, step, text, now, func(recent []policy.AutoReplySent) string {
		return policy.AllowAutoReply(step, recent, now)
	})
	if err != nil || why != "" {
		k.out.ReplySkipped = why
		return err
	}
	k.out.ReplyMessageID = id
	return nil
}
