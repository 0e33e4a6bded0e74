package smsflow

import "time"

// Run statuses.
const (
	RunActive    = "active"    // being advanced now
	RunWaiting   = "waiting"   // paused on a wait step (timer, event or reply)
	RunCompleted = "completed" // walked off the end of its steps
	RunExited    = "exited"    // ended early; ExitReason says why
)

// Run is one contact's passage through one version of one flow.
type Run struct {
	ID          int64     `json:"id"`
	FlowID      string    `json:"flow_id"`
	FlowVersion int       `json:"flow_version"`
	ContactID   string    `json:"contact_id"`
	Status      string    `json:"status"`
	ExitReason  string    `json:"exit_reason,omitempty"` // e.g. "goal", "event:Order Completed", "opt_out", a flow's exit reason
	Step        string    `json:"step,omitempty"`        // the step to run next, or the wait step waited on
	WakeAt      time.Time `json:"wake_at,omitzero"`      // when a waiting run's timer fires (zero: no timer)
	Holdout     bool      `json:"holdout"`
	Variant     string    `json:"variant,omitempty"` // the last split variant taken
	State       RunState  `json:"state"`
	EnteredAt   time.Time `json:"entered_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	EndedAt     time.Time `json:"ended_at,omitzero"`
	GoalAt      time.Time `json:"goal_at,omitzero"`
	GoalValue   float64   `json:"goal_value,omitempty"`
}

// Ended reports whether the run is over.
func (r *Run) Ended() bool { return r.Status == RunCompleted || r.Status == RunExited }

// RunState is what a run carries between steps.
type RunState struct {
	Trigger  *Event            `json:"trigger,omitempty"`   // the event that started the run
	Waited   *Event            `json:"waited,omitempty"`    // after an event wait
	Reply    string            `json:"reply,omitempty"`     // after a reply wait
	TimedOut bool              `json:"timed_out,omitempty"` // after an event/reply wait that timed out
	Variants map[string]string `json:"variants,omitempty"`  // split step id → variant
	// WaitStarted is when the current wait began (durations count from it).
	WaitStarted time.Time `json:"wait_started,omitzero"`
	// DeferredSince is when the send step the run is parked on was first
	// deferred (quiet hours, on_cap: defer); zero when not deferred.
	DeferredSince time.Time `json:"deferred_since,omitzero"`
	// Steps counts executed steps, a guard against runaway runs.
	Steps int `json:"steps,omitempty"`
}
