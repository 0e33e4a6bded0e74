package delivery_test

import (
	"os/exec"
	"strings"
	"testing"
)

// Sending and its outcomes stand on their own: neither the sender
// (delivery) nor the engine that queues its messages imports ingest, the
// trigger end of the loop. Inbound texts reach ingest through the function
// the wiring hands ProviderEvents (HandleInbound), not through an import.
func TestSendingSideDoesNotImportIngest(t *testing.T) {
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the imports with")
	}
	const module = "github.com/smsflow/smsflow/"
	for _, pkg := range []string{"delivery", "engine"} {
		out, err := exec.Command(gocmd, "list", "-deps", "-f", "{{.ImportPath}}", module+pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == module+"ingest" || strings.HasPrefix(dep, module+"ingest/") {
				t.Errorf("%s imports %s", pkg, dep)
			}
		}
	}
}
