package imageref_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/imagegate/imagegate/scanner/imageref"
)

func TestParse(t *testing.T) {
	const d = "sha256:0000000000000000000000000000000000000000000000000000000000000001"
	for in, want := range map[string]imageref.Ref{
		"alpine":                             {Repository: "alpine"},
		"alpine:3.20":                        {Repository: "alpine", Tag: "3.20"},
		"localhost:5000/app":                 {Repository: "localhost:5000/app"},
		"localhost:5000/team/app:1.2@" + d:   {Repository: "localhost:5000/team/app", Tag: "1.2", Digest: d},
		"ghcr.io/org/app@" + d:               {Repository: "ghcr.io/org/app", Digest: d},
		"docker.io/library/python:3.12-slim": {Repository: "docker.io/library/python", Tag: "3.12-slim"},
	} {
		got, ok := imageref.Parse(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "Alpine", "app:bad tag", "app@sha256:short", "app:"} {
		_, ok := imageref.Parse(bad)
		assert.False(t, ok, bad)
	}
	r, _ := imageref.Parse("localhost:5000/team/app:1")
	assert.Equal(t, "app", r.ShortName())
}
