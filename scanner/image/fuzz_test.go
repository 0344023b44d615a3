package image_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/analyzer"
	"github.com/imagegate/imagegate/scanner/image"
	"github.com/imagegate/imagegate/scanner/secrets"
)

// FuzzWalk walks an image of one layer of arbitrary tar bytes (seeded with real package
// databases) with every analyzer attached (packages, binaries, image checks, secrets): never a panic, and no
// file of the index has a path that leaves the image root.
func FuzzWalk(f *testing.F) {
	f.Add(imagetest.TarBytes(f, imagetest.Tree(f, "pkgdb/alpine320")...))
	f.Add(imagetest.TarBytes(f, imagetest.Tree(f, "pkgdb/debian11-app")...))
	f.Add(imagetest.TarBytes(f,
		imagetest.Symlink("etc/os-release", "../../../../etc/passwd"),
		imagetest.Symlink("loop/a", "b"), imagetest.Symlink("loop/b", "a"),
		imagetest.Whiteout("lib/apk/db/installed"), imagetest.Opaque("usr"),
		imagetest.File("app/x.jar", imagetest.Fixture(f, "langs/commons-cli-1.5.0.jar")),
		imagetest.File("root/.ssh/id_rsa", []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n")),
	))
	f.Add([]byte{})
	det, err := secrets.New()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// A run that hangs is a finding too: dump every goroutine and fail.
		watchdog := time.AfterFunc(10*time.Second, func() {
			buf := make([]byte, 1<<20)
			os.Stderr.Write(buf[:runtime.Stack(buf, true)])
			panic(fmt.Sprintf("walk of %d bytes still running after 10s", len(data)))
		})
		defer watchdog.Stop()
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
		if err != nil {
			return
		}
		img := imagetest.Image(t, "linux/amd64", imagetest.Step{CreatedBy: "fuzz", Layer: l})
		list, err := analyzer.List(det, analyzer.Options{Config: true, Secrets: true})
		if err != nil {
			t.Fatal(err)
		}
		req, opts := analyzer.WalkOptions(list)
		ctx := context.Background()
		idx, err := image.Walk(ctx, &image.Image{Image: img}, req, opts...)
		if err != nil {
			return
		}
		for _, fl := range idx.Files() {
			if len(fl.Path) > 0 && (fl.Path[0] == '/' || fl.Path == ".." || bytes.HasPrefix([]byte(fl.Path), []byte("../"))) {
				t.Fatalf("path %q leaves the image root", fl.Path)
			}
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		_ = analyzer.Run(ctx, list, idx, cf, &report.Result{})
	})
}
