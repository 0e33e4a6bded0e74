package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// runArgs runs smsflow in-process and returns the exit code and both outputs.
func runArgs(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// words is s with every run of white space made one space, so that text
// wrapped over lines can be searched.
func words(s string) string { return strings.Join(strings.Fields(s), " ") }

// checkLines fails when a line of help text is wider than a terminal.
func checkLines(t *testing.T, what, text string) {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		if n := utf8.RuneCountInString(line); n > 80 {
			t.Errorf("%s: a line of %d columns (at most 80): %q", what, n, line)
		}
	}
}

// TestTopLevelHelp: `smsflow --help`, `-h` and `help` print one line per
// command on stdout and exit 0; every command the table dispatches is named
// there (a subcommand through its group's line), so none can be added
// without its line.
func TestTopLevelHelp(t *testing.T) {
	code, top, errOut := runArgs("--help")
	if code != 0 || errOut != "" || !strings.Contains(top, "usage: smsflow COMMAND") {
		t.Fatalf("--help: exit %d, stderr %q, stdout %q", code, errOut, top)
	}
	checkLines(t, "smsflow --help", top)
	for _, alias := range [][]string{{"-h"}, {"help"}, {"-help"}} {
		if code, out, _ := runArgs(alias...); code != 0 || out != top {
			t.Errorf("%v: exit %d, output differs from --help:\n%s", alias, code, out)
		}
	}
	// lineOf is the line of the list naming a command, with its summary.
	lineOf := func(c command) bool {
		for _, line := range strings.Split(top, "\n") {
			if strings.HasPrefix(line, "  "+c.name+" ") && strings.HasSuffix(line, "  "+c.summary) {
				return true
			}
		}
		return false
	}
	for _, c := range commands() {
		switch {
		case c.summary == "":
			t.Errorf("%s has no summary", c.name)
		case !c.brief && !lineOf(c):
			t.Errorf("smsflow --help does not list %s with its summary %q:\n%s", c.name, c.summary, top)
		case c.brief:
			// Its group's line stands for it (bench NAME), or its only
			// subcommand's (import contacts FILE).
			var standIns []command
			if group, _, _ := strings.Cut(c.name, " "); group != c.name {
				g, _ := lookup(group)
				standIns = append(standIns, g)
			}
			standIns = append(standIns, subcommands(c.name)...)
			ok := false
			for _, s := range standIns {
				ok = ok || !s.brief && lineOf(s)
			}
			if !ok {
				t.Errorf("%s is named in smsflow --help neither itself nor through its group or subcommand:\n%s", c.name, top)
			}
		}
	}
	// Nothing dispatches outside the table.
	if code, _, errOut := runArgs("frobnicate"); code != 2 || !strings.Contains(errOut, "unknown command") || !strings.Contains(errOut, "usage: smsflow COMMAND") {
		t.Errorf("unknown command: exit %d, stderr %q", code, errOut)
	}
	// No command at all is a usage error: the list on stderr, exit 2.
	if code, out, errOut := runArgs(); code != 2 || out != "" || errOut != top {
		t.Errorf("no command: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestEveryCommandHelp walks every command and subcommand: `CMD --help` and
// `CMD -h` print its help on stdout and exit 0, and the help names every
// flag its FlagSet defines with that flag's text — so a flag added without
// help text, or a command without help, fails here.
func TestEveryCommandHelp(t *testing.T) {
	ctx := context.Background()
	for _, c := range commands() {
		args := append(strings.Fields(c.name), "--help")
		code, out, errOut := runArgs(args...)
		if code != 0 || errOut != "" {
			t.Errorf("%s --help: exit %d, stderr %q", c.name, code, errOut)
			continue
		}
		if !strings.HasPrefix(out, "usage: smsflow "+c.name) {
			t.Errorf("%s --help does not start with its usage line:\n%s", c.name, out)
		}
		checkLines(t, c.name+" --help", out)
		if code, short, _ := runArgs(append(strings.Fields(c.name), "-h")...); code != 0 || short != out {
			t.Errorf("%s -h: exit %d, output differs from --help", c.name, code)
		}
		if c.run == nil { // a group: its help lists its subcommands
			subs := subcommands(c.name)
			if len(subs) == 0 {
				t.Errorf("group %s has no subcommands", c.name)
			}
			for _, s := range subs {
				if !strings.Contains(out, s.name) || !strings.Contains(out, s.summary) {
					t.Errorf("%s --help does not list %s (%s):\n%s", c.name, s.name, s.summary, out)
				}
			}
			continue
		}
		if c.about == "" || c.example == "" {
			t.Errorf("%s lacks what it does or an example", c.name)
		}
		if !strings.Contains(out, "Example:\n  smsflow ") {
			t.Errorf("%s --help has no example:\n%s", c.name, out)
		}
		// The FlagSet the command parsed, from the help request itself.
		var help *helpRequest
		if err := dispatch(ctx, args, io.Discard, io.Discard); !errors.As(err, &help) || help.fs == nil {
			t.Errorf("%s --help: %v; want a help request from the command's FlagSet", c.name, err)
			continue
		}
		if help.text != out {
			t.Errorf("%s: the help request's text differs from what run printed", c.name)
		}
		help.fs.VisitAll(func(f *flag.Flag) {
			_, usage := flag.UnquoteUsage(f)
			switch {
			case strings.TrimSpace(f.Usage) == "":
				t.Errorf("%s --%s has no help text", c.name, f.Name)
			case !strings.Contains(out, "  --"+f.Name+"\n") && !strings.Contains(out, "  --"+f.Name+" "):
				t.Errorf("%s --help does not list --%s:\n%s", c.name, f.Name, out)
			case !strings.Contains(words(out), words(usage)):
				t.Errorf("%s --help lacks the text of --%s (%q):\n%s", c.name, f.Name, usage, out)
			}
		})
	}
}

// TestBenchHelpListsEveryBenchmark: `smsflow bench --help` names each
// benchmark the issue lists, and each runs its own --help.
func TestBenchHelpListsEveryBenchmark(t *testing.T) {
	code, out, _ := runArgs("bench", "--help")
	if code != 0 {
		t.Fatalf("bench --help: exit %d", code)
	}
	for _, b := range []string{"flows", "timers", "broadcast", "send", "pace", "ingest"} {
		if !strings.Contains(out, "bench "+b+" ") {
			t.Errorf("bench --help does not list %s:\n%s", b, out)
		}
		if code, sub, _ := runArgs("bench", b, "--help"); code != 0 || !strings.Contains(sub, "--db DSN") {
			t.Errorf("bench %s --help: exit %d\n%s", b, code, sub)
		}
	}
	if code, out, _ := runArgs("help", "bench", "pace"); code != 0 || !strings.HasPrefix(out, "usage: smsflow bench pace") {
		t.Errorf("help bench pace: exit %d %q", code, out)
	}
}

// TestUsageErrors: a real usage error still exits 2 with why and the
// command's usage on stderr, and nothing on stdout.
func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		why  string
	}{
		{[]string{"serve", "--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"flows", "extra"}, `unexpected argument "extra"`},
		{[]string{"flows", "--status", "sleeping"}, "--status must be"},
		{[]string{"flows", "archive"}, "give one flow ID"},
		{[]string{"report"}, "give the FLOW id"},
		{[]string{"init", "a", "b"}, "one DIR at most"},
		{[]string{"simulate", "--flows", "x"}, "--flows and --events are required"},
		{[]string{"import", "contacts"}, "give one FILE"},
		{[]string{"import"}, "which one?"},
		{[]string{"bench"}, "which one?"},
		{[]string{"bench", "nope"}, `unknown subcommand "nope"`},
		{[]string{"help", "nope"}, `unknown command "nope"`},
		{[]string{"version", "now"}, "takes no arguments"},
		{[]string{"bench", "ingest", "--batch", "many"}, `invalid value "many" for flag -batch`},
	} {
		code, out, errOut := runArgs(c.args...)
		name, _, _ := strings.Cut(strings.Join(c.args, " "), " -")
		if c.args[0] == "help" {
			name = "help"
		}
		if code != 2 || out != "" || !strings.Contains(errOut, c.why) || !strings.Contains(errOut, "usage: smsflow ") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 with %q and the usage of %s", c.args, code, out, errOut, c.why, name)
		}
	}
}

// TestFlagsAnywhere: flags may come before or after the positional
// arguments, and "--" ends the flags.
func TestFlagsAnywhere(t *testing.T) {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	csv := fs.Bool("csv", false, "csv")
	db := fs.String("db", "", "db")
	pos, err := parseArgs(fs, []string{"--db", "x", "promo", "--csv", "--", "--json"}, io.Discard)
	if err != nil || !*csv || *db != "x" || strings.Join(pos, ",") != "promo,--json" {
		t.Errorf("parseArgs: %v %v %q %v", err, *csv, *db, pos)
	}
}
