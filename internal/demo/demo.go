// Package demo builds the bundled demo image from the real package databases in
// testdata/pkgdb: a Debian 11 base layer and an app layer that installed python3-yaml and
// openssl with apt. The committed testdata/demo/demo-image.tar is its docker-archive;
// `go run ./internal/demo/mkdemo` writes it again, and a test checks it is up to date.
package demo

import (
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/imagegate/internal/imagebuild"
)

// Tag is the tag recorded in the demo archive.
const Tag = "imagegate/demo:1"

// ArchivePath is where the demo image lives, relative to the repository root.
const ArchivePath = "testdata/demo/demo-image.tar"

// Build builds the demo image from the repository at root.
func Build(root string) (v1.Image, error) {
	pkgdb := filepath.Join(root, "testdata", "pkgdb")
	base, err := imagebuild.Tree(filepath.Join(pkgdb, "debian11-base"))
	if err != nil {
		return nil, err
	}
	base = append(base, imagebuild.Dir("etc"), imagebuild.Symlink("etc/os-release", "../usr/lib/os-release"))
	app, err := imagebuild.Tree(filepath.Join(pkgdb, "debian11-app"))
	if err != nil {
		return nil, err
	}
	baseLayer, err := imagebuild.Layer(base...)
	if err != nil {
		return nil, err
	}
	aptLayer, err := imagebuild.Layer(app...)
	if err != nil {
		return nil, err
	}
	appLayer, err := imagebuild.Layer(
		imagebuild.Dir("app"),
		imagebuild.File("app/main.py", []byte("import yaml\nprint(yaml.safe_dump({'hello': 'world'}))\n")),
	)
	if err != nil {
		return nil, err
	}
	return imagebuild.Image("linux/amd64", func(c *v1.Config) {
		c.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
		c.Cmd = []string{"python3", "/app/main.py"}
		c.WorkingDir = "/app"
	},
		imagebuild.Step{CreatedBy: "/bin/sh -c #(nop) ADD file:debian-11-minbase in / ", Layer: baseLayer},
		imagebuild.Step{CreatedBy: `/bin/sh -c #(nop)  CMD ["bash"]`},
		imagebuild.Step{CreatedBy: "RUN /bin/sh -c apt-get update && apt-get install -y --no-install-recommends python3-yaml openssl # buildkit", Layer: aptLayer},
		imagebuild.Step{CreatedBy: "WORKDIR /app"},
		imagebuild.Step{CreatedBy: "COPY main.py /app/ # buildkit", Layer: appLayer},
		imagebuild.Step{CreatedBy: `CMD ["python3" "/app/main.py"]`},
	)
}
