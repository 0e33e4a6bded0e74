// Package flow is the definition side of the flow engine: it reads a flow
// file (docs/flows.md), checks it the way `smsflow validate` and `PUT /v1/flows/{id}`
// promise — every problem with its file:line:col and a message a marketer can
// act on — and compiles it into a [Flow] the interpreter can run.
//
// What it owns:
//   - the YAML model (triggers, entry rules, exits, goal and the step tree),
//     parsed from a yaml.v3 node tree so every key and value keeps its position;
//   - durations (s m h d w, d = 24h and w = 168h exactly) and the other small
//     value syntaxes (holdout percentages, wall-clock times);
//   - CEL: one environment with the variables of docs/flows.md, every expression compiled and
//     type-checked at load time, and evaluation against per-run [Vars] and
//     per-contact [Facts] bound at evaluation time, so one compiled program is
//     safe to evaluate concurrently for many contacts;
//   - step addressing for the interpreter: stable step ids, [Flow.Step],
//     [Flow.Next] and [Flow.Branch];
//   - checks across a set of flows ([CheckSet], [ValidateFiles]): duplicate ids,
//     `enter` targets that do not exist and cycles of `enter`.
//
// It does not run flows, store them or render templates: the interpreter, the
// stores and the Liquid package do, the last through [Options.CheckTemplate].
//
// Hostile input is bounded: files over [MaxFileSize], YAML anchors and aliases,
// deep nesting and unknown tags are rejected before anything is interpreted,
// CEL expressions have a size limit at compile time and a cost limit
// ([CostLimit]) at evaluation time, and parsing never panics.
package flow
