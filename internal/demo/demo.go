// Package demo builds the bundled demo image from real artifacts in testdata: an Alpine
// 3.20.2 base (os-release and apk database of the published alpine image), a Node.js app
// layer (package.json files of a real `npm install`), and a Go server binary built with
// go1.22.0. The committed testdata/demo/demo-image.tar is its docker-archive;
// `go run ./internal/demo/mkdemo` writes it again, and a test checks it is up to date.
package demo

import (
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/imagegate/internal/imagebuild"
)

// Tag is the tag recorded in the demo archive.
const Tag = "imagegate/demo:1"

// ArchivePath is where the demo image lives, relative to the repository root.
const ArchivePath = "testdata/demo/demo-image.tar"

// DBPath is the demo vulnerability data (OSV exports), relative to the repository root.
const DBPath = "testdata/osv"

// Build builds the demo image from the repository at root.
func Build(root string) (v1.Image, error) {
	td := filepath.Join(root, "testdata")
	base, err := imagebuild.Tree(filepath.Join(td, "pkgdb", "alpine320"))
	if err != nil {
		return nil, err
	}
	app, err := imagebuild.Tree(filepath.Join(td, "npm", "demo-app"))
	if err != nil {
		return nil, err
	}
	appEntries := []imagebuild.Entry{imagebuild.Dir("usr"), imagebuild.Dir("usr/src"), imagebuild.Dir("usr/src/app")}
	for _, e := range app {
		e.Path = "usr/src/app/" + e.Path
		appEntries = append(appEntries, e)
	}
	appEntries = append(appEntries, imagebuild.File("usr/src/app/server.js", []byte(strings.TrimSpace(`
const express = require('express');
const app = express();
app.get('/', (req, res) => res.send('hello from the imagegate demo'));
app.listen(8080);
`)+"\n")))
	server, err := os.ReadFile(filepath.Join(td, "gobinary", "go1.22-server"))
	if err != nil {
		return nil, err
	}

	layers := make([]v1.Layer, 3)
	for i, entries := range [][]imagebuild.Entry{
		base,
		appEntries,
		{imagebuild.Dir("usr"), imagebuild.Dir("usr/local"), imagebuild.Dir("usr/local/bin"),
			{Path: "usr/local/bin/healthcheck", Body: server, Mode: 0o755}},
	} {
		if layers[i], err = imagebuild.Layer(entries...); err != nil {
			return nil, err
		}
	}
	return imagebuild.Image("linux/amd64", func(c *v1.Config) {
		c.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NODE_ENV=production"}
		c.Cmd = []string{"node", "server.js"}
		c.WorkingDir = "/usr/src/app"
		c.ExposedPorts = map[string]struct{}{"8080/tcp": {}}
	},
		imagebuild.Step{CreatedBy: "/bin/sh -c #(nop) ADD file:alpine-minirootfs-3.20.2-x86_64.tar.gz in / ", Layer: layers[0]},
		imagebuild.Step{CreatedBy: `/bin/sh -c #(nop)  CMD ["/bin/sh"]`},
		imagebuild.Step{CreatedBy: "WORKDIR /usr/src/app"},
		imagebuild.Step{CreatedBy: "COPY . . # buildkit", Layer: layers[1]},
		imagebuild.Step{CreatedBy: "COPY /out/healthcheck /usr/local/bin/healthcheck # buildkit", Layer: layers[2]},
		imagebuild.Step{CreatedBy: "ENV NODE_ENV=production"},
		imagebuild.Step{CreatedBy: "EXPOSE map[8080/tcp:{}]"},
		imagebuild.Step{CreatedBy: `CMD ["node" "server.js"]`},
	)
}
