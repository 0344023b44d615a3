package junit_test

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/reporttest"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/junit"
)

// One test suite per finding kind, one test case per finding (suppressed ones skipped),
// plus the gate's own case.
func TestEveryKind(t *testing.T) {
	res := reporttest.EveryKind(t)
	var b bytes.Buffer
	require.NoError(t, junit.Write(&b, res))
	var x struct {
		Tests  int `xml:"tests,attr"`
		Suites []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Skipped *struct{} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal(b.Bytes(), &x))
	assert.Equal(t, len(res.Findings)+1, x.Tests)
	byKind := report.ByKind(res.Findings)
	for _, k := range report.Kinds {
		found := false
		for _, s := range x.Suites {
			if strings.HasPrefix(s.Name, "imagegate "+string(k)+" findings") {
				found = true
				assert.Len(t, s.Cases, len(byKind[k]), k)
			}
		}
		assert.True(t, found, "no test suite for %s findings", k)
	}
	assert.NotContains(t, b.String(), reporttest.AWSSecret)
	reporttest.Golden(t, "reporters/junit", "xml", b.Bytes())
}
