package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/flow"
)

// cmdValidate checks flow files and configuration files and prints one
// line per problem (file:line:col: message). A file named on the command
// line is configuration when it is named smsflow.yaml or its content says so
// (config.LooksLikeConfig: more configuration keys than flow keys at its top
// level), and --config FILE is configuration whatever its name; a directory
// is read as serve reads a flows directory. Configuration is checked exactly
// as serve checks it (checkConfig, the SMSFLOW_* environment over the file),
// flows against the configuration they will run under.
func cmdValidate(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "check this configuration `FILE` (any name) as serve would, and the flows against it")
	args, err := parseArgs(fs, args, stderr) // flags before or after the paths
	if err != nil {
		return err
	}
	if len(args) == 0 && *cfgPath == "" {
		return usageError(fs, stderr, "give the flow files, directories of flows or configuration files to check")
	}
	var paths, cfgFiles []string
	if *cfgPath != "" {
		cfgFiles = append(cfgFiles, *cfgPath)
	}
	for _, p := range args {
		switch {
		case !isConfigFile(p):
			paths = append(paths, p)
		case !slices.ContainsFunc(cfgFiles, func(c string) bool { return filepath.Clean(c) == filepath.Clean(p) }):
			cfgFiles = append(cfgFiles, p)
		}
	}
	var problems []string
	errors := 0
	for _, c := range cfgFiles {
		cfg, err := config.Load(c, os.Environ())
		if err == nil {
			err = checkConfig(cfg)
		}
		for _, line := range problemLines(err) {
			problems = append(problems, line)
			errors++
		}
	}
	opts, err := flowOptions(*cfgPath, cfgFiles)
	for _, line := range problemLines(err) {
		problems = append(problems, line)
		errors++
	}
	files, misplaced := flowFiles(paths)
	for _, m := range misplaced {
		problems = append(problems, m+": this is a configuration file, but serve reads every .yaml file of a flows directory as a flow (all but smsflow.yaml): move it out of the directory, or name it smsflow.yaml")
		errors++
	}
	flows, ps := flow.ValidateFiles(files, opts)
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
	for _, c := range cfgFiles {
		fmt.Fprintf(stderr, "%s: configuration valid\n", c)
	}
	if len(paths) > 0 || len(cfgFiles) == 0 {
		fmt.Fprintf(stderr, "%d flow(s) valid\n", len(flows))
	}
	return nil
}

// problemLines are a configuration error's problems, one line each.
func problemLines(err error) []string {
	var lines []string
	for _, p := range (config.Config{}).Locate(err) {
		lines = append(lines, p.String())
	}
	return lines
}

// isConfigFile says whether a path named on validate's command line is a
// configuration file: named smsflow.yaml, or a file whose content is
// configuration (config.LooksLikeConfig). A directory, or a file that
// cannot be read, is not (flow validation reports what is wrong with it).
func isConfigFile(path string) bool {
	if filepath.Base(path) == config.DefaultFile {
		return true
	}
	st, err := os.Stat(path)
	if err != nil || st.IsDir() || st.Size() > flow.MaxFileSize {
		return false
	}
	b, err := os.ReadFile(path)
	return err == nil && config.LooksLikeConfig(b)
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
		err = cfg.Locate(err)
	}
	if cfgPath != "" {
		return opts, nil // checked as a configuration file
	}
	return opts, err
}

// flowFiles lists the flow files of paths: files as given, and each
// directory's .yaml and .yml files as serve loads a flows directory — all but
// smsflow.yaml. misplaced are the files of a directory whose content is
// configuration: serve would fail on them as flows.
func flowFiles(paths []string) (files, misplaced []string) {
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil || !st.IsDir() {
			files = append(files, p)
			continue
		}
		entries, _ := os.ReadDir(p)
		for _, e := range entries {
			ext := filepath.Ext(e.Name())
			if e.IsDir() || (ext != ".yaml" && ext != ".yml") || e.Name() == config.DefaultFile {
				continue
			}
			path := filepath.Join(p, e.Name())
			if isConfigFile(path) {
				misplaced = append(misplaced, path)
				continue
			}
			files = append(files, path)
		}
	}
	return files, misplaced
}
