package scanner

import (
	"context"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/baseimage"
	"github.com/imagegate/imagegate/scanner/dockerfile"
	"github.com/imagegate/imagegate/scanner/image"
	"github.com/imagegate/imagegate/scanner/imageref"
)

// source is the image to scan and, when one is named, its base image: both are resolved
// before the walk, so the registry is not opened again after matching.
type source struct {
	img    *image.Image
	config *v1.ConfigFile
	// baseRef is the base image resolved; baseDiffIDs its layers when the image is built
	// on them, stale a finding when the base's tag has moved on since the build; warning
	// says why the base could not be resolved.
	baseRef     string
	baseDiffIDs []string
	stale       *report.Finding
	warning     string
}

// ImageOptions are the options the request's images are opened with: platform,
// credentials, plain HTTP, where to look, and the scanner's keychain and transport.
func (s *Scanner) ImageOptions(r Request) []image.Option {
	openOpts := []image.Option{
		image.WithPlatform(r.Registry.Platform),
		image.WithBasicAuth(r.Registry.Username, r.Registry.Password),
		image.WithRegistries(r.Registry.CredentialsFor...),
		image.WithInsecure(r.Registry.Insecure),
	}
	if len(r.Registry.Sources) > 0 {
		openOpts = append(openOpts, image.WithSources(r.Registry.Sources))
	}
	if s.keychain != nil {
		openOpts = append(openOpts, image.WithKeychain(s.keychain))
	}
	if s.transport != nil {
		openOpts = append(openOpts, image.WithTransport(s.transport))
	}
	return openOpts
}

// openSource opens the image (Request.Image, looked up where Registry.Sources say) and
// resolves its base image when Base.Image names one, or Base.Resolve asks for the
// Dockerfile's final FROM or the image's base annotation.
func (s *Scanner) openSource(ctx context.Context, r Request, df *dockerfile.Dockerfile) (*source, error) {
	openOpts := s.ImageOptions(r)
	img, err := image.Open(ctx, r.Image, openOpts...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, failure.Inputf("image config: %w", err)
	}
	src := &source{img: img, config: cf, baseRef: r.Base.Image}
	if src.baseRef == "" && r.Base.Resolve {
		if df != nil && !strings.Contains(df.Final().Base, "$") && df.Final().Base != "scratch" {
			src.baseRef = df.Final().Base
		} else if m, err := img.Manifest(); err == nil {
			src.baseRef = m.Annotations["org.opencontainers.image.base.name"]
		}
	}
	if src.baseRef == "" {
		return src, nil
	}
	base, err := image.Open(ctx, src.baseRef, append(openOpts, image.WithPlatform(img.Platform))...)
	if err != nil {
		src.warning = fmt.Sprintf("base image %s could not be resolved (%s): attribution falls back to the history", src.baseRef, failure.OneLine(err.Error()))
		return src, nil
	}
	bcf, err := base.ConfigFile()
	if err != nil {
		src.warning = fmt.Sprintf("base image %s: unreadable config (%s): attribution falls back to the history", src.baseRef, failure.OneLine(err.Error()))
		return src, nil
	}
	var ids []string
	for _, d := range bcf.RootFS.DiffIDs {
		ids = append(ids, d.String())
	}
	if sharesPrefix(cf, ids) {
		src.baseDiffIDs = ids
	} else {
		f := baseimage.StaleFinding(src.baseRef, base.Digest, df)
		src.stale = &f
	}
	return src, nil
}

// info says which image was scanned.
func (s *source) info() *report.ImageInfo {
	return &report.ImageInfo{
		Name:        s.img.Name,
		Repository:  repository(s.img.Name, s.img.Transport),
		Transport:   s.img.Transport,
		Digest:      s.img.Digest,
		IndexDigest: s.img.IndexDigest,
		ID:          s.img.ID,
		Platform:    s.img.Platform,
	}
}

// repository is a registry or daemon image's reference without tag and digest.
func repository(name string, transport report.Transport) string {
	if transport != report.TransportRegistry && transport != report.TransportDockerDaemon {
		return ""
	}
	r, ok := imageref.Parse(name)
	if !ok {
		return ""
	}
	return r.Repository
}

func sharesPrefix(cf *v1.ConfigFile, base []string) bool {
	if len(base) > len(cf.RootFS.DiffIDs) {
		return false
	}
	for i, id := range base {
		if cf.RootFS.DiffIDs[i].String() != id {
			return false
		}
	}
	return true
}
