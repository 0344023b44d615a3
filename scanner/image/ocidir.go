package image

import (
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/imagegate/imagegate/failure"
)

func openOCIDir(dir string, o openOptions) (*Image, error) {
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
		return nil, failure.Inputf("oci-dir %q: not an OCI layout (no oci-layout file)", dir)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, failure.Inputf("oci-dir %q: %w", dir, err)
	}
	img, err := pickFromIndex(idx, o.platform, dir)
	if err != nil {
		return nil, err
	}
	if err := checkManifest(img, dir); err != nil {
		return nil, err
	}
	return finish(&Image{Image: img}, o.platform, dir)
}
