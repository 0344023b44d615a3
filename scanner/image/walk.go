package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/imagegate/imagegate/report"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/imagegate/failure"
)

// Requirer is how an analyzer declares which files it needs: the walker keeps the bytes of
// a regular file (in every layer that has it) when any Requirer asks for its path.
type Requirer interface {
	Required(path string, info fs.FileInfo) bool
}

// RequirerFunc adapts a function to Requirer.
type RequirerFunc func(path string, info fs.FileInfo) bool

// Required implements Requirer.
func (f RequirerFunc) Required(p string, info fs.FileInfo) bool { return f(p, info) }

// Requirers combines several analyzers' needs: a file is kept when any of them wants it.
type Requirers []Requirer

// Required implements Requirer.
func (rs Requirers) Required(p string, info fs.FileInfo) bool {
	for _, r := range rs {
		if r.Required(p, info) {
			return true
		}
	}
	return false
}

// A Consumer sees file contents during the layer pass and keeps only what it derives from
// them (a Go binary's module list, say): the walk holds such a file only for the call.
type Consumer interface {
	// Consumes reports whether the consumer wants a file's bytes; head holds up to the
	// first HeadSize bytes, enough for a magic number.
	Consumes(path string, info fs.FileInfo, head []byte) bool
	// Consume gets the whole file (valid for the call only). It is called from several
	// layer goroutines at once.
	Consume(ctx context.Context, f *File, c Content)
}

// HeadSize is how many leading bytes Consumes sees.
const HeadSize = 64

// MaxLayers bounds the layers of one image.
const MaxLayers = 1000

// DefaultMaxFileSize bounds the bytes kept for one file.
const DefaultMaxFileSize = 128 << 20

// DefaultMaxExpansion bounds how many times its stored size a layer may expand to (past
// ExpansionFloor): a gzip or zstd bomb stops there instead of streaming gigabytes of zeros.
// Real layers expand 2-10 times.
const DefaultMaxExpansion = 200

// ExpansionFloor is what any layer may expand to, whatever its stored size.
const ExpansionFloor = 1 << 30

// DefaultMaxFilesPerLayer bounds the entries of one layer's tar.
const DefaultMaxFilesPerLayer = 1_000_000

type walkOptions struct {
	maxFileSize  int64
	maxExpansion int64
	maxFiles     int
	maxRetained  int64
	parallel     int
	consumers    []Consumer
	cache        LayerCache
	cacheVersion string
	spooled      chan struct{} // one file at a time is consumed from a temporary file
	diffIDChecks int           // bottom layers whose diff ID is checked; -1: all

	kept *keptFiles // the bytes kept across all layers
}

// DefaultMaxRetained bounds the bytes of all the files one walk keeps for the analyzers
// (package databases, manifests, account files), in memory (KeepInMemory) and in the
// walk's temporary file: many files each under the per-file limit cannot add up to a
// full disk.
const DefaultMaxRetained = 256 << 20

// WithMaxRetained sets the total of kept file bytes (0: the default).
func WithMaxRetained(n int64) WalkOption {
	return func(o *walkOptions) {
		if n > 0 {
			o.maxRetained = n
		}
	}
}

// WithMaxExpansion sets how many times its stored size a layer may expand to (0: the
// default).
func WithMaxExpansion(ratio int64) WalkOption {
	return func(o *walkOptions) {
		if ratio > 0 {
			o.maxExpansion = ratio
		}
	}
}

// WithMaxFilesPerLayer bounds the entries of one layer (0: the default).
func WithMaxFilesPerLayer(n int) WalkOption {
	return func(o *walkOptions) {
		if n > 0 {
			o.maxFiles = n
		}
	}
}

// WithConsumer adds a consumer of file contents.
func WithConsumer(c Consumer) WalkOption {
	return func(o *walkOptions) { o.consumers = append(o.consumers, c) }
}

// WalkOption configures Walk.
type WalkOption func(*walkOptions)

// WithMaxFileSize bounds the bytes kept in memory for one required file; larger files are
// skipped with a warning.
func WithMaxFileSize(n int64) WalkOption { return func(o *walkOptions) { o.maxFileSize = n } }

// WithDiffIDChecks checks the diff IDs of the bottom n layers only (-1, the default: every
// layer). A layer's sha256 is what ties its content to the diff ID its config lists: a
// caller checks the layers whose diff IDs a conclusion rests on (base attribution by a
// base image's layers, comparisons across images) and spares the hash of the others,
// whose diff IDs are labels like the history (a sha256 over every byte costs more than
// all the parsing of an uncompressed archive).
func WithDiffIDChecks(n int) WalkOption { return func(o *walkOptions) { o.diffIDChecks = n } }

// checkLayerCount refuses an image with more than MaxLayers layers before its layers are
// listed (go-containerregistry looks each layer up in the manifest: 10,000 layers took
// minutes): the config's diff IDs for every source, and the manifest where it is stored
// (for docker archives it is computed from the layers; their count was checked when the
// archive was opened).
func checkLayerCount(img *Image, cf *v1.ConfigFile) error {
	if n := len(cf.RootFS.DiffIDs); n > MaxLayers {
		return layerCountError(n)
	}
	if !img.Can.StoredManifest {
		return nil
	}
	m, err := img.Manifest()
	if err != nil {
		return classifyReadError("image manifest", err)
	}
	if len(m.Layers) > MaxLayers {
		return layerCountError(len(m.Layers))
	}
	return nil
}

func layerCountError(n int) error {
	return failure.Inputf("the image has %d layers, over the limit of %d (Docker builds at most 127)", n, MaxLayers)
}

// Walk reads every layer of img once (layers in parallel), keeps the bytes of the files req
// asks for, and merges the layers into a file index, applying whiteouts and opaque
// directories. Files that a later layer deleted or replaced stay in the index, marked
// Removed.
func Walk(ctx context.Context, img *Image, req Requirer, opts ...WalkOption) (*Index, error) {
	o := walkOptions{maxFileSize: DefaultMaxFileSize, maxExpansion: DefaultMaxExpansion, maxFiles: DefaultMaxFilesPerLayer, maxRetained: DefaultMaxRetained, parallel: runtime.NumCPU(), diffIDChecks: -1, kept: &keptFiles{keepInMemory: KeepInMemory}}
	for _, opt := range opts {
		opt(&o)
	}
	if o.parallel < 1 {
		o.parallel = 1
	}
	o.spooled = make(chan struct{}, 1)
	if req == nil {
		req = Requirers(nil)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, classifyReadError("image config", err)
	}
	if err := checkLayerCount(img, cf); err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, classifyReadError("image layers", err)
	}
	if len(layers) > MaxLayers {
		return nil, layerCountError(len(layers))
	}
	if len(cf.RootFS.DiffIDs) != len(layers) {
		return nil, failure.Inputf("the image config lists %d layer diff IDs for %d layers: the config does not describe this image", len(cf.RootFS.DiffIDs), len(layers))
	}
	idx := &Index{Layers: layerInfos(img, cf, layers), kept: o.kept}
	if n := len(layerHistory(cf)); n < len(layers) {
		idx.warnf("the image history lists %d layers but the image has %d: layers without history have no created_by", n, len(layers))
	}
	w := layerWalk{img: img, cf: cf, idx: idx, req: req, o: &o}
	results, err := w.readAll(ctx, layers)
	if err != nil {
		o.kept.close() // no index to close it: kept files already written go with it
		return nil, err
	}
	for i := range results {
		idx.Layers[i].Files = len(results[i].files)
		idx.warnings = append(idx.warnings, results[i].warnings...)
		idx.incomplete = append(idx.incomplete, results[i].incomplete...)
	}
	return idx, nil
}

// layerInfos describes each layer from what is known without reading it: the config's
// diff IDs and history, and the stored digests and sizes where the source has them.
func layerInfos(img *Image, cf *v1.ConfigFile, layers []v1.Layer) []report.Layer {
	history := layerHistory(cf)
	infos := make([]report.Layer, len(layers))
	for i, l := range layers {
		info := report.Layer{Index: i}
		// The config lists the diff IDs; asking the layer may decompress it to compute one.
		if i < len(cf.RootFS.DiffIDs) {
			info.DiffID = cf.RootFS.DiffIDs[i].String()
		}
		if img.Can.StoredManifest {
			if d, err := l.Digest(); err == nil {
				info.Digest = d.String()
			}
			if s, err := l.Size(); err == nil {
				info.Size = s
			}
		}
		if i < len(history) {
			info.CreatedBy = history[i].CreatedBy
			info.Comment = history[i].Comment
			if !history[i].Created.IsZero() {
				info.Created = history[i].Created.Time
			}
		}
		infos[i] = info
	}
	return infos
}

// layerWalk reads an image's layers, in parallel.
type layerWalk struct {
	img *Image
	cf  *v1.ConfigFile
	idx *Index
	req Requirer
	o   *walkOptions
}

// readAll reads every layer, o.parallel at a time, the largest first (so that the last
// layer read is not a large one read on one core while the others wait), and merges
// them into the index in layer order as they are read (so that merging is done, but for
// the last layers, when the reading is); the first layer that fails for a reason of its
// own (not one cancelled because of another) ends the walk.
func (w *layerWalk) readAll(ctx context.Context, layers []v1.Layer) ([]layerContent, error) {
	results := make([]layerContent, len(layers))
	errs := make([]error, len(layers))
	read := make([]chan struct{}, len(layers)) // closed when results[i] and errs[i] are set
	for i := range read {
		read[i] = make(chan struct{})
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int, len(layers))
	for _, i := range w.bySize(len(layers)) {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range min(w.o.parallel, len(layers)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := new(buffers)
			defer buf.close()
			for i := range next {
				// The last layer is decompressed ahead of its reading by a goroutine of
				// its own: the other readers have nothing left (openLayer).
				last := w.o.parallel > 1 && len(next) == 0
				if err := ctx.Err(); err != nil {
					errs[i] = err
				} else if results[i], errs[i] = w.readOne(ctx, i, layers[i], buf, last); errs[i] != nil {
					cancel()
				}
				close(read[i])
			}
		}()
	}
	merged := make(chan error, 1)
	go func() { merged <- w.mergeAll(results, errs, read) }()
	wg.Wait()
	if err := <-merged; err != nil {
		return nil, err
	}
	var first, firstRaw error
	for i, err := range errs {
		if err == nil {
			continue
		}
		if first == nil || (errors.Is(firstRaw, context.Canceled) && !errors.Is(err, context.Canceled)) {
			first, firstRaw = layerError(w.idx.Layers[i], err), err
		}
	}
	if first != nil {
		if ctxErr := context.Cause(ctx); errors.Is(first, context.Canceled) && ctxErr != nil {
			return nil, failure.Incompletef("scan cancelled: %w", ctxErr)
		}
		return nil, first
	}
	return results, nil
}

// mergeAll merges each layer into the index once it is read (read[i] closed), in layer
// order, until a layer that failed (the walk then fails: no index). A panic merging would
// end the process from this goroutine: it ends the scan with exit 3 instead.
func (w *layerWalk) mergeAll(results []layerContent, errs []error, read []chan struct{}) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = failure.Incompletef("internal error while merging the layers: %v (please report this)", r)
		}
	}()
	w.idx.startMerge(len(results))
	for i := range results {
		if <-read[i]; errs[i] != nil {
			return nil
		}
		w.idx.mergeLayer(i, &results[i])
	}
	return nil
}

// readOne reads layer i. A panic in an analyzer fed the layer's bytes would end the
// process from this goroutine: it ends the scan with exit 3 instead.
func (w *layerWalk) readOne(ctx context.Context, i int, l v1.Layer, buf *buffers, ahead bool) (res layerContent, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = failure.Incompletef("internal error while reading the layer: %v (please report this)", r)
		}
	}()
	return w.read(ctx, i, l, buf, ahead)
}

// bySize lists the layer indices, the largest stored layer first where the sizes are
// known (else in order).
func (w *layerWalk) bySize(n int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	size := func(i int) int64 {
		if i < len(w.img.StoredSizes) {
			return w.img.StoredSizes[i]
		}
		return w.idx.Layers[i].Size
	}
	sort.SliceStable(order, func(a, b int) bool { return size(order[a]) > size(order[b]) })
	return order
}

// read reads layer i: from the layer cache when it holds the layer under its blob digest,
// else from the image (and then into the cache), with the reading goroutine's buffers.
func (w *layerWalk) read(ctx context.Context, i int, l v1.Layer, buf *buffers, ahead bool) (layerContent, error) {
	o, diffID := w.o, w.cf.RootFS.DiffIDs[i]
	key := ""
	if _, ok := o.cachers(); ok && o.cache != nil && w.img.Can.SharedBlobs && w.idx.Layers[i].Digest != "" {
		key = o.cacheKey(w.idx.Layers[i].Digest, diffID.String())
		if lk, ok := o.cache.(LayerLocker); ok {
			defer lk.Lock(key)()
		}
		if res, hit, err := o.loadLayer(key, i); hit || err != nil {
			return res, err
		}
	}
	stored := int64(-1)
	if i < len(w.img.StoredSizes) {
		stored = w.img.StoredSizes[i]
	}
	var blob func() (io.ReadCloser, error)
	if i < len(w.img.blobs) {
		blob = w.img.blobs[i]
	}
	check := o.diffIDChecks < 0 || i < o.diffIDChecks
	res, err := readLayer(ctx, l, w.img.Can, blob, i, diffID, check, stored, w.req, o, buf, ahead)
	res.buf = nil // the goroutine's, not the layer's
	if err == nil && key != "" {
		o.saveLayer(key, i, &res)
	}
	return res, err
}

func layerError(l report.Layer, err error) error {
	what := fmt.Sprintf("layer %d", l.Index)
	if l.DiffID != "" {
		what += " (" + shortDigest(l.DiffID) + ")"
	}
	var ferr *failure.Error
	if errors.As(err, &ferr) {
		return &failure.Error{Kind: ferr.Kind, Err: fmt.Errorf("%s: %w", what, err)}
	}
	var bomb *expansionError
	if errors.As(err, &bomb) {
		return failure.WithSetting(failure.Inputf("%s: %w", what, bomb), "max-layer-expansion")
	}
	if errors.Is(err, fs.ErrNotExist) {
		return failure.Inputf("%s: the blob is missing from the image", what)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return failure.Inputf("%s: truncated: the layer ends in the middle of a file", what)
	}
	return classifyReadError(what+": corrupt or unreadable", err)
}

func shortDigest(d string) string {
	if i := strings.IndexByte(d, ':'); i >= 0 && len(d) > i+13 {
		return d[:i+13]
	}
	return d
}

// layerHistory returns the history entries that produced a layer, in layer order.
func layerHistory(cf *v1.ConfigFile) []v1.History {
	var hs []v1.History
	for _, h := range cf.History {
		if !h.EmptyLayer {
			hs = append(hs, h)
		}
	}
	return hs
}

const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// expansionLimit fails the read once a layer has expanded past max bytes.
type expansionLimit struct {
	r           io.Reader
	n, max      int64
	size, ratio int64
}

type expansionError struct{ size, ratio int64 }

func (e *expansionError) Error() string {
	return fmt.Sprintf("expands to more than %d times its %d stored bytes (a decompression bomb?): raise the limit to read it", e.ratio, e.size)
}

func (e *expansionLimit) Read(p []byte) (int, error) {
	if e.n >= e.max {
		return 0, &expansionError{size: e.size, ratio: e.ratio}
	}
	if int64(len(p)) > e.max-e.n {
		p = p[:e.max-e.n]
	}
	n, err := e.r.Read(p)
	e.n += int64(n)
	return n, err
}

type layerContent struct {
	files     []*File
	whiteouts []string // paths deleted from lower layers
	opaques   []string // directories whose lower-layer contents are hidden
	warnings  []string
	// incomplete lists files an analyzer needed but did not get (over a size limit).
	incomplete []string
	// read counts the file bytes handed to the analyzers, by the files' sizes: a sparse
	// entry's holes count, though they never pass the expansion limit on the stream.
	read, readLimit, storedSize int64

	buf *buffers // the reading goroutine's, while the layer is read
}

// buffers are a layer-reading goroutine's, reused for each file of its layers that only
// consumers see (they hold its bytes only for the call): no allocation, clearing or
// collection per binary or text file, nor per layer (growing a buffer for each layer's
// larger files made a third of a gzip image's allocations, and so of its collections).
type buffers struct {
	head    [HeadSize]byte
	scratch []byte
	// spool holds the goroutine's files past ConsumeInMemory while their consumers read
	// them, each written over the last (consumeSpooled).
	spool *os.File
}

// copyBuffer is the scratch buffer as a copying buffer, grown to spoolChunk: idle while a
// file is written to a temporary file, and large writes there instead of io.Copy's 32 KiB.
func (b *buffers) copyBuffer() []byte {
	if cap(b.scratch) < spoolChunk {
		b.scratch = make([]byte, spoolChunk)
	}
	return b.scratch[:cap(b.scratch)]
}

const spoolChunk = 256 << 10

// close closes the spool file (unlinked when it was made).
func (b *buffers) close() {
	if b.spool != nil {
		b.spool.Close()
		b.spool = nil
	}
}

// readLayer reads one layer's tar stream. When check is set, its sha256 must be the diff
// ID the config lists (checked when the stream ends): base attribution by a base image's
// layers, and so --exclude-base, trusts those diff IDs, so a config that claims another
// image's layers is refused.
// stored is the layer's size as stored when the source knows it (-1: ask the layer).
func readLayer(ctx context.Context, l v1.Layer, can Capabilities, blob func() (io.ReadCloser, error), index int, diffID v1.Hash, check bool, stored int64, req Requirer, o *walkOptions, buf *buffers, ahead bool) (layerContent, error) {
	lc := layerContent{buf: buf}
	rc, err := openLayer(l, can, blob, ahead)
	if err != nil {
		return lc, err
	}
	defer rc.Close()
	if diffID.Algorithm != "sha256" {
		return lc, failure.Inputf("diff ID %q: not a sha256 digest", diffID)
	}
	var verified io.Reader = rc
	var digest *digestReader
	if check {
		hasher := newAsyncHash(sha256.New())
		defer hasher.Close()
		digest = &digestReader{r: rc, h: hasher, want: diffID.Hex, mismatch: func(got string) error {
			return failure.Inputf("its content is sha256:%s, not the diff ID sha256:%s the image config lists: the config does not describe this image", got, diffID.Hex)
		}}
		verified = digest
	}
	var stream io.Reader = verified
	lc.readLimit = ExpansionFloor
	size, err := stored, error(nil)
	if size < 0 {
		size, err = l.Size()
	}
	if err == nil && size > 0 {
		stream = &expansionLimit{r: verified, max: max(ExpansionFloor, size*o.maxExpansion), size: size, ratio: o.maxExpansion}
		lc.readLimit, lc.storedSize = max(ExpansionFloor, size*o.maxExpansion), size
	}
	tr := tar.NewReader(stream)
	entries := 0
	for {
		if err := ctx.Err(); err != nil {
			return lc, err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return lc, err
		}
		if entries++; entries > o.maxFiles {
			return lc, failure.WithSetting(failure.Inputf("more than %d entries: raise the limit to read it", o.maxFiles), "max-layer-files")
		}
		if err := lc.add(ctx, tr, h, index, req, o); err != nil {
			return lc, err
		}
	}
	// Drain what follows the tar end marker so that the diff ID and the blob digest are
	// checked and a truncated stream is noticed.
	if _, err := io.Copy(io.Discard, stream); err != nil {
		return lc, err
	}
	if s, ok := rc.(*layerStream); ok {
		if err := s.finish(); err != nil {
			return lc, err
		}
	}
	if digest != nil {
		return lc, digest.Check()
	}
	return lc, nil
}

// add records one tar entry of layer index: a whiteout, an opaque marker, or a file (a
// regular file's bytes kept or consumed as req asks).
func (lc *layerContent) add(ctx context.Context, tr *tar.Reader, h *tar.Header, index int, req Requirer, o *walkOptions) error {
	p, err := cleanPath(h.Name)
	if err != nil {
		return err
	}
	if p == "" { // the root itself
		return nil
	}
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	if base == opaqueMarker {
		lc.opaques = append(lc.opaques, dir)
		return nil
	}
	if strings.HasPrefix(base, whiteoutPrefix) {
		lc.whiteouts = append(lc.whiteouts, path.Join(dir, strings.TrimPrefix(base, whiteoutPrefix)))
		return nil
	}
	f := &File{
		Path:  p,
		Type:  fileType(h.Typeflag),
		Mode:  h.FileInfo().Mode(),
		UID:   ownerID(h.Uid),
		GID:   ownerID(h.Gid),
		Size:  h.Size,
		Layer: index,
	}
	switch h.Typeflag {
	case tar.TypeSymlink:
		f.setLinkname(h.Linkname)
	case tar.TypeLink:
		target, err := cleanPath(h.Linkname)
		if err != nil || target == "" {
			return failure.Inputf("hard link %q points outside the image root (%q)", h.Name, h.Linkname)
		}
		f.setLinkname(target)
		f.Size = 0
		// The target's bytes are filled in when the layers are merged.
		f.wantData = req.Required(p, h.FileInfo())
	case tar.TypeReg, tar.TypeRegA:
		if err := readRegular(ctx, tr, h, f, req, o, lc); err != nil {
			return err
		}
	}
	lc.files = append(lc.files, f)
	return nil
}

// readRegular keeps the bytes of a required file and hands the bytes of a consumed one to
// its consumers.
func readRegular(ctx context.Context, tr io.Reader, h *tar.Header, f *File, req Requirer, o *walkOptions, lc *layerContent) error {
	info := h.FileInfo()
	keep := req.Required(f.Path, info)
	var head []byte
	var consumers []Consumer
	if len(o.consumers) > 0 && h.Size > 0 {
		head = lc.buf.head[:min(h.Size, HeadSize)]
		if _, err := io.ReadFull(tr, head); err != nil {
			return unexpected(err)
		}
		for _, c := range o.consumers {
			if c.Consumes(f.Path, info, head) {
				consumers = append(consumers, c)
			}
		}
	}
	if !keep && len(consumers) == 0 {
		return nil
	}
	if h.Size > o.maxFileSize {
		what := "not analysed"
		if keep && path.Base(f.Path) == "package.json" {
			// An npm package padded past the limit still names itself: its name and
			// version are read from the start of the file, in bounded memory.
			if small, ok := packageJSONHead(io.MultiReader(bytes.NewReader(head), tr)); ok {
				f.setData(small)
				f.Retained = true
				if len(consumers) == 0 {
					return nil
				}
				what = "its name and version were read, its text was not searched"
			}
		}
		lc.incomplete = append(lc.incomplete, fmt.Sprintf("layer %d: %s is %d bytes, over the %d-byte limit for files read into memory (setting max-file-size): %s", f.Layer, f.Path, h.Size, o.maxFileSize, what))
		return nil
	}
	if lc.read += h.Size; lc.read > lc.readLimit {
		return &expansionError{size: lc.storedSize, ratio: o.maxExpansion}
	}
	if !keep && h.Size > ConsumeInMemory {
		return consumeSpooled(ctx, tr, head, h.Size, f, consumers, o, lc.buf)
	}
	if keep {
		if total := o.kept.total.Add(h.Size); total > o.maxRetained {
			return errRetained(o.maxRetained, f.Path)
		}
		c, err := o.kept.store(f, head, tr, h.Size, lc.buf.copyBuffer())
		if err != nil {
			return err
		}
		for _, cons := range consumers {
			cons.Consume(ctx, f, c)
		}
		f.Retained = true
		return nil
	}
	if int64(cap(lc.buf.scratch)) < h.Size {
		// Grown by doubling (to at most ConsumeInMemory): a layer's files come in no order
		// of size, and growing to each larger one was most of what the buffer allocated.
		lc.buf.scratch = make([]byte, min(max(h.Size, 2*int64(cap(lc.buf.scratch)), 64<<10), ConsumeInMemory))
	}
	data := lc.buf.scratch[:h.Size]
	n := copy(data, head)
	if _, err := io.ReadFull(tr, data[n:]); err != nil {
		return unexpected(err)
	}
	for _, c := range consumers {
		c.Consume(ctx, f, BytesContent(data))
	}
	return nil
}

func errRetained(limit int64, at string) error {
	return failure.WithSetting(failure.Inputf("the files kept for analysis add up to more than %d bytes (at %s): raise the limit to read it", limit, at), "max-retained-bytes")
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// cleanPath makes a tar entry name relative to the image root. A name that climbs out of
// the root with ".." is refused: no well-formed image has one.
func cleanPath(name string) (string, error) {
	n := strings.TrimLeft(name, "/")
	c := path.Clean(n)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", failure.Inputf("tar entry %q escapes the image root", name)
	}
	if c == "." {
		return "", nil
	}
	return c, nil
}

func fileType(flag byte) FileType {
	switch flag {
	case tar.TypeReg, tar.TypeRegA:
		return TypeRegular
	case tar.TypeDir:
		return TypeDir
	case tar.TypeSymlink:
		return TypeSymlink
	case tar.TypeLink:
		return TypeHardlink
	default:
		return TypeOther
	}
}

// packageJSONHeadLimit is how much of an oversized package.json is read for its name and
// version.
const packageJSONHeadLimit = 1 << 20

// packageJSONHead reads the top-level "name" and "version" of a package.json from its
// first packageJSONHeadLimit bytes with a streaming decoder (a long value elsewhere is
// never held whole), and returns them as a small package.json.
func packageJSONHead(r io.Reader) ([]byte, bool) {
	dec := json.NewDecoder(io.LimitReader(r, packageJSONHeadLimit))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	found := map[string]string{}
	for dec.More() && (found["name"] == "" || found["version"] == "") {
		k, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, _ := k.(string)
		if key == "name" || key == "version" {
			v, err := dec.Token()
			if err != nil {
				return nil, false
			}
			if s, ok := v.(string); ok {
				found[key] = s
			}
			continue
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, false
		}
	}
	if found["name"] == "" || found["version"] == "" {
		return nil, false
	}
	out, err := json.Marshal(map[string]string{"name": found["name"], "version": found["version"]})
	return out, err == nil
}
