package flow

import (
	"fmt"
	"time"

	"github.com/smsflow/smsflow"
)

// Category is a flow's class. It sets the default priority and, for the
// policy layer, which consent and quiet-hour rules apply.
type Category string

// Flow categories: what a flow's messages are, which decides the consent
// they need and whether quiet hours and caps apply.
const (
	CategoryService   Category = "service"
	CategoryLifecycle Category = "lifecycle"
	CategoryBehavior  Category = "behavior"
	CategoryPromo     Category = "promo"
)

// Categories lists the valid categories in priority order, for messages.
var Categories = []Category{CategoryService, CategoryLifecycle, CategoryBehavior, CategoryPromo}

// DefaultPriority is the priority a flow of this category gets when it sets
// none: service 100 > lifecycle 75 > behavior 50 > promo 25; 0 for an unknown
// category.
func (c Category) DefaultPriority() int {
	switch c {
	case CategoryService:
		return 100
	case CategoryLifecycle:
		return 75
	case CategoryBehavior:
		return 50
	case CategoryPromo:
		return 25
	}
	return 0
}

// Flow is one compiled, validated flow definition. It is immutable once
// returned by Parse and safe for concurrent use.
type Flow struct {
	ID       string
	Name     string // defaults to ID
	Category Category
	Priority int // explicit, else Category.DefaultPriority()
	Trigger  Trigger
	Entry    Entry
	Exit     []ExitRule
	Goal     *Goal // nil: no goal
	Steps    []*Step

	// File is the name the flow was parsed under (a path, or what the API
	// passed); problems and step positions refer to it.
	File string
	// Source is the file exactly as written, comments included.
	Source []byte
	// Hash identifies the content: sha256 (hex) of the YAML re-marshalled from
	// the parsed node tree with comments dropped and scalar and collection
	// styles reset, so changes of comments, quoting, block style or
	// indentation keep the hash, while any change of a value or of key order
	// changes it. An identical PUT makes no new version.
	Hash string

	idLine, idCol int
	order         []*Step // every step, depth-first (pre-order)
	index         map[string]*Step
	next          map[string]string
}

// TriggerKind says which of the five triggers a flow uses.
type TriggerKind string

// Trigger kinds.
const (
	TriggerEvent      TriggerKind = "event"
	TriggerConsent    TriggerKind = "consent"
	TriggerInactivity TriggerKind = "inactivity"
	TriggerSegment    TriggerKind = "segment"
	TriggerDate       TriggerKind = "date"
)

// Trigger is what starts a run. Exactly one of the kind-specific fields is
// set, as Kind says.
type Trigger struct {
	Kind TriggerKind
	// Event is the event name of an event trigger.
	Event string
	// Consent is the status whose arrival starts a consent trigger; only
	// "subscribed" is valid.
	Consent smsflow.ConsentStatus
	// Inactivity is set for an inactivity trigger.
	Inactivity *Inactivity
	// Segment is set for a segment trigger.
	Segment *Segment
	// Date is set for a date trigger.
	Date *DateTrigger
	// Where is the optional condition of an event, consent, inactivity or
	// date trigger (nil: always). `event` is the triggering event; for an
	// inactivity trigger it is the last such event, for a date trigger the
	// "Date Reached" event of the entry.
	Where *Expr
}

// Scheduled reports whether contacts enter at a wall-clock time of their
// own zone found by a scan (a local segment or a date trigger), with the
// entry rules checked at that moment.
func (t Trigger) Scheduled() bool {
	return t.Kind == TriggerDate && t.Date != nil || t.Kind == TriggerSegment && t.Segment != nil && t.Segment.Local
}

// Daily reports whether the trigger's scan repeats every day: a local
// segment at a time without a date, or a date trigger.
func (t Trigger) Daily() bool {
	return t.Kind == TriggerDate && t.Date != nil || t.Kind == TriggerSegment && t.Segment != nil && t.Segment.Local && t.Segment.LocalAt.Daily()
}

// Clock is the local time of day a scheduled trigger enters contacts at.
func (t Trigger) Clock() Clock {
	switch {
	case t.Date != nil:
		return t.Date.At
	case t.Segment != nil:
		return t.Segment.LocalAt.Clock
	}
	return Clock{}
}

// Inactivity fires for a contact who had Event at least once and then none
// for For.
type Inactivity struct {
	Event string
	For   time.Duration
}

// Segment is a scheduled entry of every contact matching Where.
type Segment struct {
	Where *Expr
	// Local says the schedule is a wall-clock time in each contact's own zone
	// (LocalAt); otherwise it is the instant At.
	Local   bool
	At      time.Time // !Local: the instant, in UTC
	LocalAt WallTime  // Local: the wall-clock time
}

// WallTime is a local wall-clock time, resolved per contact time zone by the
// engine. Without a date it recurs every day at Clock.
type WallTime struct {
	HasDate bool
	Year    int
	Month   time.Month
	Day     int
	Clock   Clock
}

// Daily reports whether the time recurs every day (an "HH:MM" without date).
func (w WallTime) Daily() bool { return !w.HasDate }

// String returns the time as written in a flow file: "2006-01-02T15:04" or "15:04".
func (w WallTime) String() string {
	if !w.HasDate {
		return w.Clock.String()
	}
	return fmt.Sprintf("%04d-%02d-%02dT%s", w.Year, int(w.Month), w.Day, w.Clock)
}

// Clock is a time of day, minute precision, 24-hour.
type Clock struct {
	Hour, Minute int
}

// String returns "HH:MM".
func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", c.Hour, c.Minute) }

// Entry holds the rules checked before a contact enters, in the order
// trigger where, consent class, Unless, Reentry, Holdout: the cheap and
// certain checks first, the random holdout draw last.
type Entry struct {
	Reentry Reentry
	// Unless suppresses entry when true (nil: never); on a run-time error it
	// counts as true (fail closed).
	Unless *Expr
	// Holdout is the control-group share in percent, 0–100.
	Holdout float64
}

// Reentry limits how often a contact may enter. The zero value means "not
// while a run of this flow is active", the default.
type Reentry struct {
	Never bool          // once ever
	After time.Duration // > 0: at most one entry per After, counted from the last entry
}

// ExitRule ends a run the moment a matching event arrives.
type ExitRule struct {
	Event string
	Where *Expr // nil: any such event; `event` is the candidate event
}

// Goal is the conversion a flow is measured by.
type Goal struct {
	Event  string
	Where  *Expr // optional condition on the candidate event
	Within time.Duration
	Value  *Expr // optional, a number (double); nil: no value
	Exit   bool  // reaching the goal ends the run (default true)
}

// StepKind says what a step does.
type StepKind string

// Step kinds.
const (
	StepSend   StepKind = "send"
	StepWait   StepKind = "wait"
	StepIf     StepKind = "if"
	StepSwitch StepKind = "switch"
	StepSplit  StepKind = "split"
	StepSet    StepKind = "set"
	StepEnter  StepKind = "enter"
	StepExit   StepKind = "exit"
)

// StepKinds lists every step kind, in the order messages name them.
var StepKinds = []StepKind{StepSend, StepWait, StepIf, StepSwitch, StepSplit, StepSet, StepEnter, StepExit}

// Step is one node of the step tree. Exactly one kind-specific field is set,
// as Kind says.
type Step struct {
	// ID is the explicit id, or "step-N" where N is the step's 1-based
	// position in a depth-first (pre-order) walk of the whole step tree:
	// every step counts, a branching step before the steps of its branches,
	// branches in the order written (then before else, cases and variants in
	// order). Runs point at steps by ID.
	ID string
	// Generated reports that ID was not written in the file.
	Generated bool
	Kind      StepKind
	// Line and Col locate the step in the file (its first key).
	Line, Col int

	Send   *Send
	Wait   *Wait
	If     *If
	Switch []Case
	Split  []Variant
	Set    []Assignment
	Enter  string // the target flow id
	Exit   string // the exit reason; the run ends as "exited:<reason>"
}

// Branches returns the step lists a branching step may continue into, in the
// order Flow.Branch numbers them: [then, else] for if, one per case for
// switch (the else case last), one per variant for split; nil otherwise.
func (s *Step) Branches() [][]*Step {
	switch s.Kind {
	case StepIf:
		return [][]*Step{s.If.Then, s.If.Else}
	case StepSwitch:
		out := make([][]*Step, len(s.Switch))
		for i, c := range s.Switch {
			out[i] = c.Then
		}
		return out
	case StepSplit:
		out := make([][]*Step, len(s.Split))
		for i, v := range s.Split {
			out[i] = v.Then
		}
		return out
	}
	return nil
}

// Send sends one message rendered from a Liquid template.
type Send struct {
	Template string
	From     string // optional sender: a configured sender's from, messaging_service_sid or source_addr
}

// WaitKind says what a wait step waits for.
type WaitKind string

// Wait kinds.
const (
	WaitDuration   WaitKind = "duration"    // wait: 24h
	WaitUntil      WaitKind = "until"       // wait: {until: CEL timestamp}
	WaitUntilLocal WaitKind = "until_local" // wait: {until_local: "10:00"}
	WaitEvent      WaitKind = "event"       // wait: {event: NAME, where: CEL, timeout: D}
	WaitReply      WaitKind = "reply"       // wait: {reply: true, timeout: D}
)

// Wait pauses the run. After an event or reply wait, `waited.event`,
// `reply.text` and `timed_out` are in scope.
type Wait struct {
	Kind       WaitKind
	Duration   time.Duration // WaitDuration
	Until      *Expr         // WaitUntil: a timestamp
	UntilLocal Clock         // WaitUntilLocal: the next such time in the contact's zone
	Event      string        // WaitEvent
	Where      *Expr         // WaitEvent, optional; `event` is the candidate event
	Timeout    time.Duration // WaitEvent, WaitReply: when to go on with timed_out = true
}

// If branches on a condition; a run-time error counts as false.
type If struct {
	Cond *Expr
	Then []*Step // never empty
	Else []*Step // may be empty: go on after the if
}

// Case is one arm of a switch: the first case whose When is true is taken.
// When is nil for the final else case.
type Case struct {
	When *Expr
	Then []*Step // never empty
}

// Variant is one arm of a random, sticky split.
type Variant struct {
	Name   string
	Weight int // > 0; the share is Weight / sum of weights
	Then   []*Step
}

// Assignment sets one contact trait to the value of an expression.
type Assignment struct {
	Trait string
	Value *Expr
}

// Start returns the id of the first step, "" for a flow without steps.
func (f *Flow) Start() string {
	if len(f.Steps) == 0 {
		return ""
	}
	return f.Steps[0].ID
}

// Step returns the step with the given id, nil when there is none.
func (f *Flow) Step(id string) *Step { return f.index[id] }

// Next returns the id of the step that follows when the step id completes:
// the next step of its list, else the continuation after the enclosing
// branching step, and so on outwards; "" means the run is complete. Branching
// steps continue into a branch instead (see Branch); for them Next is where
// the run goes after the branch. Next is "" for exit and enter steps, which
// end the run, and for an unknown id.
func (f *Flow) Next(id string) string { return f.next[id] }

// Branch returns the id of the first step of branch i of the branching step
// id (numbered as Step.Branches), or Next(id) when that branch is empty, as
// an if without else is. ok is false when id is not a branching step or i is
// out of range.
func (f *Flow) Branch(id string, i int) (next string, ok bool) {
	s := f.index[id]
	if s == nil {
		return "", false
	}
	b := s.Branches()
	if i < 0 || i >= len(b) {
		return "", false
	}
	if len(b[i]) == 0 {
		return f.next[id], true
	}
	return b[i][0].ID, true
}

// AllSteps returns every step, depth-first in the order ids are numbered.
func (f *Flow) AllSteps() []*Step { return f.order }

// link fills index and next from the step tree.
func (f *Flow) link() {
	f.index = make(map[string]*Step, len(f.order))
	for _, s := range f.order {
		if _, dup := f.index[s.ID]; !dup {
			f.index[s.ID] = s
		}
	}
	f.next = make(map[string]string, len(f.order))
	var walk func(list []*Step, after string)
	walk = func(list []*Step, after string) {
		for i, s := range list {
			next := after
			if i+1 < len(list) {
				next = list[i+1].ID
			}
			if s.Kind != StepExit && s.Kind != StepEnter {
				f.next[s.ID] = next
			}
			for _, b := range s.Branches() {
				walk(b, next)
			}
		}
	}
	walk(f.Steps, "")
}
