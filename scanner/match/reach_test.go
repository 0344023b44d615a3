package match

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ossf/osv-schema/bindings/go/osvschema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/gofuncs"
	"github.com/imagegate/imagegate/scanner/vulndb"
)

// goRecord reads one real record of the Go export in testdata/osv and returns its stdlib
// affected entry as the store keeps it.
func goRecord(t *testing.T, id string) hit {
	t.Helper()
	zr, err := zip.OpenReader(filepath.Join("..", "..", "testdata", "osv", "Go", "all.zip"))
	require.NoError(t, err)
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name != id+".json" {
			continue
		}
		rc, err := f.Open()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		var v osvschema.Vulnerability
		require.NoError(t, protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(b, &v))
		for _, a := range v.GetAffected() {
			if a.GetPackage().GetName() == "stdlib" {
				r := vulndb.CompactRecord(&v)
				return hit{record: &r, imports: vulndb.CompactAffected(a, "Go").Imports}
			}
		}
	}
	t.Fatalf("%s not in the Go export", id)
	return hit{}
}

// A program the test builds: it calls os.Open (inlined), http.Get and strings.ToUpper.
func linkedProgram(t *testing.T) *gofuncs.Table {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go toolchain")
	}
	dir := t.TempDir()
	src := "package main\n\nimport (\n\t\"net/http\"\n\t\"os\"\n)\n\nfunc main() {\n\tif f, err := os.Open(\"/x\"); err == nil {\n\t\tf.Close()\n\t}\n\tif r, err := http.Get(\"http://127.0.0.1:1/\"); err == nil {\n\t\tr.Body.Close()\n\t}\n}\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/p\n\ngo 1.22\n"), 0o644))
	cmd := exec.Command("go", "build", "-o", "p", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOTOOLCHAIN=local")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	b, err := os.ReadFile(filepath.Join(dir, "p"))
	require.NoError(t, err)
	tab, err := gofuncs.Read(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	return tab
}

// Real Go records against a real binary: each state with its evidence, and unknown
// whenever there is none.
func TestReachability(t *testing.T) {
	tab := linkedProgram(t)
	pkg := report.Package{Ecosystem: "Go", Name: "stdlib", Linked: tab}
	for _, c := range []struct {
		id, state, justification, reason string
	}{
		// HTTP/2 CONTINUATION flood: net/http's Get and Client.Do are among its symbols.
		{"GO-2024-2687", report.Reachable, "", "net/http.Client.Do, net/http.Client.Get, net/http.Get"},
		// os.OpenFile and friends on Windows only; the binary is linux/amd64.
		{"GO-2025-3750", report.NotReachable, report.CodeNotPresent, "vulnerable only on other platforms (os, syscall); the binary is linux/amd64"},
		// Root escapes in os: os is linked, its Root functions are not.
		{"GO-2026-4403", report.NotReachable, report.CodeNotInExecutePath, "the vulnerable package is linked without its vulnerable symbols (os.checkPathEscapesInternal, os.doInRoot, os.splitPathInRoot checked)"},
	} {
		r := reachability(pkg, "usr/local/bin/p", []hit{goRecord(t, c.id)})
		require.NotNil(t, r, c.id)
		assert.Equal(t, c.state, r.State, "%s: %s", c.id, r.Reason)
		assert.Equal(t, c.justification, r.Justification, c.id)
		assert.Contains(t, r.Reason, c.reason, c.id)
	}
	// html/template (CVE-2026-32289) is not linked at all.
	r := reachability(pkg, "p", []hit{goRecord(t, "GO-2026-4865")})
	assert.Equal(t, report.NotReachable, r.State)
	assert.Equal(t, report.CodeNotPresent, r.Justification)
	assert.Equal(t, "the vulnerable package html/template is not linked", r.Reason)

	// No evidence, no claim.
	unknown := []report.Package{
		{Ecosystem: "Go", Name: "stdlib"}, // from an SBOM
		{Ecosystem: "Go", Name: "stdlib", LinkedError: "function table could not be read: x"},
	}
	for _, p := range unknown {
		r := reachability(p, "p", []hit{goRecord(t, "GO-2024-2687")})
		assert.Equal(t, report.ReachUnknown, r.State, r.Reason)
	}
	assert.Equal(t, "the binary's function table could not be read: x", reachability(unknown[1], "p", []hit{goRecord(t, "GO-2024-2687")}).Reason)
	r = reachability(pkg, "p", []hit{{record: &vulndb.Record{ID: "GHSA-x"}}})
	assert.Equal(t, report.ReachUnknown, r.State, "a record without symbol data: %s", r.Reason)
	assert.Nil(t, reachability(report.Package{Ecosystem: "npm", Name: "x"}, "p", nil), "only Go")
}
