// Command runtests is the README's test command: it says which outside
// peers the suite can use on this machine — PostgreSQL, Node.js with the
// official client libraries and the SMPP test server, Chromium, a C
// compiler for the race detector — and what to set or install for those
// that are absent, then runs `go test` over the module and says it again at
// the end, next to the result (Go prints only "ok" for a passing package,
// hiding the tests that skipped for want of a peer). It needs only Go.
//
//	go run ./internal/tools/runtests                # go test -race ./... (without -race when there is no C compiler)
//	go run ./internal/tools/runtests -count=1 ./engine/   # extra go test flags and packages
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// peer is one outside dependency of some tests.
type peer struct {
	name    string // what it is
	tests   string // which tests need it
	missing string // "" when present; else what is wrong and how to fix it
}

func main() {
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "runtests:", err)
		os.Exit(2)
	}
	peers := findPeers(root)
	race := raceAvailable()
	report(os.Stdout, peers, race)

	args := []string{"test"}
	if race == "" && !hasFlag(os.Args[1:], "-race") {
		args = append(args, "-race")
	}
	args = append(args, os.Args[1:]...)
	if !hasPackage(os.Args[1:]) {
		args = append(args, "./...")
	}
	fmt.Printf("\n$ go %s\n", strings.Join(args, " "))
	cmd := exec.Command("go", args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stdout, os.Stderr
	runErr := cmd.Run()
	fmt.Println()
	report(os.Stdout, peers, race)
	var exit *exec.ExitError
	switch {
	case runErr == nil:
		fmt.Println("tests passed")
	case errors.As(runErr, &exit):
		fmt.Println("tests FAILED")
		os.Exit(exit.ExitCode())
	default:
		fmt.Fprintln(os.Stderr, "runtests: go test:", runErr)
		os.Exit(2)
	}
}

// moduleRoot is the directory of the smsflow go.mod (tests run from there).
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run this inside the smsflow repository")
	}
	return filepath.Dir(mod), nil
}

// findPeers checks each outside peer the way the tests that need it do.
func findPeers(root string) []peer {
	var out []peer
	pg := peer{name: "PostgreSQL", tests: "the PostgreSQL half of every storage, engine and server test"}
	if url := os.Getenv("SMSFLOW_TEST_POSTGRES"); url == "" {
		pg.missing = "SMSFLOW_TEST_POSTGRES is not set: start PostgreSQL (15 or later) and export SMSFLOW_TEST_POSTGRES=postgres://user:pass@127.0.0.1:5432/db"
	} else if err := pingPostgres(url); err != nil {
		pg.missing = fmt.Sprintf("SMSFLOW_TEST_POSTGRES is set but PostgreSQL does not answer (%v): those tests will fail", err)
	}
	out = append(out, pg)

	node := peer{name: "Node.js + the official Segment/RudderStack clients", tests: "TestOfficialClientLibraries"}
	smpp := peer{name: "Node.js + the SMPP test server", tests: "the SMPP provider tests"}
	if _, err := exec.LookPath("node"); err != nil {
		node.missing = "node is not on PATH: install Node.js 20 or later, then run npm ci --prefix testdata/clients"
		smpp.missing = "node is not on PATH: install Node.js 20 or later, then run npm ci --prefix testdata/smppserver"
	} else {
		if !exists(filepath.Join(root, "testdata/clients/node_modules")) {
			node.missing = "testdata/clients/node_modules is absent: run npm ci --prefix testdata/clients"
		}
		if !exists(filepath.Join(root, "testdata/smppserver/node_modules")) {
			smpp.missing = "testdata/smppserver/node_modules is absent: run npm ci --prefix testdata/smppserver"
		}
	}
	out = append(out, node, smpp)

	// As internal/browsertest.Chromium looks for it (not imported: this tool
	// starts before the suite and stays small).
	browser := peer{name: "Chromium", tests: "the web UI's browser tests"}
	browser.missing = "no chromium, chromium-browser or google-chrome on PATH and SMSFLOW_CHROMIUM is not set: install Debian's chromium package"
	if os.Getenv("SMSFLOW_CHROMIUM") != "" {
		browser.missing = ""
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if _, err := exec.LookPath(name); err == nil {
			browser.missing = ""
		}
	}
	out = append(out, browser)
	return out
}

// raceAvailable says why the race detector cannot run here ("" when it can):
// it needs cgo and a C compiler.
func raceAvailable() string {
	out, err := exec.Command("go", "env", "CGO_ENABLED", "CC").Output()
	if err != nil {
		return "go env failed: " + err.Error()
	}
	f := strings.Fields(string(out))
	if len(f) < 1 || f[0] != "1" {
		return "cgo is off (CGO_ENABLED=0)"
	}
	cc := "gcc"
	if len(f) > 1 {
		cc = f[1]
	}
	if _, err := exec.LookPath(cc); err != nil {
		return "no C compiler (" + cc + ") on PATH"
	}
	return ""
}

func pingPostgres(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func report(w io.Writer, peers []peer, race string) {
	fmt.Fprintln(w, "Outside peers of the test suite:")
	for _, p := range peers {
		if p.missing == "" {
			fmt.Fprintf(w, "  ok       %s (%s)\n", p.name, p.tests)
		} else {
			fmt.Fprintf(w, "  SKIPPED  %s — %s will skip. %s\n", p.name, p.tests, p.missing)
		}
	}
	if race == "" {
		fmt.Fprintln(w, "  ok       race detector")
	} else {
		fmt.Fprintf(w, "  off      race detector: %s (install gcc to run the suite with -race)\n", race)
	}
}

func hasFlag(args []string, flag string) bool {
	for _, a := range args {
		if a == flag || strings.HasPrefix(a, flag+"=") {
			return true
		}
	}
	return false
}

// hasPackage reports whether the arguments name packages (anything not a
// flag that does not follow a flag taking a value).
func hasPackage(args []string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, "./") || strings.HasPrefix(a, "github.com/") || a == "." || a == "..." {
			return true
		}
	}
	return false
}
