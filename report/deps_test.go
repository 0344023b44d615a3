package report_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func goList(t *testing.T, format string, pkgs ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list", "-f", format}, pkgs...)...).Output()
	require.NoError(t, err)
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// The model is a leaf: the standard library only.
func TestModelIsALeaf(t *testing.T) {
	for _, line := range goList(t, `{{join .Deps "\n"}}`, ".") {
		first, _, _ := strings.Cut(line, "/")
		assert.NotContains(t, first, ".", "report depends on %s", line)
	}
}

// Reporters read the model and never link the scanner that fills it (nor its database
// and registry clients); CI hosts import neither the scanner nor its parts: they reach the
// scan through the one run sequence (package ci).
func TestReadersDoNotImportTheScanner(t *testing.T) {
	const mod = "github.com/imagegate/imagegate/"
	for _, line := range goList(t, `{{.ImportPath}} {{join .Deps " "}}`, "../reporters/...") {
		fields := strings.Fields(line)
		for _, dep := range fields[1:] {
			assert.False(t, dep == mod+"scanner" || strings.HasPrefix(dep, mod+"scanner/vulndb") || strings.HasPrefix(dep, "go.etcd.io/bbolt"),
				"%s depends on %s", fields[0], dep)
		}
	}
	// Every host: any package under ci/ but the run sequence and the inputs table, so a new
	// host is held to the rule without being named here.
	hosts := 0
	for _, line := range goList(t, `{{.ImportPath}} {{join .Imports " "}}`, "../ci/...") {
		fields := strings.Fields(line)
		if fields[0] == mod+"ci" || fields[0] == mod+"ci/inputs" {
			continue
		}
		hosts++
		for _, dep := range fields[1:] {
			assert.False(t, strings.HasPrefix(dep, mod+"scanner"), "%s imports %s", fields[0], dep)
		}
	}
	assert.GreaterOrEqual(t, hosts, 3, "GitHub, Azure and GitLab at least")
}

// docs/architecture.md names every package of the product (the internal test helpers and
// the end-to-end tests aside), so that it stays the map of the code.
func TestArchitectureDocNamesEveryPackage(t *testing.T) {
	doc, err := os.ReadFile("../docs/architecture.md")
	require.NoError(t, err)
	const mod = "github.com/imagegate/imagegate/"
	for _, pkg := range goList(t, `{{.ImportPath}}`, "../...") {
		rel := strings.TrimPrefix(pkg, mod)
		if strings.HasPrefix(rel, "internal/") || rel == "e2e" || strings.HasPrefix(rel, "ci/") || strings.HasPrefix(rel, "reporters/") {
			continue // internal/…, and one row each for ci/<host> and reporters/<format>
		}
		assert.True(t, strings.Contains(string(doc), "`"+rel+"`"), "docs/architecture.md does not name %s", rel)
	}
}

// MaxFunctionLines bounds a product function, so that a reader never scrolls to follow
// one: split a longer one into named steps.
const MaxFunctionLines = 80

// No function of the product (tests, test kits under internal/, the end-to-end suite and
// the tools' modules aside) is longer than MaxFunctionLines.
func TestNoLongFunctions(t *testing.T) {
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "internal", "e2e", "testdata", "tools", "node_modules", "dist":
				return filepath.SkipDir
			}
			if strings.HasPrefix(d.Name(), ".") && p != ".." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			checked++
			n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
			assert.LessOrEqual(t, n, MaxFunctionLines, "%s: %s is %d lines", p, fn.Name.Name, n)
		}
		return nil
	})
	require.NoError(t, err)
	assert.Greater(t, checked, 500, "the product's functions were found")
}
