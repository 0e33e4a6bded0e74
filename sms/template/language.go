package template

import (
	"maps"
	"slices"
)

// Filters lists, sorted, every Liquid filter a message template may use:
// the library's standard filters and the package's own (track). It exists
// so that the reference documentation (docs/flows.md) is checked against
// the code.
func Filters() []string { return slices.Sorted(maps.Keys(std.maxArgs)) }

// ScopeNames lists, sorted, the variables Render binds (contact, event, …).
func ScopeNames() []string { return slices.Sorted(maps.Keys(scopeRoots)) }
