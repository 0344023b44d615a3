package inventory

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Inputs that are small but would make an extractor build gigabytes are refused before it
// runs; ordinary ones pass.
func TestPreflight(t *testing.T) {
	stanzas := strings.Repeat("Package: a\nVersion: 1\n\n", MaxPackageStanzas+1)
	assert.ErrorContains(t, preflight("os/dpkg", "var/lib/dpkg/status", []byte(stanzas)), "package entries")
	assert.NoError(t, preflight("os/dpkg", "var/lib/dpkg/status", []byte("Package: a\nVersion: 1\n\n")))

	modules := "\x7fELF" + strings.Repeat("\ndep\tgithub.com/x/y\tv1.0.0\th1:abc=", MaxGoModules+1)
	assert.ErrorContains(t, preflight("go/binary", "usr/bin/app", []byte(modules)), "modules")

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("pkg-1.0.dist-info/METADATA")
	require.NoError(t, err)
	w.Write(make([]byte, MaxWheelMemberSize+1)) // zeros: a few KB compressed
	require.NoError(t, zw.Close())
	require.Less(t, buf.Len(), 1<<20)
	assert.ErrorContains(t, preflight("python/wheelegg", "opt/pkg-1.0-py3-none-any.whl", buf.Bytes()), "METADATA")
	assert.NoError(t, preflight("python/wheelegg", "usr/lib/python3/dist-packages/pkg-1.0.dist-info/METADATA", []byte("Name: pkg\n")))
}
