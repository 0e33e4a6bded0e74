package engine

import (
	"github.com/smsflow/smsflow"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/phone"
)

// senderFor is the sender a send step's message is queued for
// (Config.SenderOf): "" for the default. A from: that names no configured
// sender — a stored flow saved before the sender left the configuration;
// validation refuses it in new ones — goes from the default sender rather
// than nowhere, said in the decision's detail and logged.
func (e *Engine) senderFor(comp *Compiled, step *flow.Step, d *smsflow.Decision) string {
	from := step.Send.From
	if from == "" || e.cfg.SenderOf == nil {
		return ""
	}
	sender, ok := e.cfg.SenderOf(from)
	if ok {
		return sender
	}
	note := "from " + from + " is not a configured sender: sent from the default sender"
	if d.Detail != "" {
		note = d.Detail + "; " + note
	}
	d.Detail = note
	e.log.Warn("a send step names a sender that is not configured; its message goes from the default sender", "flow", comp.ID, "step", step.ID, "from", phone.MaskSender(from))
	return ""
}
