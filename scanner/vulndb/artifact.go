package vulndb

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/scanner/ecosystem"
	"github.com/imagegate/imagegate/scanner/gunzip"
	"github.com/imagegate/imagegate/scanner/userfile"
	"github.com/imagegate/imagegate/trust"
)

// The database as an OCI artifact: one gzip tar layer per ecosystem holding its index,
// description and scores (<Ecosystem>.db, .json, .scores), so that a CI job pulls a
// store ready to scan with, from any registry, digest-verified. Mirrors copy it as any
// artifact (crane copy, oras copy).
const (
	// ArtifactType is the manifest's config media type (what the artifact is).
	ArtifactType types.MediaType = "application/vnd.imagegate.vulndb.config.v1+json"
	// LayerType is the media type of an ecosystem's layer.
	LayerType types.MediaType = "application/vnd.imagegate.vulndb.ecosystem.v1.tar+gzip"

	// Annotations: on the manifest, the index layout; on each layer, what it holds.
	AnnotationFormat    = "io.imagegate.vulndb.format"
	AnnotationEcosystem = "io.imagegate.vulndb.ecosystem"
	AnnotationRecords   = "io.imagegate.vulndb.records"
	AnnotationSource    = "io.imagegate.vulndb.source"
	AnnotationUpdated   = "io.imagegate.vulndb.updated"
)

// A pulled ecosystem layer may expand to ExpansionFactor times its declared (compressed)
// size, at least MinArtifactLayer and at most MaxArtifactLayer: a store compresses 7-10
// times, a gzip bomb a thousand times, and nothing past the bound is written.
const (
	ExpansionFactor  = 64
	MinArtifactLayer = 64 << 20
	MaxArtifactLayer = 2 << 30
)

// layerBound is what an ecosystem layer of the declared size may expand to.
func layerBound(declared int64) int64 {
	return min(max(declared*ExpansionFactor, MinArtifactLayer), MaxArtifactLayer)
}

// publicSource is what an artifact says of where its data came from: a URL as it is, a
// local file by its name only (no path of the pushing machine goes into the artifact).
func publicSource(src string) string {
	if strings.Contains(src, "://") || src == "" {
		return src
	}
	return filepath.Base(src)
}

// RemoteOptions are the registry settings of a push or pull, and its signatures: Signer
// signs a push; a pull uses only an artifact whose signature Verifier accepts, or an
// unsigned one with AllowUnsigned.
type RemoteOptions struct {
	Keychain      authn.Keychain // default: docker config and credential helpers
	Insecure      bool           // plain HTTP
	Transport     http.RoundTripper
	Signer        trust.Signer
	Verifier      *trust.Verifier
	AllowUnsigned bool
}

func (o RemoteOptions) parse(ref string) (name.Reference, []remote.Option, error) {
	var nopts []name.Option
	if o.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nopts...)
	if err != nil {
		return nil, nil, failure.Inputf("%q is not an artifact reference: %w", ref, err)
	}
	kc := o.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	ropts := []remote.Option{remote.WithAuthFromKeychain(kc)}
	if o.Transport != nil {
		ropts = append(ropts, remote.WithTransport(o.Transport))
	}
	return r, ropts, nil
}

// Push writes the database in dir to ref as an OCI artifact and returns its digest.
func Push(ctx context.Context, dir, ref string, o RemoteOptions) (string, error) {
	r, ropts, err := o.parse(ref)
	if err != nil {
		return "", err
	}
	s, err := Open(dir)
	if err != nil {
		return "", err
	}
	defer s.Close()
	tmp, err := os.MkdirTemp("", "imagegate-push-")
	if err != nil {
		return "", failure.Incomplete(err)
	}
	defer os.RemoveAll(tmp)
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), ArtifactType)
	for _, info := range s.Infos() {
		if _, err := s.db(info.Ecosystem); err != nil { // verified before it is shared
			return "", err
		}
		p := filepath.Join(tmp, info.Ecosystem+".tar.gz")
		if err := packEcosystem(dir, info.Ecosystem, p); err != nil {
			return "", err
		}
		l, err := tarball.LayerFromFile(p, tarball.WithMediaType(LayerType))
		if err != nil {
			return "", failure.Incomplete(err)
		}
		img, err = mutate.Append(img, mutate.Addendum{Layer: l, MediaType: LayerType, Annotations: map[string]string{
			"org.opencontainers.image.title": info.Ecosystem + ".tar.gz",
			AnnotationEcosystem:              info.Ecosystem,
			AnnotationRecords:                strconv.Itoa(info.Records),
			AnnotationSource:                 publicSource(info.Source),
			AnnotationUpdated:                info.Updated.UTC().Format(time.RFC3339),
		}})
		if err != nil {
			return "", failure.Incomplete(err)
		}
	}
	art := mutate.Annotations(img, map[string]string{
		AnnotationFormat:                   strconv.Itoa(FormatVersion),
		"org.opencontainers.image.created": time.Now().UTC().Format(time.RFC3339),
	}).(v1.Image)
	if err := remote.Write(r, art, append(ropts, remote.WithContext(ctx))...); err != nil {
		return "", failure.Incompletef("db push %s: %w", ref, err)
	}
	d, err := art.Digest()
	if err != nil {
		return "", failure.Incomplete(err)
	}
	if o.Signer != nil {
		if err := sign(ctx, r, d.String(), s, o.Signer, o); err != nil {
			return "", err
		}
	}
	return d.String(), nil
}

// ecosystemFiles are the files of one ecosystem in a database folder.
func ecosystemFiles(eco string) []string {
	return []string{eco + ".db", eco + ".scores", eco + ".json"}
}

func packEcosystem(dir, eco, dst string) error {
	f, err := os.Create(dst)
	if err != nil {
		return failure.Incomplete(err)
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	for _, name := range ecosystemFiles(eco) {
		if name == eco+".json" {
			if err := packDescription(tw, filepath.Join(dir, name), name); err != nil {
				return failure.Incompletef("db push: %w", err)
			}
			continue
		}
		src, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return failure.Incompletef("db push: %w", unwrapPath(err))
		}
		st, err := src.Stat()
		if err == nil {
			err = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: st.Size(), Typeflag: tar.TypeReg, ModTime: st.ModTime()})
		}
		if err == nil {
			_, err = io.Copy(tw, src)
		}
		src.Close()
		if err != nil {
			return failure.Incompletef("db push: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return failure.Incomplete(err)
	}
	if err := zw.Close(); err != nil {
		return failure.Incomplete(err)
	}
	return f.Close()
}

// maxDescription bounds an ecosystem's description (a few hundred bytes).
const maxDescription = 1 << 20

// packDescription writes an ecosystem's description with its source made public.
func packDescription(tw *tar.Writer, path, name string) error {
	b, err := userfile.Read(path, "database description", maxDescription)
	if err != nil {
		return err
	}
	var info Info
	if err := json.Unmarshal(b, &info); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	info.Source = publicSource(info.Source)
	if b, err = json.MarshalIndent(info, "", "  "); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg, ModTime: info.Updated}); err != nil {
		return err
	}
	_, err = tw.Write(b)
	return err
}

// Pulled says what a pull installed.
type Pulled struct {
	Digest     string
	Ecosystems []string
	Unchanged  bool // the folder already held this artifact
}

// artifactMark names the artifact a folder was pulled from (ref and digest).
const artifactMark = ".artifact"

// Pull installs the database artifact ref into dir. Every layer is checked against its
// digest as it is read, every index against its description, before anything in dir
// changes: an interrupted or tampered pull keeps the previous data.
func Pull(ctx context.Context, dir, ref string, o RemoteOptions) (Pulled, error) {
	return pull(ctx, dir, ref, o, false)
}

// pull is Pull; with only, the folder is the artifact's alone (--db oci://REF's copy in the
// user cache): whatever it holds of other ecosystems is removed, and found there is a
// sign that it was altered.
func pull(ctx context.Context, dir, ref string, o RemoteOptions, only bool) (Pulled, error) {
	r, ropts, err := o.parse(ref)
	if err != nil {
		return Pulled{}, err
	}
	ropts = append(ropts, remote.WithContext(ctx))
	img, err := remote.Image(r, ropts...)
	if err != nil {
		return Pulled{}, &unreachable{failure.Incompletef("db pull %s: %w", ref, err)}
	}
	d, err := img.Digest()
	if err != nil {
		return Pulled{}, failure.Incompletef("db pull %s: %w", ref, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return Pulled{}, failure.Incompletef("db pull %s: %w", ref, err)
	}
	if m.Config.MediaType != ArtifactType {
		return Pulled{}, failure.Inputf("db pull %s: not an imagegate database (config media type %q)", ref, m.Config.MediaType)
	}
	if f := m.Annotations[AnnotationFormat]; f != strconv.Itoa(FormatVersion) {
		return Pulled{}, failure.Incompletef("db pull %s: the artifact holds index layout %q and this imagegate reads %d: push one with this version ('imagegate db update' then 'imagegate db push')", ref, f, FormatVersion)
	}
	signed, bundle, err := verifySigned(ctx, r, d.String(), o)
	if err != nil {
		return Pulled{}, err
	}
	if b, err := os.ReadFile(filepath.Join(dir, artifactMark)); err == nil && strings.HasSuffix(strings.TrimSpace(string(b)), "@"+d.String()) {
		// The folder says it holds this artifact: believed only of indexes the signature
		// names (a restored cache can say anything); else the artifact is pulled again.
		if s, err := Open(dir); err == nil {
			if signed != nil {
				err = matchesSigned(signed, s.Infos(), only)
			}
			s.Close()
			if err == nil {
				keepSignature(dir, signed, bundle)
				return Pulled{Digest: d.String(), Unchanged: true}, nil
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Pulled{}, failure.Inputf("vulnerability database folder %s: %w", dir, unwrapPath(err))
	}
	tmp, err := os.MkdirTemp(dir, ".pull-")
	if err != nil {
		return Pulled{}, failure.Inputf("vulnerability database folder %s is not writable: %w", dir, unwrapPath(err))
	}
	defer os.RemoveAll(tmp)
	ecos, err := unpack(img, m, tmp, ref)
	if err != nil {
		return Pulled{}, err
	}
	if err := checkPulled(tmp, ecos, signed); err != nil {
		return Pulled{}, failure.Incompletef("db pull %s: %w; the previous data is kept", ref, err)
	}
	for _, eco := range ecos {
		for _, name := range ecosystemFiles(eco) { // the description last: it vouches for the rest
			if err := os.Rename(filepath.Join(tmp, name), filepath.Join(dir, name)); err != nil {
				return Pulled{}, failure.Incompletef("db pull %s: installing %s: %w", ref, name, unwrapPath(err))
			}
		}
	}
	if only {
		if err := removeOthers(dir, ecos); err != nil {
			return Pulled{}, failure.Incompletef("db pull %s: %w", ref, err)
		}
	}
	keepSignature(dir, signed, bundle)
	_ = os.WriteFile(filepath.Join(dir, artifactMark), []byte(ref+"@"+d.String()+"\n"), 0o644)
	return Pulled{Digest: d.String(), Ecosystems: ecos}, nil
}

// removeOthers removes from dir the data of every ecosystem but ecos: a pulled store is
// what its artifact holds, nothing left by an earlier pull or put there (a restored
// cache). Descriptions go first: without one, an index is not read.
func removeOthers(dir string, ecos []string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, ext := range []string{".json", ".db", ".scores"} {
		for _, e := range entries {
			eco, ok := strings.CutSuffix(e.Name(), ext)
			if !ok || strings.HasPrefix(e.Name(), ".") || slices.Contains(ecos, eco) {
				continue
			}
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("removing %s, not in the artifact: %w", e.Name(), unwrapPath(err))
			}
		}
	}
	return nil
}

// unpack extracts every layer of the artifact into tmp, each a known ecosystem's, once;
// it returns the ecosystems.
func unpack(img v1.Image, m *v1.Manifest, tmp, ref string) ([]string, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, failure.Incompletef("db pull %s: %w", ref, err)
	}
	var ecos []string
	for i, l := range layers {
		desc := m.Layers[i]
		eco := desc.Annotations[AnnotationEcosystem]
		if desc.MediaType != LayerType || !slices.Contains(ecosystem.Names(), eco) || slices.Contains(ecos, eco) {
			return nil, failure.Inputf("db pull %s: layer %d (%s, ecosystem %q) is not an imagegate database layer", ref, i, desc.MediaType, eco)
		}
		if err := unpackEcosystem(l, eco, tmp, layerBound(desc.Size)); err != nil {
			return nil, failure.Incompletef("db pull %s: the %s layer: %w; the previous data is kept", ref, eco, err)
		}
		ecos = append(ecos, eco)
	}
	return ecos, nil
}

// checkPulled opens what was pulled into tmp as a scan would, and checks it against its
// signature, before it replaces anything.
func checkPulled(tmp string, ecos []string, signed *Signed) error {
	s, err := Open(tmp)
	if err != nil {
		return err
	}
	defer s.Close()
	if signed != nil {
		if err := matchesSigned(signed, s.Infos(), true); err != nil {
			return err
		}
	}
	for _, eco := range ecos {
		if _, err := s.db(eco); err != nil {
			return err
		}
		if err := s.loadScores(); err != nil {
			return err
		}
	}
	return nil
}

// unpackEcosystem extracts an ecosystem's layer (read through its digest check) into dir:
// its three files only, regular, and no more than bound bytes in all.
func unpackEcosystem(l v1.Layer, eco, dir string, bound int64) error {
	rc, err := l.Compressed() // go-containerregistry checks the blob's digest at its end
	if err != nil {
		return err
	}
	defer rc.Close()
	zr, err := gunzip.NewReader(rc)
	if err != nil {
		return err
	}
	defer zr.Close()
	lr := &io.LimitedReader{R: zr, N: bound + 1}
	tr := tar.NewReader(lr)
	want := ecosystemFiles(eco)
	got := map[string]bool{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg || !slices.Contains(want, h.Name) || got[h.Name] {
			return fmt.Errorf("unexpected entry %q", h.Name)
		}
		got[h.Name] = true
		f, err := os.OpenFile(filepath.Join(dir, h.Name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if lr.N <= 0 {
			return fmt.Errorf("expands past %d bytes (%d times its declared size, at most %d): a decompression bomb?", bound, ExpansionFactor, int64(MaxArtifactLayer))
		}
		if err != nil {
			return err
		}
	}
	// Drain to the end of the blob so that its digest is checked.
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return err
	}
	if len(got) != len(want) {
		return fmt.Errorf("holds %d of its %d files", len(got), len(want))
	}
	return nil
}

// PulledFrom names the artifact (REF@DIGEST) a database folder was last pulled from, or "".
func PulledFrom(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, artifactMark))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// artifactDir is where --db oci://REF keeps the pulled database: the user cache, by ref.
func artifactDir(ref string) (string, error) {
	h := sha256.Sum256([]byte(ref))
	return userfile.CacheDir("artifact", hex.EncodeToString(h[:10]))
}

// ArtifactScheme prefixes a --db that names a database artifact: oci://ghcr.io/org/db:1.
const ArtifactScheme = "oci://"

// openArtifact opens the database artifact ref, pulled into the user cache when missing or
// changed. A registry that cannot be reached leaves the cached copy in use (its age shows
// in the scan's warnings); with no copy, the scan cannot complete.
func openArtifact(ctx context.Context, ref string, o RemoteOptions) (*Store, error) {
	dir, err := artifactDir(ref)
	if err != nil {
		return nil, err
	}
	if _, err := pull(ctx, dir, ref, o, true); err != nil {
		var u *unreachable
		if !errors.As(err, &u) {
			return nil, err
		}
		// The registry cannot be reached: the copy pulled before serves, once it verifies
		// as the pull did (its folder may be a restored cache).
		if o.Verifier != nil {
			if verr := verifyLocal(dir, ref, o.Verifier); verr != nil {
				if _, serr := os.Stat(dir); serr == nil {
					return nil, failure.Incompletef("%v; the copy in %s is not used: %v", err, dir, verr)
				}
				return nil, err
			}
		} else if !o.AllowUnsigned {
			return nil, err
		}
		s, oerr := Open(dir)
		if oerr != nil {
			return nil, err
		}
		if o.Verifier == nil {
			s.Unsigned = ref
		}
		return s, nil
	}
	s, err := Open(dir)
	if err == nil && o.Verifier == nil {
		s.Unsigned = ref
	}
	return s, err
}

// unreachable is a pull that could not read the artifact's manifest (no registry, no
// network, no such artifact): nothing of it was read.
type unreachable struct{ err error }

func (u *unreachable) Error() string { return u.err.Error() }
func (u *unreachable) Unwrap() error { return u.err }
