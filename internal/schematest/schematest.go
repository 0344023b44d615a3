// Package schematest validates documents against the official JSON schemas kept in
// testdata/schemas (SARIF 2.1.0, CycloneDX 1.6, the GitHub action and Azure DevOps task
// schemas), offline.
package schematest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/imagegate/imagegate/internal/imagetest"
)

// Compile loads every schema under testdata/schemas, each under its own $id (or id), and
// compiles the one at rel (relative to testdata/schemas).
func Compile(t testing.TB, rel string) *jsonschema.Schema {
	t.Helper()
	root := filepath.Join(imagetest.RepoRoot(t), "testdata", "schemas")
	c := jsonschema.NewCompiler()
	var target string
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return err
		}
		id := "file://" + filepath.ToSlash(p)
		if m, ok := doc.(map[string]any); ok {
			for _, k := range []string{"$id", "id"} {
				if s, ok := m[k].(string); ok && strings.Contains(s, "://") {
					id = s
					break
				}
			}
		}
		if err := c.AddResource(id, doc); err != nil {
			return err
		}
		// The CycloneDX schema refers to its signature schema by another name.
		if strings.HasSuffix(id, "jsf-0.82.schema.json") {
			_ = c.AddResource(strings.Replace(id, "http://", "https://", 1), doc)
		}
		rp, _ := filepath.Rel(root, p)
		if filepath.ToSlash(rp) == rel {
			target = id
		}
		return nil
	})
	if err != nil {
		t.Fatalf("schemas: %v", err)
	}
	if target == "" {
		t.Fatalf("schema %s not found under testdata/schemas", rel)
	}
	s, err := c.Compile(target)
	if err != nil {
		t.Fatalf("compile %s: %v", rel, err)
	}
	return s
}

// Validate checks JSON bytes against a compiled schema.
func Validate(t testing.TB, s *jsonschema.Schema, data []byte) error {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return s.Validate(doc)
}

// CompileBytes compiles one self-contained schema given as bytes (the JSON report's, which
// the reporter embeds), with format assertions on.
func CompileBytes(t testing.TB, name string, schema []byte) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		t.Fatalf("schema %s: %v", name, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(name, doc); err != nil {
		t.Fatalf("schema %s: %v", name, err)
	}
	s, err := c.Compile(name)
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	return s
}
