package policy

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadVEX reads arbitrary OpenVEX documents, seeded with the demo's: never a panic.
func FuzzLoadVEX(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "demo", "demo.openvex.json")); err == nil {
		f.Add(data)
	}
	f.Add([]byte(`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1"},"status":"fixed","products":[{"@id":"pkg:npm/a@1"}]}]}`))
	f.Add([]byte("\xff\xfe{"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "vex.json")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		doc, err := LoadVEX(p)
		if err == nil && doc == nil {
			t.Fatal("nil document without an error")
		}
	})
}
