package report_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
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

// The imports column of docs/architecture.md's package table is what each package (or
// group of packages: reporters/<format>, ci) imports from the project, as go list says,
// leaving out the leaves every layer may use.
func TestArchitectureDocImportsAreTrue(t *testing.T) {
	doc, err := os.ReadFile("../docs/architecture.md")
	require.NoError(t, err)
	const mod = "github.com/imagegate/imagegate/"
	leaves := map[string]bool{"report": true, "failure": true, "scanner/userfile": true}
	actual := map[string]map[string]bool{}
	for _, line := range goList(t, `{{.ImportPath}} {{join .Imports " "}}`, "../...") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], mod)
		actual[pkg] = map[string]bool{}
		for _, dep := range fields[1:] {
			if rel, ok := strings.CutPrefix(dep, mod); ok && !leaves[rel] {
				actual[pkg][rel] = true
			}
		}
	}
	group := func(prefix string) map[string]bool {
		members, out := map[string]bool{}, map[string]bool{}
		for pkg := range actual {
			if pkg == prefix || strings.HasPrefix(pkg, prefix+"/") {
				members[pkg] = true
			}
		}
		for pkg := range members {
			for dep := range actual[pkg] {
				if !members[dep] {
					out[dep] = true
				}
			}
		}
		return out
	}
	code := regexp.MustCompile("`([^`]+)`")
	rows := 0
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(strings.TrimSuffix(strings.TrimPrefix(line, "| "), " |"), " | ")
		if len(cells) != 4 || !strings.HasPrefix(cells[0], "`") {
			continue
		}
		pkg := strings.Trim(cells[0], "`")
		var want map[string]bool
		switch {
		case strings.HasPrefix(pkg, "internal/"):
			continue
		case pkg == "reporters/<format>":
			want = group("reporters")
		case pkg == "ci":
			want = group("ci")
		default:
			var ok bool
			if want, ok = actual[pkg]; !assert.True(t, ok, "docs/architecture.md names %s, which is not a package", pkg) {
				continue
			}
		}
		rows++
		got := map[string]bool{}
		for _, m := range code.FindAllStringSubmatch(cells[2], -1) {
			got[m[1]] = true
		}
		assert.Equal(t, keys(want), keys(got), "docs/architecture.md: what %s imports", pkg)
	}
	assert.Greater(t, rows, 20, "the package table was read")
}

func keys(m map[string]bool) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
