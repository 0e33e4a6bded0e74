package delivery

import (
	"testing"

	"github.com/smsflow/smsflow"
)

// A person's conversation reply (no run) is checked against consent at the
// last moment like a flow's message: never to a number that opted out;
// other automatic replies (the STOP confirmation) still go.
func TestConversationReplyConsent(t *testing.T) {
	conv := &smsflow.Message{Category: smsflow.CategoryConversation, StepID: smsflow.ConversationStepPrefix + "admin"}
	stopConfirm := &smsflow.Message{StepID: "keyword:stop", Category: "service"}
	if !restricted(conv) {
		t.Error("a conversation reply is not consent-checked at send")
	}
	if restricted(stopConfirm) {
		t.Error("the STOP confirmation became consent-checked")
	}
	for st, want := range map[smsflow.ConsentStatus]bool{
		smsflow.ConsentUnsubscribed: false, smsflow.ConsentSubscribed: true, smsflow.ConsentNone: true, smsflow.ConsentPending: true,
	} {
		if got := consentAllows(conv, st); got != want {
			t.Errorf("a conversation reply to a number %s: allowed %v, want %v", st, got, want)
		}
	}
}
