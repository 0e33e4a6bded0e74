package flow

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ValidateFiles checks flow files the way `smsflow validate` does. A path
// may be a file (any name) or a directory, which stands for every *.yaml and
// *.yml file directly in it (not in subdirectories), in name order. Besides
// each file's own checks it checks the set: duplicate flow ids, enter
// targets that do not exist and cycles of enter. It returns the flows that
// are valid, in file order, and every problem sorted by file and position.
func ValidateFiles(paths []string, opts Options) ([]*Flow, []Problem) {
	var problems []Problem
	var files []string
	seen := map[string]bool{}
	addFile := func(p string) {
		if c := filepath.Clean(p); !seen[c] {
			seen[c] = true
			files = append(files, p)
		}
	}
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			problems = append(problems, Problem{File: p, Severity: SeverityError, Message: "cannot read: " + describeFSError(err)})
			continue
		}
		if !info.IsDir() {
			addFile(p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			problems = append(problems, Problem{File: p, Severity: SeverityError, Message: "cannot read directory: " + describeFSError(err)})
			continue
		}
		n := 0
		for _, e := range entries {
			ext := strings.ToLower(filepath.Ext(e.Name()))
			if !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
				addFile(filepath.Join(p, e.Name()))
				n++
			}
		}
		if n == 0 {
			problems = append(problems, Problem{File: p, Severity: SeverityWarning, Message: "no .yaml or .yml files in this directory"})
		}
	}

	var all []*Flow
	bad := map[string]bool{} // files with errors
	for _, file := range files {
		src, err := readLimited(file)
		if err != nil {
			problems = append(problems, Problem{File: file, Severity: SeverityError, Message: err.Error()})
			bad[file] = true
			continue
		}
		f, ps := parseFile(file, src, opts)
		problems = append(problems, ps...)
		if HasErrors(ps) {
			bad[file] = true
		}
		if f != nil {
			all = append(all, f)
		}
	}
	set := CheckSet(all)
	for _, p := range set {
		if p.Severity != SeverityWarning {
			bad[p.File] = true
		}
	}
	problems = append(problems, set...)
	sortProblems(problems)

	var valid []*Flow
	for _, f := range all {
		if !bad[f.File] {
			valid = append(valid, f)
		}
	}
	return valid, problems
}

func readLimited(file string) ([]byte, error) {
	fh, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("cannot read: %s", describeFSError(err))
	}
	defer fh.Close()
	src, err := io.ReadAll(io.LimitReader(fh, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read: %s", describeFSError(err))
	}
	if len(src) > MaxFileSize {
		return nil, fmt.Errorf("file is larger than %d KB, the limit for a flow file", MaxFileSize>>10)
	}
	return src, nil
}

func describeFSError(err error) string {
	switch {
	case os.IsNotExist(err):
		return "no such file or directory"
	case os.IsPermission(err):
		return "permission denied"
	}
	return err.Error()
}

// CheckSet checks a set of flows against each other: duplicate ids, enter
// targets that are not in the set, and cycles of enter (a → b → … → a, which
// could move a contact between flows forever). Each problem names the file
// and position of the flow it is about; the API can check one new flow
// against the stored ones by passing them all and keeping the problems of
// the new flow's File. Flows without an id are ignored.
func CheckSet(flows []*Flow) []Problem {
	var problems []Problem
	add := func(f *Flow, line, col int, format string, args ...any) {
		problems = append(problems, Problem{File: f.File, Line: line, Col: col, Severity: SeverityError, Message: fmt.Sprintf(format, args...)})
	}
	byID := map[string]*Flow{}
	var ids []string
	var order []*Flow
	for _, f := range flows {
		if f == nil || f.ID == "" {
			continue
		}
		if prev, dup := byID[f.ID]; dup {
			add(f, f.idLine, f.idCol, "flow id %q is already used by %s; flow ids must be unique", f.ID, prev.File)
			continue
		}
		byID[f.ID] = f
		ids = append(ids, f.ID)
		order = append(order, f)
	}

	// Edges of the enter graph, with the step that makes each.
	type edge struct {
		to   string
		step *Step
	}
	edges := map[string][]edge{}
	for _, f := range order {
		for _, s := range f.order {
			if s.Kind != StepEnter || s.Enter == "" {
				continue
			}
			if byID[s.Enter] == nil {
				add(f, s.Line, s.Col, "enter %q: no flow has this id%s", s.Enter, didYouMean(s.Enter, ids))
				continue
			}
			edges[f.ID] = append(edges[f.ID], edge{to: s.Enter, step: s})
		}
	}

	// Find cycles with a depth-first search; report each cycle once, at
	// every enter step along it.
	const (
		unvisited = iota
		onPath
		done
	)
	state := map[string]int{}
	reported := map[string]bool{}
	var path []string
	var pathEdges []edge
	var visit func(id string)
	visit = func(id string) {
		state[id] = onPath
		path = append(path, id)
		for _, e := range edges[id] {
			switch state[e.to] {
			case unvisited:
				pathEdges = append(pathEdges, e)
				visit(e.to)
				pathEdges = pathEdges[:len(pathEdges)-1]
			case onPath:
				start := slices.Index(path, e.to)
				cycle := append(slices.Clone(path[start:]), e.to)
				key := cycleKey(cycle)
				if reported[key] {
					continue
				}
				reported[key] = true
				steps := append(slices.Clone(pathEdges[start:]), e)
				ring := cycle[:len(cycle)-1]
				for i, ce := range steps {
					// Tell the loop from the flow the problem is about.
					loop := append(append(slices.Clone(ring[i:]), ring[:i]...), ring[i])
					add(byID[ring[i]], ce.step.Line, ce.step.Col, "enter %q makes a loop of flows (%s); a contact could go round it forever", ce.to, strings.Join(loop, " → "))
				}
			}
		}
		path = path[:len(path)-1]
		state[id] = done
	}
	for _, id := range ids {
		if state[id] == unvisited {
			visit(id)
		}
	}
	sortProblems(problems)
	return problems
}

// cycleKey names a cycle independently of where it was entered.
func cycleKey(cycle []string) string {
	c := cycle[:len(cycle)-1]
	least := 0
	for i := range c {
		if c[i] < c[least] {
			least = i
		}
	}
	return strings.Join(append(slices.Clone(c[least:]), c[:least]...), ">")
}
