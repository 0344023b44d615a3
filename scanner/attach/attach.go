// Package attach keeps an image's SBOM in the registry beside it: an OCI artifact whose
// subject is the image (OCI 1.1 referrers), found through the referrers API or, on a
// registry without it, the referrers tag schema (sha256-<digest>), which
// go-containerregistry maintains and reads. Re-checking an image then needs only its
// SBOM, not its layers.
package attach

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imagegate/imagegate/scanner/failure"
	"github.com/imagegate/imagegate/scanner/image"
)

// Media types of the SBOM artifact: the artifact type and its one layer are CycloneDX
// JSON's registered media type; the config is OCI's empty descriptor.
const (
	ArtifactType = "application/vnd.cyclonedx+json"
	// AnnotationCreated is when the SBOM was made; the newest SBOM of an image wins.
	AnnotationCreated = "org.opencontainers.image.created"
	// AnnotationTool names the tool that made it.
	AnnotationTool = "dev.imagegate.sbom.tool"
)

// MaxSBOM bounds an SBOM read back from the registry.
const MaxSBOM = 64 << 20

var emptyConfig = []byte("{}")

// Push attaches sbom to the image at ref (repository@digest) and returns the artifact's
// digest. Registry options come from opts, as for opening images.
func Push(ctx context.Context, ref string, sbom []byte, created time.Time, tool string, opts ...image.Option) (string, error) {
	d, err := name.NewDigest(ref, image.NameOptions(opts...)...)
	if err != nil {
		return "", failure.Inputf("attach: %q is not a repository@digest reference: %w", ref, err)
	}
	ropts := image.RemoteOptions(ctx, d.RegistryStr(), opts...)
	subject, err := remote.Head(d, ropts...)
	if err != nil {
		return "", failure.Incompletef("attach: image %s: %w", ref, err)
	}
	cfg := static.NewLayer(emptyConfig, types.OCIEmptyJSON)
	doc := static.NewLayer(sbom, ArtifactType)
	for _, l := range []v1.Layer{cfg, doc} {
		if err := remote.WriteLayer(d.Context(), l, ropts...); err != nil {
			return "", failure.Incompletef("attach: uploading to %s: %w", d.Context(), err)
		}
	}
	cfgDesc, err := descriptor(cfg, types.OCIEmptyJSON)
	if err != nil {
		return "", err
	}
	cfgDesc.Data = emptyConfig
	docDesc, err := descriptor(doc, ArtifactType)
	if err != nil {
		return "", err
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  ArtifactType,
		Config:        cfgDesc,
		Layers:        []v1.Descriptor{docDesc},
		Subject:       &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		Annotations:   map[string]string{AnnotationCreated: created.UTC().Format(time.RFC3339), AnnotationTool: tool},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return "", failure.Incomplete(err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return "", failure.Incomplete(err)
	}
	if err := remote.Put(d.Context().Digest(h.String()), rawManifest(raw), ropts...); err != nil {
		return "", failure.Incompletef("attach: pushing the SBOM artifact to %s: %w", d.Context(), err)
	}
	return h.String(), nil
}

func descriptor(l v1.Layer, mt types.MediaType) (v1.Descriptor, error) {
	dg, err := l.Digest()
	if err != nil {
		return v1.Descriptor{}, failure.Incomplete(err)
	}
	size, err := l.Size()
	if err != nil {
		return v1.Descriptor{}, failure.Incomplete(err)
	}
	return v1.Descriptor{MediaType: mt, Digest: dg, Size: size}, nil
}

type rawManifest []byte

func (r rawManifest) RawManifest() ([]byte, error) { return r, nil }

func (r rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// ErrNone is returned by Find when no SBOM is attached to the image.
var ErrNone = errors.New("no SBOM attached")

// Found is an attached SBOM.
type Found struct {
	Artifact string // the artifact's digest
	Created  time.Time
	SBOM     []byte
}

// Find returns the newest SBOM attached to the image at ref (repository@digest).
func Find(ctx context.Context, ref string, opts ...image.Option) (*Found, error) {
	d, err := name.NewDigest(ref, image.NameOptions(opts...)...)
	if err != nil {
		return nil, failure.Inputf("%q is not a repository@digest reference: %w", ref, err)
	}
	ropts := image.RemoteOptions(ctx, d.RegistryStr(), opts...)
	// No artifactType filter: some registries derive a referrer's type from its config
	// (the empty descriptor here), not from its artifactType, and would filter it out.
	idx, err := remote.Referrers(d, ropts...)
	if err != nil {
		return nil, failure.Incompletef("referrers of %s: %w", ref, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, failure.Incompletef("referrers of %s: %w", ref, err)
	}
	var cands []v1.Descriptor
	for _, m := range im.Manifests {
		if m.ArtifactType == ArtifactType || m.ArtifactType == string(types.OCIEmptyJSON) {
			cands = append(cands, m)
		}
	}
	if len(cands) == 0 {
		return nil, ErrNone
	}
	created := func(desc v1.Descriptor) string { return desc.Annotations[AnnotationCreated] }
	sort.SliceStable(cands, func(i, j int) bool { return created(cands[i]) > created(cands[j]) })
	for _, c := range cands {
		f, err := read(ctx, d, c, ropts)
		if errors.Is(err, errOtherType) {
			continue
		}
		return f, err
	}
	return nil, ErrNone
}

var errOtherType = errors.New("another artifact type")

// read reads the SBOM artifact c of the image d.
func read(ctx context.Context, d name.Digest, c v1.Descriptor, ropts []remote.Option) (*Found, error) {
	art := d.Context().Digest(c.Digest.String())
	desc, err := remote.Get(art, ropts...)
	if err != nil {
		return nil, failure.Incompletef("SBOM artifact %s: %w", art, err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return nil, failure.Incompletef("SBOM artifact %s: %w", art, err)
	}
	if m.ArtifactType != ArtifactType {
		return nil, errOtherType
	}
	ref := d.String()
	if len(m.Layers) != 1 || string(m.Layers[0].MediaType) != ArtifactType || m.Layers[0].Size > MaxSBOM {
		return nil, failure.Incompletef("SBOM artifact %s: want one %s layer of at most %d bytes", art, ArtifactType, MaxSBOM)
	}
	if m.Subject == nil || m.Subject.Digest.String() != d.DigestStr() {
		return nil, failure.Incompletef("SBOM artifact %s: its subject is not %s", art, ref)
	}
	l, err := remote.Layer(d.Context().Digest(m.Layers[0].Digest.String()), ropts...)
	if err != nil {
		return nil, failure.Incompletef("SBOM artifact %s: %w", art, err)
	}
	rc, err := l.Compressed() // verified against its digest as it is read
	if err != nil {
		return nil, failure.Incompletef("SBOM artifact %s: %w", art, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, MaxSBOM+1))
	if err != nil {
		return nil, failure.Incompletef("SBOM artifact %s: %w", art, err)
	}
	if int64(len(b)) != m.Layers[0].Size {
		return nil, failure.Incompletef("SBOM artifact %s: the SBOM is %d bytes, the manifest says %d", art, len(b), m.Layers[0].Size)
	}
	f := &Found{Artifact: c.Digest.String(), SBOM: b}
	f.Created, _ = time.Parse(time.RFC3339, m.Annotations[AnnotationCreated])
	return f, nil
}
