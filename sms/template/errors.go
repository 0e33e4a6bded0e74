package template

import (
	"fmt"

	"github.com/smsflow/smsflow"
)

// SyntaxError is why Compile refused a template. Line and Col (1-based, Col
// counted in Unicode code points) point inside the template source so the flow
// validator can turn them into file:line:col of the YAML; both are 0 when the
// error is about the template as a whole (its size, its encoding).
type SyntaxError struct {
	Line, Col int
	Message   string
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("template line %d, column %d: %s", e.Line, e.Col, e.Message)
	}
	return "template: " + e.Message
}

// Unwrap exposes the error as an invalid-input *smsflow.Error, so
// smsflow.ErrorCode reports it as EINVALID wherever it surfaces.
func (e *SyntaxError) Unwrap() error {
	return smsflow.Errorf(smsflow.EINVALID, "%s", e.Error())
}

// RenderError is why Render refused to produce a message from a template that
// compiled: the engine records it as the decision skipped:template(Reason).
// Reasons are short and stable in their prefix: "empty", "unrendered markup",
// "missing variable PATH", "too large", "liquid error: …".
type RenderError struct {
	Reason string
}

func (e *RenderError) Error() string { return "render template: " + e.Reason }

// Unwrap exposes the error as an invalid-input *smsflow.Error.
func (e *RenderError) Unwrap() error {
	return smsflow.Errorf(smsflow.EINVALID, "%s", e.Error())
}
