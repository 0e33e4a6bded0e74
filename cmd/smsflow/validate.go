package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/flow"
)

// cmdValidate checks flow files (and configuration files, recognised by
// their name smsflow.yaml or by --config) and prints one line per problem.
func cmdValidate(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "also check this configuration `FILE`")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() == 0 && *cfgPath == "" {
		fmt.Fprintln(stderr, "usage: smsflow validate PATH... (flow files or directories; smsflow.yaml is checked as configuration)")
		return errUsage
	}
	var paths []string
	var cfgFiles []string
	if *cfgPath != "" {
		cfgFiles = append(cfgFiles, *cfgPath)
	}
	for _, p := range fs.Args() {
		if filepath.Base(p) == config.DefaultFile {
			cfgFiles = append(cfgFiles, p)
			continue
		}
		paths = append(paths, p)
	}
	var problems []string
	errors := 0
	for _, c := range cfgFiles {
		cfg, err := config.Load(c, nil)
		if err == nil {
			if err = cfg.Check(); err != nil {
				err = fmt.Errorf("%s: %w", c, err)
			}
		}
		if err != nil {
			problems = append(problems, strings.TrimPrefix(err.Error(), "config "))
			errors++
		}
	}
	opts, err := flowOptions(*cfgPath, cfgFiles)
	if err != nil {
		problems = append(problems, strings.TrimPrefix(err.Error(), "config "))
		errors++
	}
	flows, ps := flow.ValidateFiles(skipConfig(paths), opts)
	for _, p := range ps {
		problems = append(problems, p.String())
		if p.Severity != flow.SeverityWarning {
			errors++
		}
	}
	for _, p := range problems {
		fmt.Fprintln(stdout, p)
	}
	if errors > 0 {
		return fmt.Errorf("%d error(s); fix them and run validate again", errors)
	}
	fmt.Fprintf(stderr, "%d flow(s) valid\n", len(flows))
	return nil
}

// flowOptions are the options flows are validated with, for the
// configuration they will run under — the --config file, else a
// smsflow.yaml among the paths, else ./smsflow.yaml when present, with the
// SMSFLOW_* environment over it: a send step's from: must name one of its
// senders. An error says the configuration could not be read (when it is
// one of cfgFiles, that was reported already: nil).
func flowOptions(cfgPath string, cfgFiles []string) (flow.Options, error) {
	opts := engine.ValidateOptions()
	if cfgPath == "" && len(cfgFiles) > 0 {
		cfgPath = cfgFiles[0]
	}
	cfg, err := config.Load(cfgPath, os.Environ())
	if err == nil {
		var senders config.Senders
		if senders, err = cfg.Senders(); err == nil {
			opts.CheckFrom = senders.Check
			return opts, nil
		}
		err = fmt.Errorf("%s: %w", cmp.Or(cfgPath, config.DefaultFile), err)
	}
	if cfgPath != "" {
		return opts, nil // checked as a configuration file
	}
	return opts, err
}

// skipConfig leaves smsflow.yaml out of directory walks: it is not a flow.
func skipConfig(paths []string) []string {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil || !st.IsDir() {
			out = append(out, p)
			continue
		}
		entries, _ := os.ReadDir(p)
		for _, e := range entries {
			ext := filepath.Ext(e.Name())
			if e.IsDir() || (ext != ".yaml" && ext != ".yml") || e.Name() == config.DefaultFile {
				continue
			}
			out = append(out, filepath.Join(p, e.Name()))
		}
	}
	return out
}
