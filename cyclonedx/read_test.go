package cyclonedx

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// OS packages take their release from the purl's distro qualifier (Syft's "debian-12",
// Trivy's bare "3.20.2"), else from the SBOM's OS; without a release they are not checked
// rather than matched against every release's advisories.
func TestEcosystemsFromPURLs(t *testing.T) {
	doc, err := Read(strings.NewReader(`{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
	  {"type": "library", "name": "openssl", "purl": "pkg:deb/debian/openssl@3.0.11-1~deb12u2?distro=debian-12.5"},
	  {"type": "library", "name": "musl", "purl": "pkg:apk/alpine/musl@1.2.5-r0?distro=3.20.2"},
	  {"type": "library", "name": "bash", "purl": "pkg:deb/debian/bash@5.2.15-2"},
	  {"type": "library", "name": "core-js", "purl": "pkg:npm/%40babel/core@7.0.0"},
	  {"type": "library", "name": "guava", "purl": "pkg:maven/com.google.guava/guava@31.1-jre"}
	]}`), "test")
	require.NoError(t, err)
	got := map[string]string{}
	for _, p := range doc.Packages {
		got[p.Name+"@"+p.Version] = p.Ecosystem
	}
	assert.Equal(t, map[string]string{
		"openssl@3.0.11-1~deb12u2":        "Debian:12",
		"musl@1.2.5-r0":                   "Alpine:v3.20",
		"bash@5.2.15-2":                   "",
		"@babel/core@7.0.0":               "npm",
		"com.google.guava:guava@31.1-jre": "Maven",
	}, got)
}
