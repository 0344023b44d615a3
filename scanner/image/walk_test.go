package image_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/imagegate/imagegate/internal/hostile"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/scanner/image"
)

// keepAll retains every regular file.
var keepAll = image.RequirerFunc(func(string, fs.FileInfo) bool { return true })

func walk(t *testing.T, steps ...imagetest.Step) *image.Index {
	t.Helper()
	img := imagetest.Image(t, "linux/amd64", steps...)
	idx, err := image.Walk(context.Background(), &image.Image{Image: img, Can: image.Capabilities{StoredManifest: true, StoredCompressed: true}}, keepAll)
	require.NoError(t, err)
	return idx
}

func finalPaths(idx *image.Index) []string {
	var out []string
	for _, f := range idx.Files() {
		out = append(out, f.Path)
	}
	return out
}

func TestWalkWhiteoutsAndOpaqueDirs(t *testing.T) {
	idx := walk(t,
		imagetest.Step{CreatedBy: "base", Layer: imagetest.Layer(t,
			imagetest.Dir("etc"),
			imagetest.File("etc/keep", []byte("keep")),
			imagetest.File("etc/gone", []byte("gone")),
			imagetest.Dir("app"),
			imagetest.File("app/old1", []byte("1")),
			imagetest.Dir("app/sub"),
			imagetest.File("app/sub/old2", []byte("2")),
		)},
		imagetest.Step{CreatedBy: "ENV A=b"},
		imagetest.Step{CreatedBy: "delete and replace", Layer: imagetest.Layer(t,
			imagetest.Whiteout("etc/gone"),
			imagetest.Opaque("app"),
			imagetest.File("app/new", []byte("new")),
		)},
	)
	assert.Equal(t, []string{"app", "app/new", "etc", "etc/keep"}, finalPaths(idx))
	require.Len(t, idx.Layers, 2)
	assert.Equal(t, "base", idx.Layers[0].CreatedBy)
	assert.Equal(t, "delete and replace", idx.Layers[1].CreatedBy, "empty-layer history entries are skipped")

	// Deleted files are still in their layer, marked removed, bytes kept.
	var removed []string
	for _, f := range idx.LayerFiles(0) {
		if f.Removed {
			removed = append(removed, f.Path)
		}
	}
	assert.ElementsMatch(t, []string{"etc/gone", "app/old1", "app/sub", "app/sub/old2"}, removed)
	v := idx.Versions("etc/gone")
	require.Len(t, v, 1)
	assert.Equal(t, "gone", kept(t, v[0]))
	assert.True(t, v[0].Removed)
}

// Removed, marked as each layer is merged, is exactly "not in the final filesystem" (not
// what Files lists, entry for entry) on images of random layers: files, directories,
// files over directories and back, whiteouts, opaque directories, a path twice in a
// layer.
func TestRemovedIsWhatTheFinalFilesystemHides(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	names := []string{"a", "b", "c"}
	for i := range 40 { // past the slice of a few children: a directory's map
		names = append(names, fmt.Sprint("f", i))
	}
	randomPath := func() string {
		p := names[rng.IntN(3)]
		for rng.IntN(2) == 0 && len(p) < 8 {
			p += "/" + names[rng.IntN(3)]
		}
		if rng.IntN(2) == 0 {
			p += "/" + names[rng.IntN(len(names))]
		}
		return p
	}
	// A directory past the slice of a few children (a map), then hidden each way.
	var many []imagetest.Entry
	for i := range 40 {
		many = append(many, imagetest.File(fmt.Sprint("m/f", i), nil), imagetest.File(fmt.Sprint("n/f", i), nil), imagetest.File(fmt.Sprint("o/f", i), nil))
	}
	fixed := []imagetest.Step{
		{Layer: imagetest.Layer(t, many...)},
		{Layer: imagetest.Layer(t, imagetest.Whiteout("m"), imagetest.Opaque("n"), imagetest.File("o", nil))},
	}
	for round := range 61 {
		var steps []imagetest.Step
		for range 1 + rng.IntN(4) {
			var entries []imagetest.Entry
			for range 1 + rng.IntN(60) {
				switch p := randomPath(); rng.IntN(6) {
				case 0:
					entries = append(entries, imagetest.Dir(p))
				case 1:
					entries = append(entries, imagetest.Whiteout(p))
				case 2:
					entries = append(entries, imagetest.Opaque(p))
				default:
					entries = append(entries, imagetest.File(p, []byte(p)))
				}
			}
			steps = append(steps, imagetest.Step{Layer: imagetest.Layer(t, entries...)})
		}
		if round == 60 {
			steps = fixed
		}
		img := imagetest.Image(t, "linux/amd64", steps...)
		idx, err := image.Walk(context.Background(), &image.Image{Image: img}, keepAll)
		require.NoError(t, err)
		shown := map[*image.File]bool{}
		for _, f := range idx.Files() {
			shown[f] = true
		}
		for i := range steps {
			for _, f := range idx.LayerFiles(i) {
				require.Equal(t, !shown[f], f.Removed, "round %d: %s of layer %d", round, f.Path, i)
			}
		}
	}
}

func TestWalkSameLayerWhiteoutDoesNotHideOwnFiles(t *testing.T) {
	// A layer that deletes a directory and recreates a file in it keeps its own file.
	idx := walk(t,
		imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("d/a", []byte("a")))},
		imagetest.Step{Layer: imagetest.Layer(t, imagetest.Opaque("d"), imagetest.File("d/b", []byte("b")), imagetest.Whiteout("d/a"))},
	)
	assert.Equal(t, []string{"d/b"}, finalPaths(idx))
}

func TestWalkFileReplacesDirectory(t *testing.T) {
	idx := walk(t,
		imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("x/y", []byte("y")))},
		imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("x", []byte("now a file")))},
	)
	assert.Equal(t, []string{"x"}, finalPaths(idx))
}

func TestWalkKeepsEveryVersionOfRequiredFiles(t *testing.T) {
	want := image.RequirerFunc(func(p string, _ fs.FileInfo) bool { return p == "var/lib/db" })
	img := imagetest.Image(t, "linux/amd64",
		imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("var/lib/db", []byte("v1")), imagetest.File("other", []byte("x")))},
		imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("var/lib/db", []byte("v2")))},
	)
	idx, err := image.Walk(context.Background(), &image.Image{Image: img}, want)
	require.NoError(t, err)
	v := idx.Versions("var/lib/db")
	require.Len(t, v, 2)
	assert.Equal(t, "v1", kept(t, v[0]))
	assert.Equal(t, 0, v[0].Layer)
	assert.True(t, v[0].Removed, "replaced by layer 1")
	assert.Equal(t, "v2", kept(t, v[1]))
	assert.False(t, v[1].Removed)
	other, ok := idx.Stat("other")
	require.True(t, ok)
	assert.False(t, other.Retained, "files nobody asked for are not kept")
	assert.Empty(t, kept(t, other))
}

func TestSymlinksResolveInsideTheRoot(t *testing.T) {
	idx := walk(t, imagetest.Step{Layer: imagetest.Layer(t,
		imagetest.File("usr/lib/os-release", []byte("ID=debian\n")),
		imagetest.Symlink("etc/os-release", "../usr/lib/os-release"),
		imagetest.Symlink("etc/abs", "/usr/lib/os-release"),
		imagetest.Symlink("etc/escape", "../../../../../../usr/lib/os-release"),
		imagetest.Symlink("etc/passwd-host", "../../../../../../etc/passwd"),
		imagetest.Symlink("loop/a", "b"),
		imagetest.Symlink("loop/b", "a"),
		imagetest.Symlink("lib", "usr/lib"),
	)})
	for _, p := range []string{"etc/os-release", "etc/abs", "etc/escape", "lib/os-release"} {
		f, ok := idx.Stat(p)
		require.True(t, ok, p)
		assert.Equal(t, "ID=debian\n", kept(t, f), p)
	}
	_, ok := idx.Stat("etc/passwd-host")
	assert.False(t, ok, "a link out of the root resolves inside it, where there is no etc/passwd")
	_, ok = idx.Stat("loop/a")
	assert.False(t, ok, "symlink loops end")
	l, ok := idx.Lstat("etc/os-release")
	require.True(t, ok)
	assert.Equal(t, image.TypeSymlink, l.Type)

	b, err := fs.ReadFile(idx.FS(), "etc/os-release")
	require.NoError(t, err)
	assert.Equal(t, "ID=debian\n", string(b))
	entries, err := fs.ReadDir(idx.FS(), "etc")
	require.NoError(t, err)
	assert.Len(t, entries, 4)
}

func TestHardLinkGetsTargetBytes(t *testing.T) {
	idx := walk(t, imagetest.Step{Layer: imagetest.Layer(t,
		imagetest.File("a", []byte("body")),
		imagetest.Entry{Path: "b", Type: tar.TypeLink, Linkname: "a"},
	)})
	f, ok := idx.Stat("b")
	require.True(t, ok)
	assert.Equal(t, "body", kept(t, f))
}

func TestHostileEntriesAreRefused(t *testing.T) {
	cases := map[string]imagetest.Entry{
		"dotdot":       imagetest.File("../../etc/evil", []byte("x")),
		"nested":       imagetest.File("usr/../../evil", []byte("x")),
		"hardlink-out": {Path: "h", Type: tar.TypeLink, Linkname: "../../etc/shadow"},
	}
	for name, e := range cases {
		t.Run(name, func(t *testing.T) {
			img := imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: imagetest.Layer(t, e)})
			_, err := image.Walk(context.Background(), &image.Image{Image: img}, keepAll)
			require.Error(t, err)
			assert.Equal(t, failure.ExitInput, failure.Code(err))
			assert.Contains(t, err.Error(), "layer 0")
			assert.NotContains(t, err.Error(), "\n")
		})
	}
}

func TestTruncatedLayer(t *testing.T) {
	full := imagetest.TarBytes(t, imagetest.File("big", bytes.Repeat([]byte("x"), 1<<16)))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(full[:len(full)/2])
	zw.Close()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(gz.Bytes())), nil
	})
	require.NoError(t, err)
	img := imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: l})
	_, err = image.Walk(context.Background(), &image.Image{Image: img}, keepAll)
	require.Error(t, err)
	assert.Equal(t, failure.ExitInput, failure.Code(err))
	assert.Contains(t, err.Error(), "truncated")
}

// A gzip stream cut after the whole tar (its end marker included) but before the gzip
// end (last block, CRC, size) is a truncated layer, never a clean one, though its blob
// digest and its diff ID (of the tar it holds) both check out: also when the layer is
// inflated ahead of its reading (a single layer is the walk's last).
func TestLayerWithoutItsGzipEnd(t *testing.T) {
	full := imagetest.TarBytes(t, imagetest.File("a", bytes.Repeat([]byte("x"), 1<<20)))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, err := zw.Write(full)
	require.NoError(t, err)
	require.NoError(t, zw.Flush())
	img := imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: cutLayer{blob: gz.Bytes(), tar: full}})
	opened, err := image.Open(context.Background(), "oci-dir:"+imagetest.OCIDir(t, img, nil))
	require.NoError(t, err)
	_, err = image.Walk(context.Background(), opened, keepAll)
	require.Error(t, err)
	assert.Equal(t, failure.ExitInput, failure.Code(err))
	assert.Contains(t, err.Error(), "truncated")
}

// cutLayer is a layer whose blob is a gzip stream without its end, described by the
// digests of that blob and of the tar it holds.
type cutLayer struct{ blob, tar []byte }

func (l cutLayer) Digest() (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(l.blob))
	return h, err
}
func (l cutLayer) DiffID() (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(l.tar))
	return h, err
}
func (l cutLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.blob)), nil
}
func (l cutLayer) Uncompressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.tar)), nil
}
func (l cutLayer) Size() (int64, error)                { return int64(len(l.blob)), nil }
func (l cutLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }

func TestCorruptLayer(t *testing.T) {
	img := imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("a", []byte("a")))})
	dir := imagetest.OCIDir(t, img, nil)
	layers, err := img.Layers()
	require.NoError(t, err)
	d, err := layers[0].Digest()
	require.NoError(t, err)
	blob := filepath.Join(dir, "blobs", d.Algorithm, d.Hex)
	require.NoError(t, os.WriteFile(blob, []byte("\x1f\x8b\x08\x00garbage that is not deflate"), 0o644))

	opened, err := image.Open(context.Background(), "oci-dir:"+dir)
	require.NoError(t, err)
	_, err = image.Walk(context.Background(), opened, keepAll)
	require.Error(t, err)
	assert.Equal(t, failure.ExitInput, failure.Code(err))
	assert.Contains(t, err.Error(), "layer 0")
	assert.NotContains(t, err.Error(), "\n")
}

func TestWalkHonoursCancellation(t *testing.T) {
	img := imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("a", nil))})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := image.Walk(ctx, &image.Image{Image: img}, keepAll)
	require.Error(t, err)
	assert.Equal(t, failure.ExitIncomplete, failure.Code(err))
}

// A required file over the size limit is not analysed, and the walk says so: the scan is
// then incomplete.
func TestOversizedRequiredFileMakesTheWalkIncomplete(t *testing.T) {
	img := imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("huge", make([]byte, 4096)))})
	idx, err := image.Walk(context.Background(), &image.Image{Image: img}, keepAll, image.WithMaxFileSize(1024))
	require.NoError(t, err)
	f, ok := idx.Stat("huge")
	require.True(t, ok)
	assert.False(t, f.Retained)
	require.Len(t, idx.Incomplete(), 1)
	assert.Contains(t, idx.Incomplete()[0], "huge")
	assert.Empty(t, idx.Warnings())
}

func TestTamperedBlobIsRefused(t *testing.T) {
	img := imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("a", []byte("original")))})
	dir := imagetest.OCIDir(t, img, nil)
	layers, err := img.Layers()
	require.NoError(t, err)
	d, err := layers[0].Digest()
	require.NoError(t, err)
	// A well-formed layer, but not the one the manifest names.
	other := imagetest.Layer(t, imagetest.File("a", []byte("tampered")))
	rc, err := other.Compressed()
	require.NoError(t, err)
	body, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "blobs", d.Algorithm, d.Hex), body, 0o644))

	opened, err := image.Open(context.Background(), dir)
	require.NoError(t, err)
	_, err = image.Walk(context.Background(), opened, keepAll)
	require.Error(t, err)
	assert.Equal(t, failure.ExitInput, failure.Code(err))
	assert.Contains(t, err.Error(), "digest mismatch")
}

// A config whose diff IDs are not its layers' (say, the base image's, to make
// --exclude-base drop the application's layer) is refused: each checked layer's content
// is hashed as it is read and must be the diff ID the config lists.
func TestDiffIDsAreVerified(t *testing.T) {
	base := imagetest.Step{CreatedBy: "ADD base /", Layer: imagetest.Layer(t, imagetest.File("etc/os-release", []byte("ID=alpine\n")))}
	app := imagetest.Step{CreatedBy: "COPY app /", Layer: imagetest.Layer(t, imagetest.File("app/package.json", []byte(`{"name":"minimist","version":"1.2.5"}`)))}
	img := imagetest.Image(t, "linux/amd64", base, app)
	cf, err := img.ConfigFile()
	require.NoError(t, err)

	claim := cf.DeepCopy()
	claim.RootFS.DiffIDs[1] = claim.RootFS.DiffIDs[0]
	forged, err := mutate.ConfigFile(img, claim)
	require.NoError(t, err)
	for _, ref := range []string{"docker-archive:" + imagetest.DockerArchive(t, forged, "app:1"), "oci-dir:" + imagetest.OCIDir(t, forged, nil)} {
		opened, err := image.Open(context.Background(), ref)
		if err != nil {
			assert.Equal(t, failure.ExitInput, failure.Code(err), ref)
			continue
		}
		_, err = image.Walk(context.Background(), opened, keepAll)
		require.Error(t, err, ref)
		assert.Equal(t, failure.ExitInput, failure.Code(err), ref)
		assert.Contains(t, err.Error(), "not the diff ID", ref)
		_, err = image.Walk(context.Background(), opened, keepAll, image.WithDiffIDChecks(2))
		require.Error(t, err, ref)
		// Checking the bottom layer only (the one a base image's layers were matched
		// against) reads the forged one as it is: its content is what is analysed.
		idx, err := image.Walk(context.Background(), opened, keepAll, image.WithDiffIDChecks(1))
		require.NoError(t, err, ref)
		files := idx.Versions("app/package.json")
		require.Len(t, files, 1, ref)
		assert.Contains(t, kept(t, files[0]), "minimist", ref)
	}

	fewer := cf.DeepCopy()
	fewer.RootFS.DiffIDs = fewer.RootFS.DiffIDs[:1]
	short, err := mutate.ConfigFile(img, fewer)
	require.NoError(t, err)
	_, err = image.Walk(context.Background(), &image.Image{Image: short}, keepAll)
	require.Error(t, err)
	assert.Equal(t, failure.ExitInput, failure.Code(err))
	assert.Contains(t, err.Error(), "1 layer diff IDs for 2 layers")

	// The honest image walks.
	_, err = image.Walk(context.Background(), &image.Image{Image: img}, keepAll)
	require.NoError(t, err)
}

// Sparse entries count by their expanded size: twenty 100 MiB sparse files stored in a few
// kilobytes stop at the layer's expansion limit (or the total kept), never 2 GiB read.
func TestSparseEntriesCountExpanded(t *testing.T) {
	sparse := hostile.SparseTar(t, 20, 100<<20, "etc/sparse%d")
	require.Less(t, len(sparse), 100<<10)
	buf := bytes.NewBuffer(sparse)
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	require.NoError(t, err)
	img, err := mutate.AppendLayers(empty.Image, layer)
	require.NoError(t, err)
	var ms runtime.MemStats
	_, err = image.Walk(context.Background(), &image.Image{Image: img}, keepAll)
	require.Error(t, err)
	assert.Equal(t, failure.ExitInput, failure.Code(err))
	runtime.ReadMemStats(&ms)
	t.Logf("%v; heap in use after: %d MiB", err, ms.HeapInuse>>20)
}

// Symlink hops are bounded in total, not only per lookup: past the budget lookups fail and
// the index says the scan is incomplete.
func TestSymlinkHopBudget(t *testing.T) {
	entries := []imagetest.Entry{imagetest.File("target", []byte("x"))}
	for i := range 39 {
		entries = append(entries, imagetest.Symlink(fmt.Sprintf("l%d", i), fmt.Sprintf("l%d", i+1)))
	}
	entries = append(entries, imagetest.Symlink("l39", "target"))
	idx := walk(t, imagetest.Step{Layer: imagetest.Layer(t, entries...)})
	_, ok := idx.Stat("l0")
	require.True(t, ok, "one chain of 40 resolves")
	require.Empty(t, idx.Incomplete())
	for range image.MaxSymlinkHopsTotal / 40 {
		idx.Stat("l0")
	}
	_, ok = idx.Stat("l0")
	assert.False(t, ok, "past the budget, lookups fail")
	require.Len(t, idx.Incomplete(), 1)
	assert.Contains(t, idx.Incomplete()[0], "symlink hops")
}

// panicky consumes every file and panics: an analyzer bug on hostile bytes.
type panicky struct{}

func (panicky) Consumes(string, fs.FileInfo, []byte) bool { return true }
func (panicky) Consume(context.Context, *image.File, image.Content) {
	var m map[string]int
	m["x"] = 1
}

// A consumer that panics in a layer goroutine ends the walk with exit 3, not the process.
func TestConsumerPanicEndsTheWalk(t *testing.T) {
	img := imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("a", []byte("text")))})
	_, err := image.Walk(context.Background(), &image.Image{Image: img}, keepAll, image.WithConsumer(panicky{}))
	require.Error(t, err)
	assert.Equal(t, failure.ExitIncomplete, failure.Code(err))
	assert.Contains(t, err.Error(), "internal error")
}

// digests records the sha256 of what it was handed of every file.
type digests struct {
	mu  sync.Mutex
	got map[string][32]byte
}

func (d *digests) Consumes(string, fs.FileInfo, []byte) bool { return true }

func (d *digests) Consume(_ context.Context, f *image.File, c image.Content) {
	h := sha256.New()
	if _, err := io.Copy(h, c.Reader()); err != nil {
		panic(err)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	var past [1]byte
	if n, err := c.ReadAt(past[:], c.Size); n != 0 || err != io.EOF {
		sum = [32]byte{} // bytes past the file's end: never its digest
	}
	d.mu.Lock()
	d.got[f.Path] = sum
	d.mu.Unlock()
}

// A file past ConsumeInMemory reaches the consumers whole (read from its temporary file,
// not in memory), as a small one does (in memory), in every layer; one written over a
// longer one's spool ends at its own end; the temporary files are gone after the walk.
func TestLargeConsumedFilesArriveWhole(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	big := bytes.Repeat([]byte("0123456789abcdef"), image.ConsumeInMemory/16+1000)
	big[len(big)-1] = 'x'
	longer := append(bytes.Repeat([]byte("y"), 5000), big...)
	var steps []imagetest.Step
	for i := range 3 {
		steps = append(steps, imagetest.Step{Layer: imagetest.Layer(t, imagetest.File(fmt.Sprintf("l%d/longer", i), longer), imagetest.File(fmt.Sprintf("l%d/big", i), big), imagetest.File(fmt.Sprintf("l%d/small", i), []byte("small")))})
	}
	d := &digests{got: map[string][32]byte{}}
	img := imagetest.Image(t, "linux/amd64", steps...)
	_, err := image.Walk(context.Background(), &image.Image{Image: img}, nil, image.WithConsumer(d))
	require.NoError(t, err)
	for i := range 3 {
		assert.Equal(t, sha256.Sum256(longer), d.got[fmt.Sprintf("l%d/longer", i)])
		assert.Equal(t, sha256.Sum256(big), d.got[fmt.Sprintf("l%d/big", i)])
		assert.Equal(t, sha256.Sum256([]byte("small")), d.got[fmt.Sprintf("l%d/small", i)])
	}
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, left, "temporary files removed")
}

// A directory of many entries (past the few a sorted slice holds) merges as a small one
// does: in path order whatever order the tar has, whiteouts and files replacing
// directories applied, ReadDir and Stat agreeing.
func TestWalkLargeDirectories(t *testing.T) {
	for _, n := range []int{3, 33, 500} {
		var base []imagetest.Entry
		var want []string
		for i := n - 1; i >= 0; i-- { // reverse order: every insertion at the front
			base = append(base, imagetest.File(fmt.Sprintf("d/f%04d", i), []byte("x")))
		}
		base = append(base, imagetest.Dir("d/sub"), imagetest.File("d/sub/inner", []byte("y")))
		idx := walk(t,
			imagetest.Step{Layer: imagetest.Layer(t, base...)},
			imagetest.Step{Layer: imagetest.Layer(t, imagetest.Whiteout("d/f0001"), imagetest.File("d/sub", []byte("now a file")))},
		)
		for i := range n {
			if i != 1 {
				want = append(want, fmt.Sprintf("d/f%04d", i))
			}
		}
		want = append(want, "d/sub") // "d" itself is implicit: no entry
		assert.Equal(t, want, finalPaths(idx), n)
		entries, ok := idx.ReadDir("d")
		require.True(t, ok)
		assert.Len(t, entries, n, n)
		_, ok = idx.Stat("d/f0001")
		assert.False(t, ok, "whited out")
		_, ok = idx.Stat("d/sub/inner")
		assert.False(t, ok, "below a directory a file replaced")
		f, ok := idx.Stat(fmt.Sprintf("d/f%04d", n-1))
		require.True(t, ok)
		assert.Equal(t, "x", kept(t, f))
	}
}

// A large file that cannot go to a temporary file (no room, no folder) ends the walk as
// incomplete (exit 3): its consumers never saw it.
func TestSpoolFailureIsIncomplete(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "gone"))
	big := bytes.Repeat([]byte("x"), image.ConsumeInMemory+1)
	img := imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("big", big))})
	_, err := image.Walk(context.Background(), &image.Image{Image: img}, nil, image.WithConsumer(&digests{got: map[string][32]byte{}}))
	require.Error(t, err)
	assert.Equal(t, failure.ExitIncomplete, failure.Code(err))
	assert.Contains(t, err.Error(), "temporary file")
}

// kept is a kept file's bytes as the analyzers read them.
func kept(t *testing.T, f *image.File) string {
	t.Helper()
	b, err := f.Content().ReadAll()
	require.NoError(t, err, f.Path)
	return string(b)
}
