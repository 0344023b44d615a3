package inventory

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"

	"github.com/google/osv-scalibr/extractor"
	"github.com/google/osv-scalibr/extractor/filesystem"
	archivemeta "github.com/google/osv-scalibr/extractor/filesystem/language/java/archive/metadata"
	"github.com/google/osv-scalibr/inventory"
	"github.com/google/osv-scalibr/plugin"
	"github.com/google/osv-scalibr/purl"
)

// MaxArchiveDepth bounds how deep Java archives are opened inside each other, and
// MaxArchiveBytes the bytes opened for one archive and everything nested in it.
const (
	MaxArchiveDepth = 8
	MaxArchiveBytes = 256 << 20
)

// javaArchive reads the Maven coordinates of Java archives (jar, war, ear and their
// kin), and of the archives nested in them: every META-INF/maven/*/*/pom.properties,
// else the manifest's implementation or bundle headers, else the file name. osv-scalibr's
// extractor does the same and more (a deps.dev lookup by hash), at the price of linking
// gRPC and cloud clients into the binary; imagegate never goes online for an inventory.
type javaArchive struct{}

// javaArchiveExts are the zip-based archive kinds the JVM and its servers load.
var javaArchiveExts = map[string]bool{
	".jar": true, ".war": true, ".ear": true, ".par": true, ".sar": true,
	".jpi": true, ".hpi": true, ".lpkg": true, ".nar": true, ".rar": true,
}

func isJavaArchive(name string) bool {
	return javaArchiveExts[strings.ToLower(path.Ext(name))]
}

func (javaArchive) Name() string                       { return "imagegate/java/archive" }
func (javaArchive) Version() int                       { return 0 }
func (javaArchive) Requirements() *plugin.Capabilities { return &plugin.Capabilities{} }

func (javaArchive) FileRequired(api filesystem.FileAPI) bool { return isJavaArchive(api.Path()) }

func (j javaArchive) Extract(ctx context.Context, in *filesystem.ScanInput) (inventory.Inventory, error) {
	// The archive is read where it is (a large one from its temporary file, through
	// ReadAt): only the entries read (pom.properties, the manifest, nested archives) are
	// in memory.
	ra, ok := in.Reader.(interface {
		io.ReaderAt
		Size() int64
	})
	if !ok {
		data, err := io.ReadAll(io.LimitReader(in.Reader, MaxArchiveBytes+1))
		if err != nil {
			return inventory.Inventory{}, err
		}
		ra = bytes.NewReader(data)
	}
	r := &jarReader{budget: MaxArchiveBytes - ra.Size()}
	if r.budget < 0 {
		return inventory.Inventory{}, fmt.Errorf("Java archive larger than %d MiB", MaxArchiveBytes>>20)
	}
	if err := r.read(ctx, in.Path, ra, ra.Size(), 1); err != nil {
		return inventory.Inventory{}, err
	}
	return inventory.Inventory{Packages: r.pkgs}, nil
}

// jarReader walks one archive and its nested archives within a byte budget.
type jarReader struct {
	budget int64
	pkgs   []*extractor.Package
}

var errArchiveBudget = fmt.Errorf("nested Java archives expand past %d MiB", MaxArchiveBytes>>20)

func (r *jarReader) read(ctx context.Context, location string, ra io.ReaderAt, size int64, depth int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return fmt.Errorf("%s: %w", location, err)
	}
	var coords []jarCoordinates
	var manifest map[string]string
	for _, f := range zr.File {
		switch {
		case isPomProperties(f.Name):
			b, err := r.open(f)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", location, f.Name, err)
			}
			if c := parsePomProperties(b); c.complete() {
				coords = append(coords, c)
			}
		case strings.EqualFold(f.Name, "META-INF/MANIFEST.MF"):
			b, err := r.open(f)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", location, f.Name, err)
			}
			manifest = parseManifest(b)
		}
	}
	if len(coords) == 0 {
		if c := fromManifest(manifest, path.Base(location)); c.complete() {
			coords = append(coords, c)
		}
	}
	seen := map[jarCoordinates]bool{}
	for _, c := range coords {
		if seen[c] {
			continue
		}
		seen[c] = true
		r.pkgs = append(r.pkgs, &extractor.Package{
			Name:     c.group + ":" + c.artifact,
			Version:  c.version,
			PURLType: purl.TypeMaven,
			Location: extractor.LocationFromPath(location),
			Metadata: &archivemeta.Metadata{GroupID: c.group, ArtifactID: c.artifact},
		})
	}
	for _, f := range zr.File {
		if !isJavaArchive(f.Name) || strings.HasSuffix(f.Name, "/") {
			continue
		}
		if depth >= MaxArchiveDepth {
			return fmt.Errorf("%s: Java archives nested more than %d deep", location, MaxArchiveDepth)
		}
		b, err := r.open(f)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", location, f.Name, err)
		}
		if err := r.read(ctx, location+":"+f.Name, bytes.NewReader(b), int64(len(b)), depth+1); err != nil {
			return err
		}
	}
	return nil
}

// open reads one entry, charging its bytes to the budget whatever its header claims.
func (r *jarReader) open(f *zip.File) ([]byte, error) {
	if f.UncompressedSize64 > uint64(r.budget) {
		return nil, errArchiveBudget
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, r.budget+1))
	if err != nil {
		return nil, err
	}
	r.budget -= int64(len(b))
	if r.budget < 0 {
		return nil, errArchiveBudget
	}
	return b, nil
}

type jarCoordinates struct{ group, artifact, version string }

func (c jarCoordinates) complete() bool {
	return c.group != "" && c.artifact != "" && c.version != ""
}

func isPomProperties(name string) bool {
	parts := strings.Split(name, "/")
	return len(parts) == 5 && parts[0] == "META-INF" && parts[1] == "maven" && parts[4] == "pom.properties"
}

// parsePomProperties reads the three keys of a pom.properties file (a Java properties
// file as Maven writes it: key=value lines, # comments).
func parsePomProperties(b []byte) jarCoordinates {
	var c jarCoordinates
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			k, v, ok = strings.Cut(line, ":")
		}
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "groupId":
			c.group = v
		case "artifactId":
			c.artifact = v
		case "version":
			c.version = v
		}
	}
	return c
}

// parseManifest reads a JAR manifest's main section: "Name: value" lines, a line that
// starts with one space continuing the one before, a blank line ending the section.
func parseManifest(b []byte) map[string]string {
	m := map[string]string{}
	last := ""
	for line := range strings.Lines(string(b)) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		if strings.HasPrefix(line, " ") && last != "" {
			m[last] += line[1:]
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		last = strings.TrimSpace(k)
		m[last] = strings.TrimSpace(v)
	}
	return m
}

// jarFileName is "artifact-1.2.3.jar": the version starts at the first dash followed by a
// digit.
var jarFileName = regexp.MustCompile(`^(.+?)-(\d[^/]*)\.[A-Za-z]+$`)

// fromManifest takes coordinates from the implementation headers Maven and Gradle write
// into the manifest, completing the version from the file name ("artifact-1.2.3.jar").
// Without a group id the archive stays unnamed, as in Trivy's offline mode: guessing one
// (from an OSGi symbolic name, say) names packages that do not exist.
func fromManifest(m map[string]string, file string) jarCoordinates {
	c := jarCoordinates{group: m["Implementation-Vendor-Id"], artifact: m["Implementation-Title"], version: m["Implementation-Version"]}
	sm := jarFileName.FindStringSubmatch(file)
	if sm != nil && (c.artifact == "" || strings.ContainsAny(c.artifact, " \t")) {
		c.artifact = sm[1]
	}
	if sm != nil && c.version == "" {
		c.version = sm[2]
	}
	return c
}
