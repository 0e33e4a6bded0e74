package flow

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func problemStrings(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func TestValidateFilesValid(t *testing.T) {
	flows, problems := ValidateFiles([]string{"testdata/valid"}, Options{})
	if len(problems) != 0 {
		t.Errorf("problems:\n%s", strings.Join(problemStrings(problems), "\n"))
	}
	var ids []string
	for _, f := range flows {
		ids = append(ids, f.ID)
	}
	if got, want := strings.Join(ids, " "), "cart-recovery post-purchase renewal vip-drop welcome winback"; got != want {
		t.Errorf("flows = %s, want %s", got, want)
	}
}

func TestValidateFilesEnterCycle(t *testing.T) {
	flows, problems := ValidateFiles([]string{"testdata/cycle/a.yaml", "testdata/cycle/b.yaml", "testdata/cycle/c.yaml"}, Options{})
	want := []string{
		`testdata/cycle/a.yaml:5:5: enter "b" makes a loop of flows (a → b → c → a); a contact could go round it forever`,
		`testdata/cycle/b.yaml:6:5: enter "c" makes a loop of flows (b → c → a → b); a contact could go round it forever`,
		`testdata/cycle/c.yaml:7:9: enter "a" makes a loop of flows (c → a → b → c); a contact could go round it forever`,
	}
	if got := problemStrings(problems); !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(flows) != 0 {
		t.Errorf("flows in a cycle were returned as valid: %d", len(flows))
	}
	// The same three as a directory; without c the loop is a dangling enter.
	if _, problems := ValidateFiles([]string{"testdata/cycle"}, Options{}); len(problems) != 3 {
		t.Errorf("directory: %d problems, want 3", len(problems))
	}
	_, problems = ValidateFiles([]string{"testdata/cycle/a.yaml", "testdata/cycle/b.yaml"}, Options{})
	if got, want := problemStrings(problems), []string{`testdata/cycle/b.yaml:6:5: enter "c": no flow has this id`}; !slices.Equal(got, want) {
		t.Errorf("without c: %v, want %v", got, want)
	}
}

func TestValidateFilesAcrossFiles(t *testing.T) {
	flows, problems := ValidateFiles([]string{"testdata/dangling", "testdata/valid"}, Options{})
	want := []string{
		`testdata/dangling/one.yaml:5:5: enter "post-purchse": no flow has this id; did you mean "post-purchase"?`,
		`testdata/dangling/two.yaml:1:5: flow id "one" is already used by testdata/dangling/one.yaml; flow ids must be unique`,
		`testdata/valid/post-purchase.yaml:1:5: flow id "post-purchase" is already used by testdata/dangling/post-purchase.yaml; flow ids must be unique`,
	}
	if got := problemStrings(problems); !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, f := range flows {
		if f.File == "testdata/dangling/one.yaml" || f.File == "testdata/dangling/two.yaml" {
			t.Errorf("invalid flow %s returned", f.File)
		}
	}
}

func TestValidateFilesSelfEnterAndErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	self := write("self.yaml", "id: self\ncategory: service\ntrigger: {event: E}\nsteps:\n  - enter: self\n")
	broken := write("broken.yml", "id: broken\ncategory: service\ntrigger: {event: E}\nsteps:\n  - wiat: 1h\n")
	// A flow that enters a flow with errors: the target exists, so no
	// second, misleading "no flow has this id".
	caller := write("caller.yaml", "id: caller\ncategory: service\ntrigger: {event: E}\nsteps:\n  - enter: broken\n")
	write("notes.txt", "not a flow")
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte(strings.Repeat("#", MaxFileSize+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.yaml")

	flows, problems := ValidateFiles([]string{dir, self, missing}, Options{})
	want := []string{
		big + ": file is larger than 256 KB, the limit for a flow file",
		broken + `:5:5: unknown key "wiat" in step; did you mean "wait"?`,
		broken + `:5:5: step does nothing; give it one of send, wait, if, switch, split, set, enter or exit`,
		missing + ": cannot read: no such file or directory",
		self + `:5:5: enter "self" makes a loop of flows (self → self); a contact could go round it forever`,
	}
	got := problemStrings(problems)
	// The unknown key suppresses "step does nothing"; keep the list honest.
	want = slices.DeleteFunc(want, func(s string) bool { return strings.Contains(s, "step does nothing") })
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got, want := len(flows), 1; got != want || flows[0].File != caller {
		t.Errorf("valid flows = %d, want only %s", len(flows), caller)
	}
}

func TestCheckSetForAPI(t *testing.T) {
	stored := []*Flow{
		mustParseFile(t, "testdata/valid/welcome.yaml", Options{}),
		mustParseFile(t, "testdata/valid/post-purchase.yaml", Options{}),
	}
	// A PUT of post-purchase that enters welcome closes a loop.
	next, problems := Parse("api:post-purchase", []byte("id: post-purchase\ncategory: service\ntrigger: {event: Order Completed}\nsteps:\n  - enter: welcome\n"), Options{})
	if next == nil {
		t.Fatalf("Parse: %v", problems)
	}
	set := []*Flow{stored[0], next}
	ps := CheckSet(set)
	var mine []string
	for _, p := range ps {
		if p.File == "api:post-purchase" {
			mine = append(mine, p.String())
		}
	}
	if got, want := mine, []string{`api:post-purchase:5:5: enter "welcome" makes a loop of flows (post-purchase → welcome → post-purchase); a contact could go round it forever`}; !slices.Equal(got, want) {
		t.Errorf("problems = %v, want %v", got, want)
	}
	if ps := CheckSet(stored); len(ps) != 0 {
		t.Errorf("stored set: %v, want none", ps)
	}
}
