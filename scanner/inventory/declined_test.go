package inventory_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/scanner/image"
	"github.com/imagegate/imagegate/scanner/inventory"
)

// A file an extractor is offered and declines (its own size cap, here set below the
// walk's) is an incomplete item naming the file, for every extractor that has a cap, the
// binaries read during the walk included; the same file one byte under the cap is read
// (no decline).
func TestDeclinedFilesAreIncomplete(t *testing.T) {
	const limit = 64 << 10
	paths := []string{
		"var/lib/dpkg/status",                                      // Debian, Ubuntu
		"lib/apk/db/installed",                                     // Alpine
		"var/lib/rpm/rpmdb.sqlite",                                 // Red Hat family
		"app/node_modules/left-pad/package.json",                   // npm
		"usr/lib/python3/site-packages/six-1.0.dist-info/METADATA", // PyPI
		"usr/lib/ruby/gems/3.0.0/specifications/rake-13.0.gemspec", // RubyGems
		"app/app.deps.json",                                        // NuGet
		"app/requirements.txt",                                     // PyPI lockfile
	}
	entry := func(p string, size int) imagetest.Entry {
		if p == "usr/local/bin/app" { // a binary, read as the walk streams it (Go, Rust)
			return imagetest.Entry{Path: p, Mode: 0o755, Body: append([]byte{0x7f, 'E', 'L', 'F'}, bytes.Repeat([]byte{0}, size-4)...)}
		}
		return imagetest.File(p, bytes.Repeat([]byte("\n"), size))
	}
	for _, p := range append(paths, "usr/local/bin/app") {
		t.Run(p, func(t *testing.T) {
			for _, size := range []int{limit, limit + 1} {
				a, err := inventory.New(limit)
				require.NoError(t, err)
				img := imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: imagetest.Layer(t, entry(p, size))})
				idx, err := image.Walk(context.Background(), &image.Image{Image: img}, a, image.WithConsumer(a), image.WithMaxFileSize(4*limit))
				require.NoError(t, err)
				inv, err := a.Analyze(context.Background(), idx, nil)
				require.NoError(t, err)
				var declined []string
				for _, line := range inv.Incomplete {
					if strings.Contains(line, "declined") {
						declined = append(declined, line)
					}
				}
				if size > limit {
					require.NotEmpty(t, declined, "%d bytes: %q", size, inv.Incomplete)
					assert.Contains(t, declined[0], p)
				} else {
					assert.Empty(t, declined, "%d bytes", size)
				}
			}
		})
	}
}
