package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/smsflow/smsflow/store/sqlite"
)

// A path with the characters URIs give a meaning to opens that very file
// (a test's second storetest.Each made "sqlite#01" directories, whose
// databases were all one file cut at the "#").
func TestOpenPathWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a#1?b=c%41")
	if err := os.Mkdir(dir, 0o755); err != nil { // smsflow creates the file, not directories
		t.Fatal(err)
	}
	path := filepath.Join(dir, "smsflow.db")
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		t.Fatalf("database not at %s: %v", path, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("files next to the database's directory: %v, want only it", entries)
	}
}
