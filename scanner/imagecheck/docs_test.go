package imagecheck_test

import (
	"testing"

	"github.com/imagegate/imagegate/internal/golden"
	"github.com/imagegate/imagegate/scanner/baseimage"
	"github.com/imagegate/imagegate/scanner/imagecheck"
)

// docs/image-checks.md is generated from the checks; it must not drift.
func TestChecksDoc(t *testing.T) {
	golden.Check(t, "docs/image-checks.md", []byte(imagecheck.ChecksMarkdown(baseimage.Stale)))
}
