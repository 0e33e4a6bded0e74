package testkit

import (
	"os"
	"path/filepath"
	"testing"
)

// SaveAsEditor writes src to path as editors save: a hidden temporary file
// next to it, renamed over it, so that a reader never sees half a file.
func SaveAsEditor(t testing.TB, path, src string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
