package cyclonedx

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead decodes arbitrary CycloneDX input, seeded with imagegate's own SBOM of the
// demo image: never a panic; every package it returns has a name and a purl.
func FuzzRead(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "golden", "report.cdx.json")); err == nil {
		f.Add(data)
	}
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"x","purl":"pkg:deb/debian/x@1?distro=debian-12"}]}`))
	f.Add([]byte(`{"bomFormat":"CycloneDX","metadata":{"component":{"name":"i","properties":[{"name":"imagegate:base-layers","value":"-5"}]}},"components":[{"purl":"pkg:npm/%40a/b@1","properties":[{"name":"imagegate:layer","value":"99999999999"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Read(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		for _, p := range doc.Packages {
			if p.PURL == "" {
				t.Fatalf("package %q without a purl", p.Name)
			}
		}
	})
}
