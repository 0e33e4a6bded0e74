// Package storeuse checks, in a consumer package's tests, that the package
// reaches the database only through the interfaces it declares in its
// store.go (D85), so that file keeps listing everything the package reads
// and writes. Tests import it; the binary does not.
package storeuse

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// OnlyInStoreGo fails for each mention of store.DB or store.Tx in the
// non-test files of the package in the current directory, outside store.go
// and the top-level declarations named except (a function's or a type's
// name), which the caller says why it allows.
func OnlyInStoreGo(t testing.TB, except ...string) {
	t.Helper()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range names {
		if name == "store.go" || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if slices.Contains(except, declName(d)) {
				continue
			}
			ast.Inspect(d, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "store" && (sel.Sel.Name == "DB" || sel.Sel.Name == "Tx") {
					t.Errorf("%s: names store.%s; use the interfaces declared in store.go (add the methods it needs there)", fset.Position(sel.Pos()), sel.Sel.Name)
				}
				return true
			})
		}
	}
}

// declName is a function's or a lone type's name, "" for other declarations.
func declName(d ast.Decl) string {
	switch d := d.(type) {
	case *ast.FuncDecl:
		return d.Name.Name
	case *ast.GenDecl:
		if ts, ok := d.Specs[0].(*ast.TypeSpec); ok && len(d.Specs) == 1 {
			return ts.Name.Name
		}
	}
	return ""
}
