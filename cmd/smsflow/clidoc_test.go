package main

import (
	"os"
	"strings"
	"testing"
)

// TestCLIDocIsTheHelp: docs/cli.md pastes each command's --help verbatim;
// this fails when a help text changed (a flag added, a description
// reworded) and the reference was not pasted again, and when a command has
// no block there. The blocks are the lines after "$ smsflow CMD --help" up
// to the closing fence.
func TestCLIDocIsTheHelp(t *testing.T) {
	doc, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string]string{}
	lines := strings.Split(string(doc), "\n")
	for i, l := range lines {
		cmd, ok := strings.CutPrefix(l, "$ smsflow ")
		if !ok || !strings.HasSuffix(cmd, "--help") {
			continue
		}
		var b strings.Builder
		for _, body := range lines[i+1:] {
			if body == "```" {
				break
			}
			b.WriteString(body + "\n")
		}
		blocks[strings.TrimSpace(strings.TrimSuffix(cmd, "--help"))] = b.String()
	}
	want := append([]string{""}, func() (names []string) {
		for _, c := range commands() {
			names = append(names, c.name)
		}
		return names
	}()...)
	for _, name := range want {
		args := append(strings.Fields(name), "--help")
		_, out, _ := runArgs(args...)
		got, ok := blocks[name]
		switch {
		case !ok:
			t.Errorf("docs/cli.md has no `$ smsflow %s --help` block", strings.Join(args, " ")[:len(strings.Join(args, " "))-len(" --help")])
		case got != out:
			t.Errorf("docs/cli.md's `smsflow %s --help` differs from the binary's; paste it again:\n%s", name, out)
		}
	}
}
