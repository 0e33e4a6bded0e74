package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/flow"
	"github.com/smsflow/smsflow/simulate"
	"gopkg.in/yaml.v3"
)

// initDir runs `smsflow init DIR` in-process on a fresh directory and
// returns DIR and what it printed.
func initDir(t *testing.T) (string, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "shop")
	code, out, errOut := runArgs("init", dir)
	if code != 0 {
		t.Fatalf("init: exit %d: %s", code, errOut)
	}
	return dir, out
}

// TestInitWritesAWorkingStarter: the written smsflow.yaml loads to exactly
// the built-in defaults (with flows: ./flows) and passes the checks serve
// makes; the example flow validates against it without a single problem;
// the next commands are printed; no database is created.
func TestInitWritesAWorkingStarter(t *testing.T) {
	dir, out := initDir(t)
	cfgPath := filepath.Join(dir, config.DefaultFile)
	cfg, err := config.Load(cfgPath, nil)
	if err != nil {
		t.Fatalf("load the written configuration: %v", err)
	}
	if err := cfg.Check(); err != nil {
		t.Fatalf("the written configuration fails config.Check: %v", err)
	}
	senders, err := cfg.Senders()
	if err != nil {
		t.Fatalf("senders: %v", err)
	}
	want := config.Default()
	want.Flows = config.DefaultFlows
	if got, exp := mustYAML(t, cfg), mustYAML(t, want); got != exp {
		t.Errorf("the written configuration is not the defaults:\n got: %s\nwant: %s", got, exp)
	}

	opts := engine.ValidateOptions()
	opts.CheckFrom = senders.Check
	flows, problems := flow.ValidateFiles([]string{filepath.Join(dir, "flows")}, opts)
	if len(problems) > 0 || len(flows) != 1 || flows[0].ID != "example-signup" || flows[0].Trigger.Event != exampleEvent {
		t.Fatalf("the example flow: %d flows %v, problems %v", len(flows), flows, problems)
	}
	if code, vout, verr := runArgs("validate", "--config", cfgPath, filepath.Join(dir, "flows")); code != 0 || vout != "" {
		t.Errorf("validate --config smsflow.yaml flows: exit %d, %q %q", code, vout, verr)
	}

	for _, next := range []string{"cd " + dir, "smsflow validate smsflow.yaml flows", "smsflow serve",
		`curl -u "$SK:" http://127.0.0.1:8080/v1/identify -d '` + exampleIdentify + `'`,
		`curl -u "$SK:" http://127.0.0.1:8080/v1/track -d '` + exampleTrack + `'`,
		"smsflow simulate --flows flows --events signup.ndjson"} {
		if !strings.Contains(out, next) {
			t.Errorf("init does not print %q:\n%s", next, out)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "flows,smsflow.yaml" {
		t.Errorf("init wrote %v; want flows and smsflow.yaml only (no database)", names)
	}
}

func mustYAML(t *testing.T, v any) string {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// disabledLine is a setting that is off in the starter configuration: a "#"
// right before a key or a list item, at the indentation of its block
// ("#twilio:", "#  from: …", "  #senders:"), unlike a comment ("# text").
var disabledLine = regexp.MustCompile(`^(\s*)#(\S|  +\S)`)

// uncommented is the configuration with every setting turned on, as a user
// removing the "#"s would (nested ones too).
func uncommented(src string) string {
	lines := strings.Split(src, "\n")
	for i, l := range lines {
		for disabledLine.MatchString(l) {
			m := disabledLine.FindStringSubmatchIndex(l)
			l = l[:m[3]] + l[m[3]+1:] // drop the "#"
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}

// configKeys are the key paths of a type's YAML tags ("twilio.senders.rate";
// list items have their element's keys, maps are leaves).
func configKeys(t reflect.Type, prefix string, out map[string]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		key := strings.TrimPrefix(prefix+"."+tag, ".")
		out[key] = true
		configKeys(t.Field(i).Type, key, out)
	}
}

// fileKeys are the key paths of a YAML document (list items read as their
// list's key).
func fileKeys(n *yaml.Node, prefix string, out map[string]bool) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			fileKeys(c, prefix, out)
		}
	case yaml.MappingNode:
		if prefix == "links.utm" {
			return // a map of free keys
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := strings.TrimPrefix(prefix+"."+n.Content[i].Value, ".")
			out[key] = true
			fileKeys(n.Content[i+1], key, out)
		}
	}
}

// TestInitConfigShowsEveryKey: every key of config.Config — top-level,
// nested, and inside lists (senders, caps) — is in the written file, set
// or commented out, with its exact name: turning every setting on gives a
// file that loads (no unknown key) and names them all. A key added to
// Config and not to the starter fails here.
func TestInitConfigShowsEveryKey(t *testing.T) {
	dir, _ := initDir(t)
	src, err := os.ReadFile(filepath.Join(dir, config.DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	all := uncommented(string(src))
	if all == string(src) {
		t.Fatal("no setting is commented out: the providers' sections and caps should be")
	}
	path := filepath.Join(t.TempDir(), "all.yaml")
	if err := os.WriteFile(path, []byte(all), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(path, nil); err != nil {
		t.Fatalf("every setting turned on: %v\n%s", err, all)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(all), &doc); err != nil {
		t.Fatal(err)
	}
	have, want := map[string]bool{}, map[string]bool{}
	fileKeys(&doc, "", have)
	configKeys(reflect.TypeOf(config.Config{}), "", want)
	var missing []string
	for k := range want {
		if !have[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("smsflow init's smsflow.yaml does not show %v", missing)
	}
	if len(want) < 60 {
		t.Errorf("only %d keys found in config.Config: the walk is broken", len(want))
	}
	// The settings that are on are the defaults: nothing is turned on by a
	// comment line.
	var on yaml.Node
	if err := yaml.Unmarshal(src, &on); err != nil {
		t.Fatal(err)
	}
	onKeys := map[string]bool{}
	fileKeys(&on, "", onKeys)
	for _, k := range []string{"twilio", "smpp", "http", "caps", "write_key", "server_key", "admin_key", "shopify", "console"} {
		if onKeys[k] {
			t.Errorf("%s is on in the starter; it should be commented out", k)
		}
	}
}

// TestInitNeverOverwrites: with any of its files already there, init says
// which, exits 1 and writes nothing.
func TestInitNeverOverwrites(t *testing.T) {
	for _, existing := range []string{config.DefaultFile, filepath.Join("flows", "example-signup.yaml")} {
		dir := t.TempDir()
		p := filepath.Join(dir, existing)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("mine\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := runArgs("init", dir)
		if code != 1 || !strings.Contains(errOut, p+" already exists") || !strings.Contains(errOut, "wrote nothing") || strings.Contains(out, "wrote") {
			t.Errorf("%s exists: exit %d, stdout %q, stderr %q", existing, code, out, errOut)
		}
		if b, _ := os.ReadFile(p); string(b) != "mine\n" {
			t.Errorf("%s was overwritten: %q", existing, b)
		}
		var files []string
		filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, path)
			}
			return nil
		})
		if len(files) != 1 {
			t.Errorf("%s exists: init wrote %v", existing, files)
		}
	}
	// A flows folder with the user's flows: the example would join them.
	dir := t.TempDir()
	mine := filepath.Join(dir, "flows", "my-welcome.yaml")
	if err := os.MkdirAll(filepath.Dir(mine), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mine, []byte(myWelcome), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runArgs("init", dir); code != 1 || !strings.Contains(errOut, filepath.Join(dir, "flows")+" already holds files (my-welcome.yaml") {
		t.Errorf("flows/ with a flow: exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, config.DefaultFile)); !os.IsNotExist(err) {
		t.Errorf("init wrote smsflow.yaml next to the user's flows: %v", err)
	}
	// An empty flows folder is fine.
	dir = t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "flows"), 0o755); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runArgs("init", dir); code != 0 {
		t.Errorf("empty flows/: exit %d %s", code, errOut)
	}

	// The current directory by default.
	dir = t.TempDir()
	cmd := exec.Command(binary, "init")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "wrote smsflow.yaml") || strings.Contains(string(out), "cd ") {
		t.Errorf("init in the current directory: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "flows", "example-signup.yaml")); err != nil {
		t.Error(err)
	}
}

// TestInitExampleSimulates: the simulation init prints sends the
// confirmation at once and the nudge an hour later.
func TestInitExampleSimulates(t *testing.T) {
	dir, out := initDir(t)
	for _, l := range simulateEvents() {
		if !strings.Contains(out, "'"+l+"'") {
			t.Errorf("init does not print the simulation line %s", l)
		}
	}
	cfg, err := config.Load(filepath.Join(dir, config.DefaultFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := simulate.Run(context.Background(), simulate.Options{Flows: filepath.Join(dir, "flows"),
		Events: strings.NewReader(strings.Join(simulateEvents(), "\n") + "\n"), Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	var sent []string
	for _, l := range lines {
		if l.Kind == "send" && l.Reason == "sent" {
			sent = append(sent, l.Step+"@"+l.Time+": "+l.Body)
		}
	}
	if len(sent) != 2 || !strings.HasPrefix(sent[0], "confirm@2025-06-02T15:00:05Z: smsflow: thanks for signing up, Ana!") ||
		!strings.HasPrefix(sent[1], "nudge@2025-06-02T16:00:05Z: smsflow: one step left") {
		t.Errorf("simulated sends: %q", sent)
	}
}

// TestInitServeEndToEnd: the real binary, in the directory init wrote:
// serve loads exactly the example flow (not the bundled examples), the
// calls init prints (server key from `smsflow keys`) make it text the
// contact, and `smsflow flows` lists it, active, with that entry.
func TestInitServeEndToEnd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shop")
	if out, err := exec.Command(binary, "init", dir).CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	s := startServerIn(t, dir, nil) // no --db, no --flows: smsflow.yaml's
	if !slices.Contains(s.banner, "  flows:      1 from ./flows [example-signup]") {
		t.Fatalf("serve did not load the example flow alone:\n%s", strings.Join(s.banner, "\n"))
	}
	keys := exec.Command(binary, "keys")
	keys.Dir = dir
	out, err := keys.CombinedOutput()
	if err != nil {
		t.Fatalf("keys: %v\n%s", err, out)
	}
	sk := regexp.MustCompile(`(?m)^server key: (\S+)$`).FindStringSubmatch(string(out))
	ak := regexp.MustCompile(`(?m)^admin key: (\S+)$`).FindStringSubmatch(string(out))
	if sk == nil || ak == nil {
		t.Fatalf("keys printed %q", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "smsflow.db")); err != nil {
		t.Fatalf("the database is not the one smsflow.yaml names: %v", err)
	}
	// The two curl commands init prints.
	for _, c := range []struct{ path, body string }{{"/v1/identify", exampleIdentify}, {"/v1/track", exampleTrack}} {
		if r := call(t, "POST", s.url+c.path, "basic:"+sk[1], c.body); r.status != 200 {
			t.Fatalf("%s: %d %s", c.path, r.status, r.raw)
		}
	}
	var msg map[string]any
	waitFor(t, "the example's text", func() bool {
		r := call(t, "GET", s.url+"/v1/messages?contact="+exampleUser, "bearer:"+ak[1], "")
		for _, m := range r.body["messages"].([]any) {
			if m := m.(map[string]any); m["step_id"] == "confirm" && m["status"] == "delivered" {
				msg = m
			}
		}
		return msg != nil
	})
	if body, _ := msg["body"].(string); body != "smsflow: thanks for signing up, Ana! Your account is ready." || msg["flow_id"] != "example-signup" {
		t.Errorf("the example sent %v", msg)
	}
	r := call(t, "GET", s.url+"/v1/flows", "bearer:"+ak[1], "")
	if fl := r.body["flows"].([]any); len(fl) != 1 || fl[0].(map[string]any)["id"] != "example-signup" {
		t.Errorf("GET /v1/flows: %s", r.raw)
	}
	list := exec.Command(binary, "flows")
	list.Dir = dir
	out, err = list.CombinedOutput()
	if err != nil || !regexp.MustCompile(`(?m)^example-signup +1 +active +file flows/example-signup.yaml +1 +Example signup confirmation$`).Match(out) {
		t.Errorf("smsflow flows: %v\n%s", err, out)
	}
}
