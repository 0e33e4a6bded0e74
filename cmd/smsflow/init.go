package main

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/smsflow/smsflow/config"
	"gopkg.in/yaml.v3"
)

// starter holds the files `smsflow init` writes, as templates filled from
// the code's defaults (config.Default), so the file shows what smsflow
// really does when a key is left out.
//
//go:embed starter
var starter embed.FS

// The example flow's inputs: the event that starts it (which nothing sends
// until the user does), the contact, and the calls that trigger it.
const (
	exampleEvent     = "Example Signup"
	exampleDoneEvent = "Example Setup Done"
	exampleUser      = "ana"
	exampleIdentify  = `{"userId":"ana","traits":{"phone":"+1 415 555 0100","first_name":"Ana"}}`
	exampleTrack     = `{"userId":"ana","event":"Example Signup"}`
)

// starterData is what the starter templates are filled with.
type starterData struct {
	C                      config.Config // the defaults, flows: set
	URL                    string        // the server's URL at the default addr
	Event, DoneEvent, User string
	Identify, Track        string // the bodies of the identify and track calls
}

func newStarterData() starterData {
	c := config.Default()
	c.Flows = config.DefaultFlows
	return starterData{C: c, URL: "http://" + c.Addr, Event: exampleEvent, DoneEvent: exampleDoneEvent, User: exampleUser,
		Identify: exampleIdentify, Track: exampleTrack}
}

// starterFile is one file init writes: its path under DIR and its content.
type starterFile struct {
	path    string
	content []byte
}

// starterFiles renders the files init writes.
func starterFiles() ([]starterFile, error) {
	data := newStarterData()
	var out []starterFile
	err := fs.WalkDir(starter, "starter", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := starter.ReadFile(p)
		if err != nil {
			return err
		}
		t, err := template.New(p).Funcs(template.FuncMap{"y": yamlValue}).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if err := t.Execute(&b, data); err != nil {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(p, "starter/"), ".tmpl")
		out = append(out, starterFile{path: filepath.FromSlash(rel), content: b.Bytes()})
		return nil
	})
	return out, err
}

// yamlValue writes v as one line of YAML: a scalar as YAML would write it
// (quoted when needed), a list or map in flow style ([service], {max: 10}).
func yamlValue(v any) (string, error) {
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return "", err
	}
	var flowStyle func(*yaml.Node)
	flowStyle = func(n *yaml.Node) {
		if n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode {
			n.Style = yaml.FlowStyle
		}
		for _, c := range n.Content {
			flowStyle(c)
		}
	}
	flowStyle(&n)
	b, err := yaml.Marshal(&n)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(string(b), "\n"), nil
}

// cmdInit writes a starter configuration and flows folder: `smsflow init [DIR]`.
func cmdInit(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("init", flag.ContinueOnError)
	pos, err := parseArgs(fset, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usageError(fset, stderr, "one DIR at most")
	}
	dir := "."
	if len(pos) == 1 {
		dir = pos[0]
	}
	files, err := starterFiles()
	if err != nil {
		return fmt.Errorf("starter files: %w", err)
	}
	// Nothing is written when any file is there already: a half-written
	// starter next to the user's own files would be worse than none. A
	// flows folder that holds anything is the user's: the example would
	// join their flows on the next start.
	var exist []string
	for _, f := range files {
		p := filepath.Join(dir, f.path)
		if _, err := os.Lstat(p); err == nil {
			exist = append(exist, p)
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	flows := filepath.Join(dir, "flows")
	if entries, err := os.ReadDir(flows); err == nil && len(entries) > 0 && len(exist) == 0 {
		return fmt.Errorf("%s already holds files (%s…); init writes a new setup only, so it wrote nothing (run `smsflow init` in another directory)", flows, entries[0].Name())
	}
	switch len(exist) {
	case 0:
	case 1:
		return fmt.Errorf("%s already exists; init never overwrites a file, so it wrote nothing (move it away, or run `smsflow init` in another directory)", exist[0])
	default:
		return fmt.Errorf("%s already exist; init never overwrites a file, so it wrote nothing (move them away, or run `smsflow init` in another directory)", strings.Join(exist, " and "))
	}
	for _, f := range files {
		p := filepath.Join(dir, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		// O_EXCL: a file that appeared since the check above is not overwritten.
		w, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		if _, err := w.Write(f.content); err != nil {
			w.Close()
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", p)
	}
	fmt.Fprint(stdout, nextSteps(dir))
	return nil
}

// simulateEvents are the NDJSON lines of the example's simulation: the
// bodies of the two calls (JSON objects), typed and timestamped for the
// virtual clock.
func simulateEvents() []string {
	line := func(typ, body, ts string) string {
		return `{"type":"` + typ + `",` + strings.TrimPrefix(strings.TrimSuffix(body, "}"), "{") + `,"timestamp":"` + ts + `"}`
	}
	return []string{line("identify", exampleIdentify, "2025-06-02T15:00:00Z"), line("track", exampleTrack, "2025-06-02T15:00:05Z")}
}

// nextSteps is what init prints after writing: the commands to run next.
func nextSteps(dir string) string {
	d := newStarterData()
	sim := simulateEvents()
	var b strings.Builder
	b.WriteString("\nNext:\n")
	if filepath.Clean(dir) != "." {
		fmt.Fprintf(&b, "  cd %s\n", shellQuote(dir))
	}
	fmt.Fprintf(&b, `  smsflow validate smsflow.yaml flows       # check the configuration and the flows
  smsflow serve                              # run it: console provider, %s, flows from ./flows

Then, in another shell in the same directory, trigger the example flow (flows/example-signup.yaml)
with your back end's secret server key:
  SK=$(smsflow keys | sed -n 's/^server key: //p')
  curl -u "$SK:" %s/v1/identify -d '%s'
  curl -u "$SK:" %s/v1/track -d '%s'
and read the text it sent (the console provider sends nothing; serve logs msg=SMS … step=confirm):
  AK=$(smsflow keys | sed -n 's/^admin key: //p')
  curl -H "Authorization: Bearer $AK" "%s/v1/messages?contact=%s"
  smsflow flows                              # every flow of the database, with its entries

Or replay it on a virtual clock, without a server (the nudge comes an hour later):
  printf '%%s\n' '%s' \
    '%s' > signup.ndjson
  smsflow simulate --flows flows --events signup.ndjson

Edit smsflow.yaml (brand, provider, quiet hours, caps…) and write your own flows next to the example;
`+"`smsflow --help`"+` lists every command.
`, d.C.DB, d.URL, d.Identify, d.URL, d.Track, d.URL, d.User, sim[0], sim[1])
	return b.String()
}

// shellQuote quotes a path for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
