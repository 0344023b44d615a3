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
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imagegate/imagegate/failure"
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

	// BundleType is a Sigstore bundle's media type: the artifact type of cosign's
	// attestation referrers, and of their one layer. The annotations say what the bundle
	// holds (cosign's bundle specification).
	BundleType                = "application/vnd.dev.sigstore.bundle.v0.3+json"
	AnnotationBundleContent   = "dev.sigstore.bundle.content"
	AnnotationBundlePredicate = "dev.sigstore.bundle.predicateType"
)

// MaxSBOM bounds an SBOM read back from the registry.
const MaxSBOM = 64 << 20

var emptyConfig = []byte("{}")

// Push attaches sbom to the image at ref (repository@digest) and returns the artifact's
// digest. Registry options come from opts, as for opening images.
func Push(ctx context.Context, ref string, sbom []byte, created time.Time, tool string, opts ...image.Option) (string, error) {
	return push(ctx, ref, ArtifactType, sbom, map[string]string{AnnotationCreated: created.UTC().Format(time.RFC3339), AnnotationTool: tool}, nil, opts)
}

// PushAttestation attaches a Sigstore bundle holding an attestation of predicateType to
// the image at ref, as cosign does (its bundle specification): an OCI referrer whose
// artifact type and one layer are the bundle's media type.
func PushAttestation(ctx context.Context, ref string, bundle []byte, predicateType string, created time.Time, opts ...image.Option) (string, error) {
	h, _, err := v1.SHA256(bytes.NewReader(bundle))
	if err != nil {
		return "", failure.Incomplete(err)
	}
	return push(ctx, ref, BundleType, bundle, map[string]string{
		AnnotationBundleContent:   "dsse-envelope",
		AnnotationBundlePredicate: predicateType,
		AnnotationCreated:         created.UTC().Format(time.RFC3339),
	}, map[string]string{"org.opencontainers.image.title": h.Algorithm + "-" + h.Hex + ".sigstore.json"}, opts)
}

// push uploads blob as the one layer of an artifact of artifactType whose subject is the
// image at ref.
func push(ctx context.Context, ref, artifactType string, blob []byte, annotations, layerAnnotations map[string]string, opts []image.Option) (string, error) {
	d, err := name.NewDigest(ref, image.NameOptions(ref, opts...)...)
	if err != nil {
		return "", failure.Inputf("attach: %q is not a repository@digest reference: %w", ref, err)
	}
	ropts := image.RemoteOptions(ctx, d.RegistryStr(), opts...)
	subject, err := remote.Head(d, ropts...)
	if err != nil {
		return "", failure.Incompletef("attach: image %s: %w", ref, err)
	}
	cfg := static.NewLayer(emptyConfig, types.OCIEmptyJSON)
	doc := static.NewLayer(blob, types.MediaType(artifactType))
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
	docDesc, err := descriptor(doc, types.MediaType(artifactType))
	if err != nil {
		return "", err
	}
	docDesc.Annotations = layerAnnotations
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  artifactType,
		Config:        cfgDesc,
		Layers:        []v1.Descriptor{docDesc},
		Subject:       &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		Annotations:   annotations,
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
		return "", failure.Incompletef("attach: pushing the %s artifact to %s: %w", artifactType, d.Context(), err)
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
	Bundle   []byte // the signed bundle SBOM came out of (FindVerified), to verify again later
}

// listReferrers lists what refers to the image at ref (repository@digest), with the
// registry options to read it. No artifactType filter: some registries derive a
// referrer's type from its config (the empty descriptor), not from its artifactType, and
// would filter it out.
func listReferrers(ctx context.Context, ref string, opts []image.Option) (name.Digest, []remote.Option, []v1.Descriptor, error) {
	d, err := name.NewDigest(ref, image.NameOptions(ref, opts...)...)
	if err != nil {
		return name.Digest{}, nil, nil, failure.Inputf("%q is not a repository@digest reference: %w", ref, err)
	}
	ropts := image.RemoteOptions(ctx, d.RegistryStr(), opts...)
	idx, err := remote.Referrers(d, ropts...)
	if err != nil {
		return d, nil, nil, failure.Incompletef("referrers of %s: %w", ref, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return d, nil, nil, failure.Incompletef("referrers of %s: %w", ref, err)
	}
	return d, ropts, im.Manifests, nil
}

// Find returns the newest SBOM attached to the image at ref (repository@digest).
func Find(ctx context.Context, ref string, opts ...image.Option) (*Found, error) {
	d, ropts, referrers, err := listReferrers(ctx, ref, opts)
	if err != nil {
		return nil, err
	}
	var cands []v1.Descriptor
	for _, m := range referrers {
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
		f, err := read(d, c, ropts)
		if errors.Is(err, errOtherType) {
			continue
		}
		return f, err
	}
	return nil, ErrNone
}

var errOtherType = errors.New("another artifact type")

// read reads the SBOM artifact c of the image d.
func read(d name.Digest, c v1.Descriptor, ropts []remote.Option) (*Found, error) {
	b, m, err := readArtifact(d, c, ropts, ArtifactType, MaxSBOM)
	if err != nil {
		return nil, err
	}
	f := &Found{Artifact: c.Digest.String(), SBOM: b}
	f.Created, _ = time.Parse(time.RFC3339, m.Annotations[AnnotationCreated])
	return f, nil
}

// readArtifact reads the one layer of the artifact c of artifactType whose subject is the
// image d, at most max bytes, checked against its digest.
func readArtifact(d name.Digest, c v1.Descriptor, ropts []remote.Option, artifactType string, max int64) ([]byte, *v1.Manifest, error) {
	art := d.Context().Digest(c.Digest.String())
	desc, err := remote.Get(art, ropts...)
	if err != nil {
		return nil, nil, failure.Incompletef("artifact %s: %w", art, err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return nil, nil, failure.Incompletef("artifact %s: %w", art, err)
	}
	if m.ArtifactType != artifactType {
		return nil, nil, errOtherType
	}
	ref := d.String()
	if len(m.Layers) != 1 || string(m.Layers[0].MediaType) != artifactType || m.Layers[0].Size > max {
		return nil, nil, failure.Incompletef("artifact %s: want one %s layer of at most %d bytes", art, artifactType, max)
	}
	if m.Subject == nil || m.Subject.Digest.String() != d.DigestStr() {
		return nil, nil, failure.Incompletef("artifact %s: its subject is not %s", art, ref)
	}
	l, err := remote.Layer(d.Context().Digest(m.Layers[0].Digest.String()), ropts...)
	if err != nil {
		return nil, nil, failure.Incompletef("artifact %s: %w", art, err)
	}
	rc, err := l.Compressed() // verified against its digest as it is read
	if err != nil {
		return nil, nil, failure.Incompletef("artifact %s: %w", art, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, nil, failure.Incompletef("artifact %s: %w", art, err)
	}
	if int64(len(b)) != m.Layers[0].Size {
		return nil, nil, failure.Incompletef("artifact %s: the layer is %d bytes, the manifest says %d", art, len(b), m.Layers[0].Size)
	}
	return b, &m, nil
}

// Verifier checks an attestation bundle about the image with digest and returns its
// predicate (trust.Verifier).
type Verifier interface {
	VerifyAttestation(bundle []byte, digest, predicateType string) ([]byte, error)
}

// MaxBundlesTried bounds the attestations FindVerified reads and verifies, newest first.
const MaxBundlesTried = 32

// ErrUnverified is returned by FindVerified when SBOMs are attached but none verifies.
var ErrUnverified = errors.New("no attached SBOM verifies")

// FindVerified returns the newest SBOM attestation (a CycloneDX predicate of
// predicateType) attached to the image at ref that v verifies: signed by the configured
// key or identity, about this image. Unsigned SBOMs and bundles that do not verify are
// never returned; the error says what was there.
func FindVerified(ctx context.Context, ref, predicateType string, v Verifier, opts ...image.Option) (*Found, error) {
	d, ropts, referrers, err := listReferrers(ctx, ref, opts)
	if err != nil {
		return nil, err
	}
	var bundles []v1.Descriptor
	unsigned := 0
	for _, m := range referrers {
		switch {
		case m.ArtifactType == BundleType && (m.Annotations[AnnotationBundlePredicate] == "" || m.Annotations[AnnotationBundlePredicate] == predicateType):
			bundles = append(bundles, m)
		case m.ArtifactType == ArtifactType:
			unsigned++
		}
	}
	if len(bundles) == 0 {
		if unsigned > 0 {
			return nil, fmt.Errorf("%w: %d unsigned SBOMs are attached and no signed one", ErrUnverified, unsigned)
		}
		return nil, ErrNone
	}
	created := func(desc v1.Descriptor) string { return desc.Annotations[AnnotationCreated] }
	sort.SliceStable(bundles, func(i, j int) bool { return created(bundles[i]) > created(bundles[j]) })
	if len(bundles) > MaxBundlesTried {
		// Anyone who can push can attach bundles: a thousand forged ones dated in the future
		// must not make the lookup read and verify a thousand.
		bundles = bundles[:MaxBundlesTried]
	}
	var first error
	for _, c := range bundles {
		b, _, err := readArtifact(d, c, ropts, BundleType, MaxSBOM)
		if err == nil {
			var sbom []byte
			if sbom, err = v.VerifyAttestation(b, d.DigestStr(), predicateType); err == nil {
				f := &Found{Artifact: c.Digest.String(), SBOM: sbom, Bundle: b}
				f.Created, _ = time.Parse(time.RFC3339, created(c))
				return f, nil
			}
		}
		if first == nil {
			first = err
		}
	}
	return nil, fmt.Errorf("%w: %d attestations are attached and none verifies (%v)", ErrUnverified, len(bundles), first)
}
