package main

import (
	"os/exec"
	"path"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every host package under ci/ runs as a command of the same name: a host added there
// and not to the list is noticed.
func TestEveryCIHostHasItsCommand(t *testing.T) {
	out, err := exec.Command("go", "list", "../../ci/...").Output()
	require.NoError(t, err)
	names := map[string]bool{}
	for _, h := range hosts {
		names[h.name] = true
	}
	n := 0
	for _, pkg := range strings.Fields(string(out)) {
		base := path.Base(pkg)
		if strings.HasSuffix(pkg, "/ci") || base == "inputs" {
			continue
		}
		n++
		assert.True(t, names[base], "ci host %s has no command in hosts", pkg)
	}
	assert.Equal(t, len(hosts), n)
}
