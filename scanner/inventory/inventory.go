// Package inventory detects the OS of an image and lists the packages installed in it,
// with the layer that added each one. The parsers are osv-scalibr's extractors, fed from
// the single layer walk.
package inventory

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	cpb "github.com/google/osv-scalibr/binary/proto/config_go_proto"
	"github.com/google/osv-scalibr/extractor"
	"github.com/google/osv-scalibr/extractor/filesystem"
	"github.com/google/osv-scalibr/extractor/filesystem/language/dotnet/depsjson"
	"github.com/google/osv-scalibr/extractor/filesystem/language/golang/gobinary"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/packagejson"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/packagelockjson"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/pnpmlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/yarnlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/php/composerlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/pipfilelock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/poetrylock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/requirements"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/wheelegg"
	"github.com/google/osv-scalibr/extractor/filesystem/language/ruby/gemfilelock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/ruby/gemspec"
	"github.com/google/osv-scalibr/extractor/filesystem/language/rust/cargoauditable"
	"github.com/google/osv-scalibr/extractor/filesystem/language/rust/cargolock"
	"github.com/google/osv-scalibr/extractor/filesystem/os/apk"
	apkmeta "github.com/google/osv-scalibr/extractor/filesystem/os/apk/metadata"
	"github.com/google/osv-scalibr/extractor/filesystem/os/dpkg"
	dpkgmeta "github.com/google/osv-scalibr/extractor/filesystem/os/dpkg/metadata"
	"github.com/google/osv-scalibr/extractor/filesystem/os/osrelease"
	"github.com/google/osv-scalibr/extractor/filesystem/os/rpm"
	rpmmeta "github.com/google/osv-scalibr/extractor/filesystem/os/rpm/metadata"
	scalibrfs "github.com/google/osv-scalibr/fs"
	scalibrlog "github.com/google/osv-scalibr/log"
	"github.com/google/osv-scalibr/purl"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/gofuncs"
	"github.com/imagegate/imagegate/scanner/image"
)

func init() {
	// osv-scalibr logs through a global logger; imagegate reports through its own results.
	scalibrlog.SetLogger(quietLogger{})
}

// Analyzer runs the package extractors over a walked image. It is an image.Requirer (the
// files it reads after the walk) and an image.Consumer (binaries it reads during the walk,
// keeping only their package lists).
type Analyzer struct {
	// databases are rewritten by every install: their packages are attributed across the
	// layers' copies.
	databases []filesystem.Extractor
	// manifests are one file per installed package (or per list of installed packages):
	// the layer that wrote the file added the package.
	manifests []filesystem.Extractor
	// lockfiles declare packages; what is installed wins over them: an npm lockfile beside
	// a node_modules tree is not read, and a package an installed one repeats is dropped.
	lockfiles []filesystem.Extractor
	// binaries (executables, Java archives) are read during the walk and not kept; every
	// extractor that wants a binary reads it.
	binaries []filesystem.Extractor

	mu       sync.Mutex
	streamed map[*image.File][]report.Package
	lists    map[*image.File][]uint64 // the paths each OS file list names (ownership.go)
	warnings []string
	// failedLayers have a binary that could not be read, or a Go binary whose table was
	// not kept (goTableBudget): they are not cached.
	failedLayers map[int]bool

	// goTables counts the bytes of the Go binaries' function tables kept for matching,
	// against goTableBudget (MaxGoTableBytes); tablesDropped counts the binaries read past
	// it, which keep none.
	goTables, tablesDropped atomic.Int64
	goTableBudget           int64
}

// New returns an Analyzer with the OS and language package extractors, each told that
// files up to maxFileSize bytes are its to read (the walk's bound, so that the two caps
// agree; 0: the walk's default). A file an extractor still declines is reported.
func New(maxFileSize int64) (*Analyzer, error) {
	if maxFileSize <= 0 {
		maxFileSize = image.DefaultMaxFileSize
	}
	cfg := &cpb.PluginConfig{MaxFileSizeBytes: maxFileSize}
	a := &Analyzer{streamed: map[*image.File][]report.Package{}, lists: map[*image.File][]uint64{}, failedLayers: map[int]bool{}, goTableBudget: MaxGoTableBytes}
	for _, set := range []struct {
		into *[]filesystem.Extractor
		mk   []func(*cpb.PluginConfig) (filesystem.Extractor, error)
	}{
		{&a.databases, []func(*cpb.PluginConfig) (filesystem.Extractor, error){dpkg.New, apk.New, rpm.New}},
		{&a.manifests, []func(*cpb.PluginConfig) (filesystem.Extractor, error){
			packagejson.New, wheelegg.New, gemspec.New, depsjson.New,
			func(*cpb.PluginConfig) (filesystem.Extractor, error) { return composerInstalled{}, nil },
		}},
		{&a.lockfiles, []func(*cpb.PluginConfig) (filesystem.Extractor, error){
			packagelockjson.New, yarnlock.New, pnpmlock.New, requirements.New, poetrylock.New,
			pipfilelock.New, gemfilelock.New, cargolock.New, composerlock.New,
		}},
		{&a.binaries, []func(*cpb.PluginConfig) (filesystem.Extractor, error){gobinary.New, cargoauditable.New,
			func(*cpb.PluginConfig) (filesystem.Extractor, error) { return javaArchive{}, nil }}},
	} {
		for _, mk := range set.mk {
			e, err := mk(cfg)
			if err != nil {
				return nil, fmt.Errorf("inventory: %w", err)
			}
			*set.into = append(*set.into, e)
		}
	}
	return a, nil
}

var osReleasePaths = []string{"etc/os-release", "usr/lib/os-release"}

// Required reports whether the walk must keep a file: os-release, package databases,
// package manifests and lockfiles (the OS's file lists are consumed, not kept).
func (a *Analyzer) Required(p string, info fs.FileInfo) bool {
	if slices.Contains(osReleasePaths, p) {
		return true
	}
	api := unsized(p, info) // once: every file of an image is asked about, of each extractor
	return pick(a.databases, api) != nil || pick(a.manifests, api) != nil || pick(a.lockfiles, api) != nil
}

// pick returns the first extractor that reads the file api is (unsized). Which extractor a file
// belongs to is decided by its path and mode alone: an extractor's own size cap declines
// the file later, where it is reported (declined), never here, where it would be skipped
// without a word.
func pick(exs []filesystem.Extractor, api filesystem.FileAPI) filesystem.Extractor {
	for _, e := range exs {
		if e.FileRequired(api) {
			return e
		}
	}
	return nil
}

// wants says whether the file at p is of the kind ex reads.
func wants(ex filesystem.Extractor, p string, info fs.FileInfo) bool {
	return ex.FileRequired(unsized(p, info))
}

// unsized is the file at p as pick and wants ask about it: without its size, the
// question being which files are an extractor's kind.
func unsized(p string, info fs.FileInfo) filesystem.FileAPI {
	return fileAPI{path: p, info: sized{info, 0}}
}

// declined is the error for a file an extractor is offered and will not read (its own
// size cap, the one way FileRequired refuses a file pick chose): the file's packages are
// missing, so the scan is incomplete.
// The bytes given are what is asked about: of a package.json past the walk's bound, the
// walk keeps its head (and has said the rest was not read).
func declined(ex filesystem.Extractor, f *image.File, size int64) error {
	if ex.FileRequired(fileAPI{path: f.Path, info: sized{f.Info(), size}}) {
		return nil
	}
	return fmt.Errorf("%s declined this %d-byte file (over its size limit, setting max-file-size): its packages were not read", ex.Name(), size)
}

var binaryMagics = [][]byte{
	{0x7f, 'E', 'L', 'F'},
	{0xfe, 0xed, 0xfa, 0xce}, {0xfe, 0xed, 0xfa, 0xcf}, {0xce, 0xfa, 0xed, 0xfe}, {0xcf, 0xfa, 0xed, 0xfe}, // Mach-O
	{'M', 'Z'},             // PE
	{'P', 'K', 0x03, 0x04}, // zip: Java archives
}

// Consumes implements image.Consumer: executables with a binary format's magic number,
// and the OS's file lists.
func (a *Analyzer) Consumes(p string, info fs.FileInfo, head []byte) bool {
	if isOwnershipList(p) {
		return true
	}
	magic := false
	for _, m := range binaryMagics {
		if bytes.HasPrefix(head, m) {
			magic = true
			break
		}
	}
	return magic && pick(a.binaries, unsized(p, info)) != nil
}

// Consume implements image.Consumer: it extracts a binary's packages, or hashes the paths
// a file list names, and drops its bytes.
func (a *Analyzer) Consume(ctx context.Context, f *image.File, c image.Content) {
	if isOwnershipList(f.Path) {
		hashes := listedPaths(f.Path, c)
		a.mu.Lock()
		a.lists[f] = hashes
		a.mu.Unlock()
		return
	}
	var all []report.Package
	var errs []string
	// An ELF file's headers are read once for the extractors' preflights (they were read
	// four times, 4% of a scan's CPU); on an error each reads the file itself.
	var ef *elf.File
	if h := make([]byte, 4); c.Size >= 4 {
		if _, err := c.ReadAt(h, 0); err == nil && string(h) == elf.ELFMAG {
			ef, _ = elf.NewFile(c)
		}
	}
	for _, ex := range a.binaries {
		if !wants(ex, f.Path, f.Info()) {
			continue // not its kind; a size cap is reported by extract (declined)
		}
		pkgs, err := extract(ctx, ex, nil, f, c, ef)
		if err != nil {
			errs = append(errs, err.Error())
		}
		if ex.Name() == gobinary.Name && len(pkgs) > 0 {
			a.linkGo(f, pkgs, c)
		}
		all = append(all, pkgs...)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range errs {
		a.warnings = append(a.warnings, fmt.Sprintf("%s (layer %d): %s", f.Path, f.Layer, e))
		a.failedLayers[f.Layer] = true
	}
	if len(all) > 0 {
		a.streamed[f] = all
	}
}

// linkGo gives a Go binary's packages what the binary links (scanner/gofuncs), read
// while its bytes are at hand, for reachability; or why it could not be read, or was not
// kept (the scan's tables past MaxGoTableBytes: the layer is then not cached, so that a
// later scan with room reads it).
func (a *Analyzer) linkGo(f *image.File, pkgs []report.Package, c image.Content) {
	var t *gofuncs.Table
	var why string
	if a.goTables.Load() > a.goTableBudget {
		why = a.overBudget(f)
	} else if read, err := gofuncs.Read(c, c.Size); err != nil {
		why = "function table could not be read: " + err.Error()
	} else if a.keepTable(read) {
		t = read
	} else {
		why = a.overBudget(f)
	}
	for i := range pkgs {
		if t != nil {
			pkgs[i].Linked = t
		} else {
			pkgs[i].LinkedError = why
		}
	}
}

// keepTable counts a table against the budget, or says it does not fit.
func (a *Analyzer) keepTable(t *gofuncs.Table) bool {
	return a.goTables.Add(t.Bytes()) <= a.goTableBudget
}

// overBudget counts a binary whose table is not kept, keeps its layer out of the layer
// cache, and says why.
func (a *Analyzer) overBudget(f *image.File) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.overBudgetLocked(f)
}

// overBudgetLocked is overBudget with a.mu held.
func (a *Analyzer) overBudgetLocked(f *image.File) string {
	a.tablesDropped.Add(1)
	a.failedLayers[f.Layer] = true
	return fmt.Sprintf("function table was not kept: the image's Go function tables passed %d bytes", a.goTableBudget)
}

// Name implements analyzer.Analyzer.
func (*Analyzer) Name() string { return "inventory" }

// Analyze implements analyzer.Analyzer: the OS and the packages of the final filesystem,
// each package with the layer that added it. Incomplete lists package databases,
// manifests, lockfiles and binaries that could not be read whole: their packages may be
// missing.
func (a *Analyzer) Analyze(ctx context.Context, idx *image.Index, _ *v1.ConfigFile) (*report.Result, error) {
	inv := &report.Result{Packages: []report.Package{}}
	var declared []report.Package // from lockfiles
	fsys := idx.FS()
	if m, err := osrelease.GetOSRelease(fsys); err == nil {
		inv.OS = &report.OS{ID: m["ID"], VersionID: m["VERSION_ID"], Codename: m["VERSION_CODENAME"], PrettyName: m["PRETTY_NAME"]}
	}
	// The package databases are read beside the manifests and lockfiles (on two cores, the
	// dpkg database's copies and an npm lockfile took as long as each other), each
	// extractor by one goroutine only; the results join in path order.
	paths := idx.RetainedPaths()
	var fromDatabases []extracted
	var wg sync.WaitGroup
	wg.Go(func() { fromDatabases = a.extractAll(ctx, idx, fsys, paths, true) })
	fromFiles := a.extractAll(ctx, idx, fsys, paths, false)
	wg.Wait()
	for i := range paths {
		for _, f := range []extracted{fromDatabases[i], fromFiles[i]} {
			inv.Packages = append(inv.Packages, f.pkgs...)
			declared = append(declared, f.declared...)
			inv.Incomplete = append(inv.Incomplete, f.incomplete...)
		}
	}
	a.mu.Lock()
	for f, pkgs := range a.streamed {
		if !f.Removed {
			inv.Packages = append(inv.Packages, pkgs...)
		}
	}
	inv.Incomplete = append(inv.Incomplete, a.warnings...)
	a.mu.Unlock()
	if n := a.tablesDropped.Load(); n > 0 {
		inv.Warnings = append(inv.Warnings, fmt.Sprintf("%d Go binaries' function tables were not kept (the image's tables passed %d bytes): the reachability of their vulnerabilities is unknown, gated as reachable", n, a.goTableBudget))
	}
	inv.Packages = append(inv.Packages, notInstalled(inv.Packages, declared)...)

	a.markOwned(idx, inv.Packages)
	sort.SliceStable(inv.Packages, func(i, j int) bool {
		a, b := inv.Packages[i], inv.Packages[j]
		if a.Ecosystem != b.Ecosystem {
			return a.Ecosystem < b.Ecosystem
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return strings.Join(a.Locations, ",") < strings.Join(b.Locations, ",")
	})
	return inv, nil
}

// extracted is what one retained path gave: installed packages (databases, manifests),
// declared ones (lockfiles), and why any could not be read.
type extracted struct {
	pkgs, declared []report.Package
	incomplete     []string
}

// extractAll reads the final copy of each retained path that is a package database (with
// databases), or a manifest or lockfile (without): what each gave, at the path's index. A
// panic outside an extractor (extract recovers theirs) would end the process from
// Analyze's second goroutine: it becomes the path's incomplete line instead.
func (a *Analyzer) extractAll(ctx context.Context, idx *image.Index, fsys fs.FS, paths []string, databases bool) []extracted {
	found := make([]extracted, len(paths))
	for i, p := range paths {
		func() {
			defer func() {
				if r := recover(); r != nil {
					found[i] = extracted{incomplete: []string{fmt.Sprintf("%s: internal error while reading its packages: %v (please report this)", p, r)}}
				}
			}()
			found[i] = a.extractPath(ctx, idx, fsys, p, databases)
		}()
	}
	return found
}

// extractPath reads the final copy of the retained path p if it is of the kind asked for
// (a package database, or a manifest or lockfile).
func (a *Analyzer) extractPath(ctx context.Context, idx *image.Index, fsys fs.FS, p string, databases bool) extracted {
	versions := idx.Versions(p)
	final := versions[len(versions)-1]
	if final.Removed {
		return extracted{}
	}
	api := unsized(p, final.Info())
	db := pick(a.databases, api)
	switch {
	case databases && db != nil:
		pkgs, err := a.attribute(ctx, db, fsys, versions)
		return extracted{pkgs: pkgs, incomplete: errLine(err)}
	case databases || db != nil:
		return extracted{} // the other goroutine's kind
	}
	if ex := pick(a.manifests, api); ex != nil {
		pkgs, err := extract(ctx, ex, fsys, final, final.Content(), nil)
		return extracted{pkgs: pkgs, incomplete: errLine(located(p, final, err))}
	}
	if ex := pick(a.lockfiles, api); ex != nil {
		if npmLockfiles[path.Base(p)] {
			if _, ok := idx.Stat(path.Join(path.Dir(p), "node_modules")); ok {
				return extracted{} // the installed tree is the truth
			}
		}
		pkgs, err := extract(ctx, ex, fsys, final, final.Content(), nil)
		return extracted{declared: pkgs, incomplete: errLine(located(p, final, err))}
	}
	return extracted{}
}

// located names the file an extractor's error is about.
func located(p string, f *image.File, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s (layer %d): %v", p, f.Layer, err)
}

// errLine is err as an incomplete line, if there is one.
func errLine(err error) []string {
	if err == nil {
		return nil
	}
	return []string{err.Error()}
}

// npmLockfiles are read only where no node_modules tree sits beside them.
var npmLockfiles = map[string]bool{"package-lock.json": true, "npm-shrinkwrap.json": true, "yarn.lock": true, "pnpm-lock.yaml": true}

// notInstalled returns the lockfile packages that no installed package repeats (same
// ecosystem, name and version), each once with all its lockfiles as locations.
func notInstalled(installed, declared []report.Package) []report.Package {
	have := map[string]bool{}
	for _, p := range installed {
		have[p.Ecosystem+"\x00"+p.Name+"\x00"+p.Version] = true
	}
	seen := map[string]int{}
	var out []report.Package
	for _, p := range declared {
		if have[p.Ecosystem+"\x00"+p.Name+"\x00"+p.Version] || p.Version == "" {
			continue
		}
		k := key(p)
		if i, ok := seen[k]; ok {
			out[i].Locations = append(out[i].Locations, p.Locations...)
			continue
		}
		seen[k] = len(out)
		out = append(out, p)
	}
	return out
}

// attribute extracts the final copy of a package database and gives each package the
// oldest layer from which on every copy of the database lists it at the same version.
func (a *Analyzer) attribute(ctx context.Context, ex filesystem.Extractor, fsys fs.FS, versions []*image.File) ([]report.Package, error) {
	final := versions[len(versions)-1]
	pkgs, err := extract(ctx, ex, fsys, final, final.Content(), nil)
	if err != nil {
		return nil, fmt.Errorf("%s (layer %d): %w", final.Path, final.Layer, err)
	}
	layerOf := make(map[string]int, len(pkgs))
	for _, p := range pkgs {
		layerOf[key(p)] = final.Layer
	}
	// Walk older copies while they still list packages of the final copy.
	present := layerOf
	for i := len(versions) - 2; i >= 0 && len(present) > 0; i-- {
		older, err := extract(ctx, ex, fsys, versions[i], versions[i].Content(), nil)
		if err != nil {
			break
		}
		next := map[string]int{}
		for _, p := range older {
			if _, ok := present[key(p)]; ok {
				layerOf[key(p)] = versions[i].Layer
				next[key(p)] = 0
			}
		}
		present = next
	}
	for i := range pkgs {
		pkgs[i].Layer = layerOf[key(pkgs[i])]
	}
	return pkgs, nil
}

func key(p report.Package) string {
	return p.Type + "\x00" + p.Name + "\x00" + p.Version + "\x00" + p.Arch
}

func extract(ctx context.Context, ex filesystem.Extractor, fsys fs.FS, f *image.File, c image.Content, ef *elf.File) (pkgs []report.Package, err error) {
	// Extractors parse bytes from the image, some in the layer walk's goroutines, where a
	// panic would end the process: it becomes this file's error (the scan is incomplete).
	defer func() {
		if r := recover(); r != nil {
			pkgs, err = nil, fmt.Errorf("%s failed on this file: %v", ex.Name(), r)
		}
	}()
	if err := declined(ex, f, c.Size); err != nil {
		return nil, err
	}
	if err := preflight(ex.Name(), f.Path, c, ef); errors.Is(err, errNothingToRead) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	input := &filesystem.ScanInput{
		Path:   f.Path,
		Info:   f.Info(),
		Reader: c.Reader(),
	}
	if sfs, ok := fsys.(scalibrfs.FS); ok {
		input.FS = sfs
	}
	got, err := ex.Extract(ctx, input)
	if err != nil {
		return nil, err
	}
	out := make([]report.Package, 0, len(got.Packages))
	for _, p := range got.Packages {
		if p.Name == "" {
			// A malformed file can yield an entry without a name (FuzzPackageDatabases found
			// one in a Cargo.lock): nothing to match or report.
			continue
		}
		pkg := convert(p, f.Path)
		pkg.Layer = f.Layer
		out = append(out, pkg)
	}
	return out, nil
}

func convert(p *extractor.Package, location string) report.Package {
	pkg := report.Package{
		Ecosystem: p.Ecosystem().String(),
		Type:      p.PURLType,
		Name:      p.Name,
		Version:   p.Version,
		Locations: []string{location},
	}
	if l := p.Location.PathOrEmpty(); l != location && strings.HasPrefix(l, location+":") {
		// Nested archives: "app.war:WEB-INF/lib/lib.jar".
		pkg.Locations = []string{l}
	}
	if pkg.Type == purl.TypeGolang && pkg.Name == "go" {
		// The toolchain a binary was built with is its standard library, which OSV calls
		// "stdlib" (its "toolchain" package is the go command, not in binaries).
		pkg.Name = "stdlib"
		pkg.PURL = canonicalPURL(&purl.PackageURL{Type: purl.TypeGolang, Name: "stdlib", Version: pkg.Version}).String()
	} else if u := p.PURL(); u != nil {
		pkg.PURL = canonicalPURL(u).String()
	}
	switch m := p.Metadata.(type) {
	case *dpkgmeta.Metadata:
		pkg.SourceName, pkg.SourceVersion, pkg.Arch = m.SourceName, m.SourceVersion, m.Architecture
		if pkg.SourceName != "" && pkg.SourceVersion == "" {
			// dpkg: "Source: name" without a version means the binary's version.
			pkg.SourceVersion = p.Version
		}
	case *apkmeta.Metadata:
		pkg.SourceName, pkg.Arch = m.OriginName, m.Architecture
		if m.OriginName != "" {
			pkg.SourceVersion = p.Version
		}
	case *rpmmeta.Metadata:
		pkg.SourceName, pkg.SourceVersion = splitSourceRPM(m.SourceRPM)
		pkg.Arch = m.Architecture
		if m.Epoch > 0 {
			// Advisories write the epoch: 1:1.1.1k-7.el8
			pkg.Version = fmt.Sprintf("%d:%s", m.Epoch, pkg.Version)
		}
	}
	if pkg.SourceName == pkg.Name && pkg.SourceVersion == pkg.Version {
		pkg.SourceName, pkg.SourceVersion = "", ""
	}
	return pkg
}

// canonicalPURL brings osv-scalibr's package URL to what the purl specification and the
// other tools (syft, Trivy) write, so that SBOMs correlate in Dependency-Track and
// GitHub's dependency graph: a Go module version keeps its "v" (pkg:golang/...@v1.7.7;
// osv-scalibr strips it for matching); qualifiers are the type's own (arch, epoch), the
// distro, and the source package as syft names it, upstream=NAME[@VERSION] (osv-scalibr
// writes source/sourceversion for deb, origin for apk, sourcerpm for rpm, and a source
// qualifier on npm packages that the npm type does not define).
func canonicalPURL(u *purl.PackageURL) *purl.PackageURL {
	c := *u
	q := map[string]string{}
	for _, kv := range c.Qualifiers {
		q[kv.Key] = kv.Value
	}
	upstream := ""
	switch c.Type {
	case purl.TypeGolang:
		if c.Version != "" && c.Version[0] >= '0' && c.Version[0] <= '9' {
			c.Version = "v" + c.Version
		}
	case purl.TypeDebian:
		if src := q["source"]; src != "" && src != c.Name {
			upstream = src
		}
		if v := q["sourceversion"]; q["source"] != "" && v != "" && v != c.Version {
			upstream = q["source"] + "@" + v
		}
	case purl.TypeApk:
		if o := q["origin"]; o != "" && o != c.Name {
			upstream = o
		}
	case purl.TypeRPM:
		upstream = q["sourcerpm"]
	}
	keep := map[string]bool{"arch": true, "distro": true, "epoch": true, "classifier": true, "type": true, "file_name": true}
	out := map[string]string{}
	for k, v := range q {
		if keep[k] && v != "" {
			out[k] = v
		}
	}
	if upstream != "" {
		out["upstream"] = upstream
	}
	c.Qualifiers = purl.QualifiersFromMap(out)
	return &c
}

// splitSourceRPM splits "openssl-3.0.7-27.el9.src.rpm" into name and version-release.
func splitSourceRPM(s string) (string, string) {
	s = strings.TrimSuffix(s, ".rpm")
	s = strings.TrimSuffix(s, ".src")
	s = strings.TrimSuffix(s, ".nosrc")
	// name-version-release: the last two dashes separate version and release.
	r := strings.LastIndexByte(s, '-')
	if r <= 0 {
		return s, ""
	}
	v := strings.LastIndexByte(s[:r], '-')
	if v <= 0 {
		return s, ""
	}
	return s[:v], s[v+1:]
}
