package vulndb

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/imagegate/imagegate/scanner/ecosystem"

	"github.com/imagegate/imagegate/failure"
)

// DefaultSource is where OSV publishes its per-ecosystem exports (<Ecosystem>/all.zip).
const DefaultSource = "https://osv-vulnerabilities.storage.googleapis.com"

// CheckEcosystems refuses names imagegate cannot match, saying which it can.
func CheckEcosystems(names []string) error {
	for _, n := range names {
		if !slices.Contains(ecosystem.Names(), n) {
			return failure.Inputf("unknown ecosystem %q: imagegate matches %s", n, strings.Join(ecosystem.Names(), ", "))
		}
	}
	return nil
}

// DefaultDir is the database folder when neither --db nor IMAGEGATE_DB says otherwise.
func DefaultDir() string {
	if d := os.Getenv("IMAGEGATE_DB"); d != "" {
		return d
	}
	if c, err := os.UserCacheDir(); err == nil {
		return filepath.Join(c, "imagegate", "db")
	}
	return filepath.Join(os.TempDir(), "imagegate", "db")
}

// UpdateOptions configures Update.
type UpdateOptions struct {
	// Source is the base URL of the exports (default DefaultSource).
	Source string
	// Ecosystems to fetch (default: every one in the ecosystem table).
	Ecosystems []string
	// Client is the HTTP client (default: one with a 10-minute timeout).
	Client *http.Client
	// Log receives progress; Terminal makes it a redrawn bar instead of plain lines.
	Log      io.Writer
	Terminal bool
	// SkipMissing passes over an ecosystem the source does not publish (404), as a mirror
	// with only some ecosystems does; a scan then reports the packages it could not check.
	SkipMissing bool
	// Ratings are ecosystems fetched for their severities alone (ImportRatings): their
	// ratings of CVEs are lent to other ecosystems' findings.
	Ratings []string
}

// UpdateResult says what happened to one ecosystem.
type UpdateResult struct {
	Info    Info
	Changed bool // false: the server said the data had not changed (304)
}

// Update downloads the exports with conditional requests and installs each one only after
// it was checked whole: a failed or interrupted update keeps the previous data.
func Update(ctx context.Context, dir string, o UpdateOptions) ([]UpdateResult, error) {
	if o.Source == "" {
		o.Source = DefaultSource
	}
	if len(o.Ecosystems) == 0 {
		o.Ecosystems = ecosystem.Names()
	}
	if err := CheckEcosystems(o.Ecosystems); err != nil {
		return nil, err
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Minute}
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, failure.Inputf("vulnerability database folder %s: %w", dir, unwrapPath(err))
	}
	// Data indexed by another imagegate version is fetched and indexed anew.
	old, err := readInfosOf(dir, false)
	if err != nil {
		return nil, err
	}
	ratings := readRatingInfos(dir)
	var out []UpdateResult
	for _, eco := range append(o.Ecosystems, o.Ratings...) {
		prev := old[eco]
		if slices.Contains(o.Ratings, eco) {
			prev = ratings[eco]
			prev.Ecosystem, prev.RatingsOnly = eco, true
		}
		r, err := updateOne(ctx, dir, eco, prev, o)
		if errors.Is(err, errNotPublished) && o.SkipMissing {
			fmt.Fprintf(o.Log, "%s: not published at %s; skipped\n", eco, o.Source)
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func updateOne(ctx context.Context, dir, eco string, old Info, o UpdateOptions) (UpdateResult, error) {
	u := strings.TrimSuffix(o.Source, "/") + "/" + url.PathEscape(eco) + "/all.zip"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return UpdateResult{}, failure.Inputf("db update: source %q: %w", o.Source, err)
	}
	req.Header.Set("User-Agent", "imagegate")
	if old.ETag != "" {
		req.Header.Set("If-None-Match", old.ETag)
	}
	if old.LastModified != "" {
		req.Header.Set("If-Modified-Since", old.LastModified)
	}
	resp, err := o.Client.Do(req)
	if err != nil {
		return UpdateResult{}, networkError(eco, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		old.Updated = time.Now().UTC()
		if err := writeInfo(dir, old); err != nil {
			return UpdateResult{}, err
		}
		fmt.Fprintf(o.Log, "%s: unchanged (%d records)\n", eco, old.Records)
		return UpdateResult{Info: old}, nil
	case http.StatusOK:
	case http.StatusNotFound:
		return UpdateResult{}, failure.Incomplete(fmt.Errorf("db update %s: %s answered %s (%w); the previous data is kept", eco, u, resp.Status, errNotPublished))
	default:
		return UpdateResult{}, failure.Incompletef("db update %s: %s answered %s; the previous data is kept", eco, u, resp.Status)
	}

	tmp, err := os.CreateTemp(dir, "."+eco+".zip.*")
	if err != nil {
		return UpdateResult{}, failure.Inputf("vulnerability database folder %s is not writable: %w", dir, unwrapPath(err))
	}
	defer os.Remove(tmp.Name())
	p := &progress{w: o.Log, terminal: o.Terminal, name: eco, total: resp.ContentLength}
	p.start()
	sum := md5.New()
	n, err := io.Copy(tmp, io.TeeReader(resp.Body, io.MultiWriter(p, sum)))
	p.done()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return UpdateResult{}, failure.Incompletef("db update %s: download failed after %d bytes: %w; the previous data is kept", eco, n, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return UpdateResult{}, failure.Incompletef("db update %s: download truncated (%d of %d bytes); the previous data is kept", eco, n, resp.ContentLength)
	}
	if want := publishedMD5(resp.Header); want != "" {
		if got := base64.StdEncoding.EncodeToString(sum.Sum(nil)); got != want {
			return UpdateResult{}, failure.Incompletef("db update %s: the download's MD5 %s is not the published %s; the previous data is kept", eco, got, want)
		}
	}
	fresh := Info{
		Source:       u,
		ETag:         resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"),
		Updated:      time.Now().UTC(),
	}
	importer := importZipFile
	if old.RatingsOnly {
		importer = importRatings
	}
	info, err := importer(ctx, dir, tmp.Name(), eco, fresh)
	if err != nil {
		return UpdateResult{}, failure.Incompletef("db update %s: the download is not a usable OSV export (%w); the previous data is kept", eco, err)
	}
	if info.RatingsOnly {
		fmt.Fprintf(o.Log, "%s: the ratings of %d records (lent to other ecosystems' findings)\n", eco, info.Records)
	} else {
		fmt.Fprintf(o.Log, "%s: %d records (%d skipped, %d withdrawn)\n", eco, info.Records, info.Skipped, info.Withdrawn)
	}
	return UpdateResult{Info: info, Changed: true}, nil
}

// errNotPublished marks an ecosystem the source has no export for.
var errNotPublished = errors.New("the source publishes no export for this ecosystem")

// publishedMD5 is the base64 MD5 Google Cloud Storage (where the OSV exports live)
// publishes for an object in its x-goog-hash header ("crc32c=...,md5=..."), or "".
func publishedMD5(h http.Header) string {
	for _, v := range h.Values("X-Goog-Hash") {
		for _, part := range strings.Split(v, ",") {
			if k, val, ok := strings.Cut(strings.TrimSpace(part), "="); ok && k == "md5" {
				return val
			}
		}
	}
	return ""
}

func networkError(eco string, err error) error {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return failure.Incompletef("db update %s: cannot resolve %s (offline? use 'imagegate db import' with downloaded all.zip files)", eco, dnsErr.Name)
	}
	return failure.Incompletef("db update %s: %w; the previous data is kept", eco, err)
}

// progress reports download progress: a redrawn line on a terminal, else a line at the
// start and the end.
type progress struct {
	w        io.Writer
	terminal bool
	name     string
	total    int64
	n        int64
	last     time.Time
}

func (p *progress) start() {
	if !p.terminal {
		if p.total > 0 {
			fmt.Fprintf(p.w, "%s: downloading all.zip (%.1f MiB)\n", p.name, mib(p.total))
		} else {
			fmt.Fprintf(p.w, "%s: downloading all.zip\n", p.name)
		}
	}
}

func (p *progress) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if p.terminal && time.Since(p.last) > 100*time.Millisecond {
		p.last = time.Now()
		p.draw()
	}
	return len(b), nil
}

func (p *progress) draw() {
	if p.total > 0 {
		pct := float64(p.n) * 100 / float64(p.total)
		bar := strings.Repeat("#", int(pct/5)) + strings.Repeat(".", 20-int(pct/5))
		fmt.Fprintf(p.w, "\r%-12s [%s] %6.1f/%.1f MiB %3.0f%%", p.name, bar, mib(p.n), mib(p.total), pct)
	} else {
		fmt.Fprintf(p.w, "\r%-12s %6.1f MiB", p.name, mib(p.n))
	}
}

func (p *progress) done() {
	if p.terminal {
		p.draw()
		fmt.Fprintln(p.w)
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
