package ecosystem_test

import (
	"testing"

	"github.com/google/osv-scalibr/extractor"
	"github.com/google/osv-scalibr/semantic"
	"github.com/stretchr/testify/assert"

	"github.com/imagegate/imagegate/scanner/ecosystem"
)

func TestForDistro(t *testing.T) {
	for in, want := range map[[2]string]string{
		{"debian", "12.4"}:   "Debian:12",
		{"ubuntu", "22.04"}:  "Ubuntu:22.04",
		{"alpine", "3.20.2"}: "Alpine:v3.20",
		{"rocky", "9.3"}:     "Rocky Linux:9",
		{"almalinux", "8"}:   "AlmaLinux:8",
		{"Debian", "11"}:     "Debian:11",
		{"alpine", "3"}:      "", // no minor: no release OSV names
		{"debian", ""}:       "",
		{"gentoo", "2.14"}:   "",
	} {
		assert.Equal(t, want, ecosystem.ForDistro(in[0], in[1]), in)
	}
}

// The table agrees with osv-scalibr, whose extractors make the inventory: a language
// package's purl type names the same OSV ecosystem, and every ecosystem has a version
// order in its semantic package.
func TestAgreesWithOSVScalibr(t *testing.T) {
	for _, e := range ecosystem.Table {
		if !e.IsDistro() {
			assert.Equal(t, e.OSV, (&extractor.Package{PURLType: e.PURLType}).Ecosystem().String(), e.PURLType)
			assert.Equal(t, e.OSV, ecosystem.ForPURLType(e.PURLType))
		} else {
			assert.NotNil(t, e.Release, e.OSV)
			assert.True(t, ecosystem.IsDistroType(e.PURLType), e.PURLType)
		}
		_, err := semantic.Parse("1.0.0", e.OSV)
		assert.NoError(t, err, "semantic has no version order for %s", e.OSV)
	}
	assert.Empty(t, ecosystem.ForPURLType("deb"), "a distribution needs its release")
}

func TestNormalize(t *testing.T) {
	assert.Equal(t, "zope-interface", ecosystem.NormalizeName("PyPI", "Zope.Interface"))
	assert.Equal(t, "zope-interface", ecosystem.NormalizeName("PyPI", "zope__interface"))
	assert.Equal(t, "Zope.Interface", ecosystem.NormalizeName("npm", "Zope.Interface"))
	assert.Equal(t, "1.21.0", ecosystem.NormalizeVersion("Go", "go1.21.0"))
	assert.Equal(t, "1.7.7", ecosystem.NormalizeVersion("Go", "v1.7.7"))
	assert.Equal(t, "v1.7.7", ecosystem.NormalizeVersion("npm", "v1.7.7"))
	assert.True(t, ecosystem.BySource("Debian:12"))
	assert.False(t, ecosystem.BySource("AlmaLinux:9"))
	assert.Equal(t, "Alpine", ecosystem.Base("Alpine:v3.20"))
}
