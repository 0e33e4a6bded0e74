package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestKeysRotate rotates a stored key from the command line, and refuses
// one set in the environment, saying where it is set.
func TestKeysRotate(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "smsflow.db")
	keys := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"keys", "--db", dsn}, args...), &out, &errb)
		return out.String(), errb.String(), code
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"migrate", "--db", dsn}, &out, &errb); code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, errb.String())
	}
	server := regexp.MustCompile(`server key: (\S+)`)
	before, _, _ := keys()
	after, stderr, code := keys("--rotate", "server")
	if code != 0 || !strings.Contains(stderr, "server key rotated") {
		t.Fatalf("keys --rotate server: exit %d, %q", code, stderr)
	}
	if b, a := server.FindStringSubmatch(before), server.FindStringSubmatch(after); b == nil || a == nil || b[1] == a[1] {
		t.Errorf("the server key before %v and after %v the rotation, want a new one", b, a)
	}
	if again, _, _ := keys(); again != after {
		t.Errorf("the keys printed after the rotation %q are not the stored ones %q", after, again)
	}

	t.Setenv("SMSFLOW_ADMIN_KEY", "ak_from_the_environment")
	_, stderr, code = keys("--rotate", "admin")
	if code == 0 || !strings.Contains(stderr, "SMSFLOW_ADMIN_KEY") {
		t.Errorf("rotating a key set in the environment: exit %d, %q; want a refusal naming SMSFLOW_ADMIN_KEY", code, stderr)
	}
}
