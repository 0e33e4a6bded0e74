package flow

import (
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/smsflow/smsflow"
)

// Language lists the names of the flow language as the parser and the CEL
// environment know them. It exists so that the reference documentation
// (docs/flows.md) is checked against the code: a key, kind or function that
// is added here and not documented there fails the documentation's test.
type Language struct {
	// Keys maps each mapping of a flow file, named as validation messages
	// name it ("flow", "trigger", "step", "wait", …), to the keys it allows.
	Keys map[string][]string
	// TriggerKinds, StepKinds and WaitKinds are the kinds of triggers,
	// steps and waits; the wait kinds are "duration" (wait: 24h) and the
	// keys that make the other forms.
	TriggerKinds, StepKinds, WaitKinds []string
	// DateEvery are the values of a date trigger's every:.
	DateEvery []string
	// Categories are the values of category:.
	Categories []string
	// CELVariables are the variables expressions may read.
	CELVariables []string
	// CELFunctions maps every function of the environment (operators left
	// out) to the signatures of its overloads, like
	// "count(string, duration) → int" or "string.trim() → string".
	CELFunctions map[string][]string
	// CELMacros are the macros (has, all, exists, …).
	CELMacros []string
	// ContactFields and EventFields are the fields of `contact` and of an
	// event (`event`, `trigger`, `waited.event`) in expressions.
	ContactFields, EventFields []string
}

// DescribeLanguage returns the flow language's names, each list sorted
// (kinds in the order messages name them).
func DescribeLanguage() Language {
	l := Language{
		Keys: map[string][]string{
			"flow":          flowKeys,
			"trigger":       triggerKeys,
			"inactivity":    inactivityKeys,
			"segment":       segmentKeys,
			"date":          dateKeys,
			"entry":         entryKeys,
			"exit rule":     exitKeys,
			"goal":          goalKeys,
			"step":          stepKeys,
			"send":          sendKeys,
			"wait":          waitKeys,
			"switch case":   caseKeys,
			"split variant": variantKeys,
		},
		TriggerKinds:  slices.Clone(triggerKinds),
		WaitKinds:     append([]string{string(WaitDuration)}, waitForms...),
		ContactFields: slices.Sorted(maps.Keys(ContactVars(smsflow.Contact{}, ""))),
		EventFields:   slices.Sorted(maps.Keys(EventVars(&smsflow.Event{}))),
		CELFunctions:  map[string][]string{},
	}
	for k, v := range l.Keys {
		l.Keys[k] = slices.Clone(v)
	}
	for _, k := range StepKinds {
		l.StepKinds = append(l.StepKinds, string(k))
	}
	for _, e := range dateEveries {
		l.DateEvery = append(l.DateEvery, string(e))
	}
	for _, c := range Categories {
		l.Categories = append(l.Categories, string(c))
	}
	env, err := celEnv()
	if err != nil {
		return l
	}
	for _, v := range env.Variables() {
		l.CELVariables = append(l.CELVariables, v.Name())
	}
	slices.Sort(l.CELVariables)
	for name, fn := range env.Functions() {
		// Operators are named _+_, @in, !_ …; `in` is the operator's
		// old call form, which the parser no longer accepts.
		if !celIdentifier.MatchString(name) || name == "in" {
			continue
		}
		var sigs []string
		for _, o := range fn.OverloadDecls() {
			args := make([]string, len(o.ArgTypes()))
			for i, a := range o.ArgTypes() {
				args[i] = celTypeName(a.String())
			}
			call := name + "(" + strings.Join(args, ", ") + ")"
			if o.IsMemberFunction() {
				call = args[0] + "." + name + "(" + strings.Join(args[1:], ", ") + ")"
			}
			sigs = append(sigs, call+" → "+celTypeName(o.ResultType().String()))
		}
		slices.Sort(sigs)
		l.CELFunctions[name] = slices.Compact(sigs)
	}
	for _, m := range env.Macros() {
		l.CELMacros = append(l.CELMacros, m.Function())
	}
	slices.Sort(l.CELMacros)
	l.CELMacros = slices.Compact(l.CELMacros)
	return l
}

var celIdentifier = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.]*$`)

// celTypeName writes a cel-go type name as flow authors meet it:
// duration and timestamp rather than their protobuf names, A rather than <A>.
func celTypeName(s string) string {
	return strings.NewReplacer("google.protobuf.Duration", "duration", "google.protobuf.Timestamp", "timestamp", "<", "", ">", "").Replace(s)
}
