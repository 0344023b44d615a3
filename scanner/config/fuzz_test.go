package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad reads arbitrary .imagegate.yaml files, seeded with the demo's: never a panic;
// a file that loads has ignore entries with an id or a rule each.
func FuzzLoad(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "demo", "imagegate.yaml")); err == nil {
		f.Add(data)
	}
	f.Add([]byte("ignore:\n  - id: CVE-1\n    expires: 2020-13-45\n"))
	f.Add([]byte("dockerfile:\n  disable: [DF003]\n  severity: {DF017: medium}\n"))
	f.Add([]byte("&a [*a, *a]\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "imagegate.yaml")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(p)
		if err != nil {
			return
		}
		if c == nil {
			t.Fatal("nil config without an error")
		}
	})
}
