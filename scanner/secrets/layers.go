package secrets

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/image"
)

// InLayer is the image check for a secret in any layer's files.
var InLayer = &report.Rule{
	ID: "IC100", Severity: report.Critical, Title: "Secret in an image layer", Dockle: "CIS-DI-0010",
	Rationale: "A file with a credential in any layer ships with the image, even when a later layer deleted it: anyone who pulls the image can extract it.",
	Fix:       "Remove it from the build (use `RUN --mount=type=secret`, .dockerignore), rebuild, and rotate the secret.",
	HelpURI:   "https://github.com/imagegate/imagegate/blob/main/docs/image-checks.md#ic100",
}

// MaxFileSize bounds the files searched for secrets (larger text files are logs and data,
// rarely credentials).
const MaxFileSize = 2 << 20

// DefaultMaxBytes is how much text the secret scan reads in one image.
const DefaultMaxBytes = 4 << 30

// Layers searches the text files of every layer for secrets during the walk (also files a
// later layer deleted: they still ship). It is an image.Consumer: file bytes are held only
// for the call.
type Layers struct {
	det *Detector
	// MaxBytes bounds the text read across the whole image (0: DefaultMaxBytes); past it
	// files are skipped and the scan is incomplete.
	MaxBytes int64

	used, skipped atomic.Int64
	unread        atomic.Int64 // text files whose bytes could not be read back
	unreadErr     atomic.Value // the first such error

	mu    sync.Mutex
	found []fileSecrets
}

type fileSecrets struct {
	file    *image.File
	matches []Match
}

// NewLayers returns the layer analyzer with its detector.
func NewLayers(d *Detector, maxBytes int64) *Layers { return &Layers{det: d, MaxBytes: maxBytes} }

// Name implements analyzer.Analyzer.
func (*Layers) Name() string { return "secrets" }

// Required implements image.Requirer: the analyzer keeps no file in the index.
func (*Layers) Required(string, fs.FileInfo) bool { return false }

// noise are folders whose text is documentation, headers or test data, not configuration.
var noise = []string{"usr/share/", "usr/include/", "usr/lib/go/src/", "usr/local/go/src/", "proc/", "sys/"}

func (a *Layers) maxBytes() int64 {
	if a.MaxBytes > 0 {
		return a.MaxBytes
	}
	return DefaultMaxBytes
}

// Consumes implements image.Consumer: text files (no NUL in the first bytes) of a size that
// configuration files have.
func (a *Layers) Consumes(p string, info fs.FileInfo, head []byte) bool {
	if info.Size() == 0 || info.Size() > MaxFileSize || bytes.IndexByte(head, 0) >= 0 {
		return false
	}
	for _, n := range noise {
		if strings.HasPrefix(p, n) {
			return false
		}
	}
	if a.used.Add(info.Size()) > a.maxBytes() {
		a.skipped.Add(1)
		return false
	}
	return true
}

// Consume implements image.Consumer. A text file (MaxFileSize at most) not handed in
// memory (a kept file waiting on disk) is read whole first.
func (a *Layers) Consume(ctx context.Context, f *image.File, c image.Content) {
	data, err := c.ReadAll()
	if err != nil {
		a.unread.Add(1)
		a.unreadErr.CompareAndSwap(nil, err.Error())
		return
	}
	if ms := a.det.Scan(ctx, f.Path, data); len(ms) > 0 {
		a.mu.Lock()
		a.found = append(a.found, fileSecrets{file: f, matches: ms})
		a.mu.Unlock()
	}
}

// Analyze implements analyzer.Analyzer: a finding per secret, in layer order.
func (a *Layers) Analyze(context.Context, *image.Index, *v1.ConfigFile) (*report.Result, error) {
	out := &report.Result{}
	if n := a.skipped.Load(); n > 0 {
		out.Incomplete = append(out.Incomplete, fmt.Sprintf("secret scan: %d text files not read past the %d-byte budget (raise setting max-secret-bytes)", n, a.maxBytes()))
	}
	if n := a.unread.Load(); n > 0 {
		out.Incomplete = append(out.Incomplete, fmt.Sprintf("secret scan: %d text files could not be read (%v)", n, a.unreadErr.Load()))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	sort.Slice(a.found, func(i, j int) bool {
		if a.found[i].file.Layer != a.found[j].file.Layer {
			return a.found[i].file.Layer < a.found[j].file.Layer
		}
		return a.found[i].file.Path < a.found[j].file.Path
	})
	for _, fsec := range a.found {
		f := fsec.file
		for _, m := range fsec.matches {
			where := fmt.Sprintf("/%s (layer %d)", f.Path, f.Layer)
			if f.Removed {
				where += ", deleted or replaced by a later layer but still shipped in layer " + fmt.Sprint(f.Layer)
			}
			out.Findings = append(out.Findings, report.Finding{
				Kind: report.KindSecret, ID: InLayer.ID, Title: InLayer.Title, Severity: InLayer.Severity, Rule: InLayer,
				Message:     fmt.Sprintf("%s %s in %s; fingerprint %s", m.Type, m.Masked, where, m.Fingerprint),
				Target:      f.Path,
				Layer:       f.Layer,
				Fingerprint: report.MakeFingerprint("secret", f.Path, m.Fingerprint),
			})
		}
	}
	return out, nil
}
