// Command mkdemo writes the demo image (testdata/demo/demo-image.tar) from testdata/pkgdb.
// Run it from the repository root: go run ./internal/demo/mkdemo
package main

import (
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/imagegate/imagegate/internal/demo"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "mkdemo: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	img, err := demo.Build(".")
	if err != nil {
		return err
	}
	tag, err := name.NewTag(demo.Tag)
	if err != nil {
		return err
	}
	tmp := demo.ArchivePath + ".tmp"
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		return err
	}
	return os.Rename(tmp, demo.ArchivePath)
}
