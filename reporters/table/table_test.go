package table_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/reporttest"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/table"
)

func TestEveryKind(t *testing.T) {
	res := reporttest.EveryKind(t)
	var b bytes.Buffer
	require.NoError(t, table.Write(&b, res, table.Options{}))
	reporttest.AssertShowsEveryKind(t, res, b.String())
	assert.Contains(t, b.String(), "Accepted (8, not counted by the gate)")
	assert.NotContains(t, b.String(), reporttest.AWSSecret)
	reporttest.Golden(t, "reporters/table", "txt", b.Bytes())
}

// Without a Dockerfile, image and secret findings still have their own sections (they
// were once listed only under a Dockerfile heading, and only with --dockerfile).
func TestImageFindingsWithoutDockerfile(t *testing.T) {
	res := reporttest.EveryKind(t)
	res.Dockerfile = ""
	var b bytes.Buffer
	require.NoError(t, table.Write(&b, res, table.Options{}))
	for _, want := range []string{"Image configuration (2:", "Secrets (1: 1 critical)", "IC100", "IC002", "IC009"} {
		assert.Contains(t, b.String(), want)
	}
}

// A Go vulnerability says whether its binary links the vulnerable code, and says so too
// when that could not be read (it gates as reachable).
func TestReachabilityIsShown(t *testing.T) {
	reporttest.AssertReachabilityShown(t, func(w io.Writer, r *report.Result) error { return table.Write(w, r, table.Options{}) }, 1)
}
