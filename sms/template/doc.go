// Package template compiles and renders the Liquid message templates of send
// steps (docs/flows.md, Message templates).
//
// A template is compiled once, when its flow is loaded: Compile reports syntax
// errors with the line and column inside the template, rejects what a message
// template must not do (include files, ranges, unknown filters, more than
// MaxSourceBytes of source) and lists the output variables so the flow
// validator can warn about variables without a fallback.
//
// Render evaluates a compiled template against a Scope (contact, event, reply,
// waited, brand, flow, now) and refuses to produce a broken message: an empty
// body, leftover Liquid markup, or a variable without a `default` that
// rendered nothing all return a *RenderError, which the engine records as the
// decision skipped:template(<reason>). The `track` filter shortens links
// through the LinkTracker the engine passes to Render.
//
// Liquid is github.com/osteele/liquid. The package builds one configuration of
// it at start-up and shares it: the configuration is read-only after init and
// every Render gets its own variable bindings, so compiled templates may be
// rendered from many goroutines at once. To give filters per-render state (the
// link tracker, `now`, resource budgets) and to detect missing variables where
// they are printed, Compile keeps the user's source for error reporting and
// compiles a second, instrumented copy of it for rendering; see instrument.go.
package template
