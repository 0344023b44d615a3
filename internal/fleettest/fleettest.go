// Package fleettest builds a registry's worth of real images for the registry scan's
// tests, end-to-end test and benchmark: three base images (Alpine 3.20, Debian 11,
// distroless, from the real package databases in testdata/pkgdb) and application images
// in several repositories built on them, each with the base-image annotations a build
// records, plus one image whose config does not describe its layers.
package fleettest

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/imagegate/imagegate/internal/imagebuild"
)

// Image is an image and the repository:tag it is pushed as (without the registry host).
type Image struct {
	Name  string
	Image v1.Image
}

// Spec sizes the fleet.
type Spec struct {
	// Repositories and Tags: Repositories × Tags application images (each repository on
	// one of the three bases, in turn).
	Repositories, Tags int
	// BasePadding adds this many bytes of incompressible files to each base, so that
	// reading the bases costs what real ones do.
	BasePadding int
}

// Bases are the base images' names.
var Bases = []string{"base/alpine:3.20", "base/debian:11", "base/distroless:11"}

var baseTrees = []string{"alpine320", "debian11-base", "distroless11"}

// Build builds the bases and the application images for a registry at host (the
// annotations name the bases there). Bases come first.
func Build(root, host string, s Spec) ([]Image, error) {
	var out []Image
	var bases []v1.Image
	for i, tree := range baseTrees {
		entries, err := imagebuild.Tree(filepath.Join(root, "testdata", "pkgdb", tree))
		if err != nil {
			return nil, err
		}
		if tree != "alpine320" {
			// Debian roots have /etc/os-release (a link to usr/lib's in Debian, a file in
			// distroless): the trees keep only the package databases.
			osRelease, err := os.ReadFile(filepath.Join(root, "testdata", "pkgdb", "debian11-base", "usr", "lib", "os-release"))
			if err != nil {
				return nil, err
			}
			entries = append(entries, imagebuild.Dir("etc"), imagebuild.File("etc/os-release", osRelease))
		}
		steps := []imagebuild.Step{{CreatedBy: "ADD rootfs.tar / # " + tree}}
		if steps[0].Layer, err = imagebuild.Layer(entries...); err != nil {
			return nil, err
		}
		if s.BasePadding > 0 {
			pad, err := imagebuild.Layer(imagebuild.Dir("usr"), imagebuild.Dir("usr/lib"),
				imagebuild.Entry{Path: "usr/lib/libpadding.so", Body: noise(int64(i), int64(s.BasePadding)), Mode: 0o755})
			if err != nil {
				return nil, err
			}
			steps = append(steps, imagebuild.Step{Layer: pad, CreatedBy: "COPY lib /usr/lib"})
		}
		img, err := imagebuild.Image("linux/amd64", nil, steps...)
		if err != nil {
			return nil, err
		}
		bases = append(bases, img)
		out = append(out, Image{Name: Bases[i], Image: img})
	}
	for r := 0; r < s.Repositories; r++ {
		b := r % len(bases)
		baseDigest, err := bases[b].Digest()
		if err != nil {
			return nil, err
		}
		repo := fmt.Sprintf("team-%c/app%d", 'a'+r%26, r)
		for t := 0; t < s.Tags; t++ {
			tag := fmt.Sprintf("v1.%d", t)
			app, err := imagebuild.Layer(imagebuild.Dir("app"),
				imagebuild.File("app/package.json", []byte(fmt.Sprintf(`{"name":"app%d","version":"1.%d.0","dependencies":{"lodash":"4.17.20"}}`, r, t))),
				imagebuild.Dir("app/node_modules"), imagebuild.Dir("app/node_modules/lodash"),
				imagebuild.File("app/node_modules/lodash/package.json", []byte(`{"name":"lodash","version":"4.17.20"}`)),
				imagebuild.File("app/VERSION", []byte(repo+":"+tag+"\n")))
			if err != nil {
				return nil, err
			}
			img, err := mutate.Append(bases[b], mutate.Addendum{Layer: app, History: v1.History{
				CreatedBy: "COPY . /app # buildkit", Created: v1.Time{Time: imagebuild.Epoch.Add(time.Duration(t+1) * 24 * time.Hour)}}})
			if err != nil {
				return nil, err
			}
			img, err = imagebuild.EditConfig(img, func(cf *v1.ConfigFile) {
				cf.Created = v1.Time{Time: imagebuild.Epoch.Add(time.Duration(t+1) * 24 * time.Hour)}
				cf.Config.User = "10001"
			})
			if err != nil {
				return nil, err
			}
			img = mutate.Annotations(img, map[string]string{
				"org.opencontainers.image.base.name":   host + "/" + Bases[b],
				"org.opencontainers.image.base.digest": baseDigest.String(),
			}).(v1.Image)
			out = append(out, Image{Name: repo + ":" + tag, Image: img})
		}
	}
	return out, nil
}

// Broken is an image whose config lists one diff ID for two layers: the registry stores
// it, a scan refuses it.
func Broken() (v1.Image, error) {
	l1, err := imagebuild.Layer(imagebuild.File("a", []byte("a\n")))
	if err != nil {
		return nil, err
	}
	l2, err := imagebuild.Layer(imagebuild.File("b", []byte("b\n")))
	if err != nil {
		return nil, err
	}
	img, err := imagebuild.Image("linux/amd64", nil, imagebuild.Step{Layer: l1, CreatedBy: "ADD a"}, imagebuild.Step{Layer: l2, CreatedBy: "ADD b"})
	if err != nil {
		return nil, err
	}
	return imagebuild.EditConfig(img, func(cf *v1.ConfigFile) { cf.RootFS.DiffIDs = cf.RootFS.DiffIDs[:1] })
}

// noise is n bytes that do not compress, the same for the same seed.
func noise(seed, n int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}
