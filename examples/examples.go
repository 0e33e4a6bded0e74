// Package examples ships the example flows. `smsflow serve` loads them when
// no ./flows directory exists and the provider is console, so a developer
// sees flows working at once while a real account never texts customers from
// examples.
package examples

import (
	"embed"
	"io/fs"
)

//go:embed flows/*.yaml
var files embed.FS

// Flows returns the example flow files.
func Flows() fs.FS {
	f, _ := fs.Sub(files, "flows")
	return f
}
