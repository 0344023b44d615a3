package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/ci/inputs"
)

// The CLI flags named in the shared input table exist on `scan`, with the table's default.
func TestCLIFlagsMatchTheInputTable(t *testing.T) {
	cmd := newScanCmd(&bytes.Buffer{}, &bytes.Buffer{})
	for _, in := range inputs.Table {
		if in.Flag == "" {
			continue
		}
		fl := cmd.Flags().Lookup(in.Flag)
		require.NotNil(t, fl, "scan has no --%s for input %s", in.Flag, in.Name)
		def := fl.DefValue
		def = strings.Trim(def, "[]") // slice flags print as [a,b]
		assert.Equal(t, in.Default, def, "--%s default", in.Flag)
	}
}
