package fleet_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/fleet"
	"github.com/imagegate/imagegate/internal/fleettest"
	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/report"
)

// Each image's base: from its annotations (and due a rebuild once the base tag moved), or
// from its layers when it carries none; and the other tags of each base, with their
// vulnerability counts.
func TestBasesAndRecommendations(t *testing.T) {
	host := fleetRegistry(t)
	imgs, err := fleettest.Build(imagetest.RepoRoot(t), host, fleettest.Spec{})
	require.NoError(t, err)
	alpine, distroless := imgs[0].Image, imgs[2].Image
	push := func(repoTag string, img v1.Image) {
		ref, err := name.ParseReference(host + "/" + repoTag)
		require.NoError(t, err)
		require.NoError(t, remote.Write(ref, img))
	}
	// The Alpine base tag moves on after the applications were built; 3.21 appears; a
	// slim flavour of 3.20 with far fewer packages (the five-package distroless root
	// stands in for it: what the tag holds is up to the registry) and 11-slim beside
	// Debian 11.
	moved, err := mutate.AppendLayers(alpine, imagetest.Layer(t, imagetest.File("etc/alpine-release", []byte("3.20.3\n"))))
	require.NoError(t, err)
	push("base/alpine:3.20", moved)
	push("base/alpine:3.21", moved)
	push("base/alpine:3.20-slim", distroless)
	push("base/debian:11-slim", distroless)
	attachSBOM(t, host+"/base/alpine:3.21") // checked through its SBOM, not its layers
	// An image that records no base: built on distroless, found by its layers.
	plain, err := mutate.AppendLayers(distroless, imagetest.Layer(t, imagetest.File("app/run", []byte("#!/bin/sh\n"))))
	require.NoError(t, err)
	push("team-y/plain:1", plain)

	dir := t.TempDir()
	run := fleet.Run{Targets: []string{host + "/team-a/app0", host + "/team-b/app1", host + "/team-y/plain", host + "/base/distroless"},
		Filter: fleet.Filter{Newest: 1}, Shard: fleet.Shard{Index: 1, Count: 1}, Recommend: true, LayerCache: t.TempDir(),
		Options: fleet.Options{Request: scanOptions(t), Dir: dir}}
	f, err := run.Do(context.Background())
	require.NoError(t, err)
	got := map[string]report.FleetImage{}
	for _, im := range f.Images {
		got[strings.TrimPrefix(im.Names[0], host+"/")] = im
	}
	a := got["team-a/app0:v1.7"].Base
	require.NotNil(t, a)
	assert.Equal(t, "annotation", a.Source)
	assert.True(t, a.Rebuild, "base/alpine:3.20 moved on since the build")
	b := got["team-b/app1:v1.7"].Base
	require.NotNil(t, b)
	assert.False(t, b.Rebuild)
	assert.Equal(t, host+"/base/debian:11", b.Name)
	p := got["team-y/plain:1"].Base
	require.NotNil(t, p)
	assert.Equal(t, "layers", p.Source)
	assert.Equal(t, host+"/base/distroless:11", p.Name)

	var rebuild []report.FleetRebuild
	raw, err := os.ReadFile(filepath.Join(dir, fleet.RebuildList))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &rebuild))
	require.Len(t, rebuild, 1)
	assert.Equal(t, got["team-a/app0:v1.7"].Reference, rebuild[0].Image)

	recs := map[string]report.BaseRecommendation{}
	for _, r := range f.Recommendations {
		recs[strings.TrimPrefix(r.Base, host+"/")] = r
	}
	require.Contains(t, recs, "base/alpine:3.20")
	require.Contains(t, recs, "base/debian:11")
	al := recs["base/alpine:3.20"]
	require.Len(t, al.Candidates, 2)
	assert.Positive(t, sum(al.Counts), "Alpine 3.20.2's packages have known vulnerabilities")
	slim, newer := al.Candidates[0], al.Candidates[1]
	assert.Equal(t, "3.20-slim", slim.Tag, "fewest vulnerabilities first")
	assert.Equal(t, "variant", slim.Relation)
	assert.Less(t, slim.Total, newer.Total)
	assert.Equal(t, "3.21", newer.Tag)
	assert.Equal(t, "newer", newer.Relation)
	assert.Equal(t, sum(al.Counts), newer.Total, "3.21 holds the same packages")
	assert.Equal(t, "sbom", newer.Via)
	assert.Equal(t, "scan", slim.Via)
	deb := recs["base/debian:11"]
	require.Len(t, deb.Candidates, 1)
	assert.Equal(t, "11-slim", deb.Candidates[0].Tag)
	assert.Equal(t, "variant", deb.Candidates[0].Relation)
	assert.Empty(t, deb.Candidates[0].Error)
}
