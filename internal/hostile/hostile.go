// Package hostile builds the hostile-input corpus: images, Dockerfiles, databases, SBOMs
// and settings made to break a scanner (decompression bombs, path escapes, symlink loops,
// truncation, huge and deep trees, invalid UTF-8, corrupt files). Each case is the
// command line that must end with its exit code and one clear message. The corpus is
// built into a temporary folder by the tests and the benchmark; nothing large is
// committed.
package hostile

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/imagegate/internal/imagebuild"
	"github.com/imagegate/imagegate/internal/imagetest"
	"github.com/imagegate/imagegate/scanner/vulndb"
)

// Case is one hostile input.
type Case struct {
	Name string
	Args []string
	// Code is the exit code the run must end with.
	Code int
	// Message is part of the one error line (empty for a clean pass or gate failure).
	Message string
	// Detail, when set, is part of what the run prints on stderr (a "not analysed" line).
	Detail string
	// MaxHeap, when set, is the peak heap the run must stay under (tighter than the
	// corpus's bound).
	MaxHeap uint64
}

// BoundHeap is the peak heap of the cases that check a bound of their own (the Dockerfile
// instruction count, SBOM and VEX at their caps, the layer count of every source).
const BoundHeap = 256 << 20

// Build writes the corpus under dir; db is a folder of OSV exports for the scans.
func Build(t testing.TB, dir, db string) []Case {
	t.Helper()
	w := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	image := func(entries ...imagetest.Entry) string {
		img := imagetest.Image(t, "linux/amd64", imagetest.Step{CreatedBy: "COPY . /", Layer: imagetest.Layer(t, entries...)})
		return "docker-archive:" + imagetest.DockerArchive(t, img, "hostile:latest")
	}
	scan := func(img string, extra ...string) []string {
		return append([]string{"scan", img, "--db", db, "--fail-on-issues=false", "-f", "json"}, extra...)
	}
	lint := func(p string) []string { return []string{"lint", p, "--fail-on-issues=false"} }
	badUTF8 := "caf\xe9-\xff\xfe"
	good := image(imagetest.File("etc/os-release", []byte("ID=alpine\nVERSION_ID=3.20.2\n")))

	var cases []Case
	add := func(name string, args []string, code int, msg string) {
		cases = append(cases, Case{Name: name, Args: args, Code: code, Message: msg})
	}

	// Images.
	add("gzip-bomb-10GiB", scan("oci-dir:"+gzipBomb(t, filepath.Join(dir, "gzip-bomb"), 10<<30)), 2, "decompression bomb")
	var many []imagetest.Entry
	for i := range 100_000 {
		many = append(many, imagetest.File(fmt.Sprintf("many/%d", i), nil))
	}
	manyImage := image(many...)
	add("100k-empty-files", scan(manyImage), 0, "")
	add("100k-files-over-a-lower-limit", scan(manyImage, "--max-layer-files", "50000"), 2, "more than 50000 entries")
	deep := "d"
	for range 10_000 {
		deep += "/d"
	}
	add("10k-deep-directories", scan(image(imagetest.File(deep+"/f", []byte("x")))), 0, "")
	add("symlink-loop", scan(image(imagetest.Symlink("etc/os-release", "../loop/a"), imagetest.Symlink("loop/a", "b"), imagetest.Symlink("loop/b", "a"))), 0, "")
	// A chain of links whose targets are a megabyte of "d/.." each (a tar header holds no more): few hops, millions of
	// path components; the resolution's budget in steps ends it (the scan is incomplete).
	stepper := []imagetest.Entry{imagetest.Dir("d"), imagetest.Symlink("etc/os-release", "/l0"), imagetest.Symlink("usr/lib/os-release", "/l0")}
	for i := range 40 {
		stepper = append(stepper, imagetest.Symlink(fmt.Sprintf("l%d", i), strings.Repeat("d/../", 200_000)+fmt.Sprintf("l%d", i+1)))
	}
	add("symlinks-chained-through-1MB-targets", scan(image(stepper...)), 3, "did not analyse everything")
	cases[len(cases)-1].Detail = "path components walked resolving symlinks"
	cases[len(cases)-1].MaxHeap = BoundHeap
	add("symlink-escape-absolute", scan(image(imagetest.Symlink("etc/os-release", "/../../../../etc/os-release"))), 0, "")
	add("symlink-escape-relative", scan(image(imagetest.Dir("etc"), imagetest.Symlink("etc/os-release", "../../../../../../etc/os-release"))), 0, "")
	add("hardlink-outside", scan(image(imagetest.Entry{Path: "etc/passwd", Type: tar.TypeLink, Linkname: "../../etc/shadow"})), 2, "")
	add("dotdot-entry", scan(image(imagetest.File("../../evil", []byte("x")))), 2, "")
	add("invalid-utf8-names", scan(image(imagetest.File("app/"+badUTF8+"/package.json", []byte(`{"name":"`+badUTF8+`","version":"1.0.0"}`)))), 0, "")
	add("invalid-utf8-package-db", scan(image(imagetest.File("lib/apk/db/installed", []byte("P:"+badUTF8+"\nV:1-r0\n\n")), imagetest.File("etc/os-release", []byte("ID=alpine\nVERSION_ID=3.20.2\n")))), 0, "")
	add("binary-garbage-elf", scan(image(imagetest.Entry{Path: "bin/x", Mode: 0o755, Body: append([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1}, bytes.Repeat([]byte{0xff}, 4096)...)})), 0, "")
	add("truncated-layer", scan("oci-dir:"+truncatedLayout(t, filepath.Join(dir, "truncated"))), 2, "truncated")
	add("missing-blob", scan("oci-dir:"+missingBlob(t, filepath.Join(dir, "missing-blob"))), 2, "missing from the image")
	add("index-fan-out-3000x3000", scan("oci-dir:"+indexFanOut(t, filepath.Join(dir, "fan-out"))), 2, "more than 10000 manifests")
	add("10k-layers", scan("docker-archive:"+w("10k-layers.tar", manyLayers(t, 10_000))), 2, "over the limit of 1000")
	// The layer limit holds for every source, before the walk.
	add("oci-layout-10k-layers", scan("oci-dir:"+manyLayersLayout(t, filepath.Join(dir, "10k-layers-layout"), 10_000), "--timeout", "60s"), 2, "over the limit of 1000")
	cases[len(cases)-1].MaxHeap = BoundHeap
	forged, base := forgedDiffIDs(t)
	add("diff-ids-claim-the-base-layers", scan(forged, "--base-image", base, "--exclude-base"), 2, "not the diff ID")
	add("docker-save-of-two-images", scan(w("two-images.tar", twoImages(t))), 2, "holds 2 images")
	add("sparse-package-json-20x100MiB", scan("docker-archive:"+w("sparse.tar", oneLayerArchive(t, SparseTar(t, 20, 100<<20, "app/node_modules/p%d/package.json")))), 2, "add up to more than")
	add("config-9MiB", scan("docker-archive:"+w("big-config.tar", bigConfig(t))), 2, "over the limit")
	add("not-an-image", scan(w("random.tar", bytes.Repeat([]byte{0x5a, 0xa5, 0x00, 0xff}, 4096))), 2, "")
	add("empty-file", scan(w("empty.tar", nil)), 2, "")
	add("docker-archive-without-manifest", scan("docker-archive:"+w("nomanifest.tar", imagetest.TarBytes(t, imagetest.File("x", []byte("y"))))), 2, "")
	add("unknown-transport", scan("ftp://example/image"), 2, "")
	add("bad-platform", scan(good, "--platform", "linux/"+badUTF8+"/x/y"), 2, "platform")

	// Dockerfiles.
	add("dockerfile-50MB-one-line", lint(w("df/huge/Dockerfile", append([]byte("FROM alpine\nRUN echo "), bytes.Repeat([]byte("a"), 50<<20)...))), 2, "limit")
	add("dockerfile-nul", lint(w("df/nul/Dockerfile", []byte("FROM alpine\nRUN a\x00b\n"))), 2, "NUL")
	add("dockerfile-invalid-utf8", lint(w("df/utf8/Dockerfile", []byte("FROM alpine\nENV A="+badUTF8+"\n"))), 2, "UTF-8")
	add("dockerfile-10k-continuations", lint(w("df/cont/Dockerfile", []byte("FROM alpine\nRUN true"+strings.Repeat(" \\\n && true", 10_000)+"\n"))), 0, "")
	add("dockerfile-unterminated-heredoc", lint(w("df/heredoc/Dockerfile", []byte("FROM alpine\nRUN <<EOF\necho\n"))), 2, "unterminated heredoc")
	add("dockerfile-deep-substitutions", lint(w("df/deep/Dockerfile", []byte("FROM alpine\nRUN echo "+strings.Repeat("$( \\\n", 30_000)+"x"+strings.Repeat(") \\\n", 30_000)+"\n"))), 2, "nests")
	add("dockerfile-100k-operator-chain", lint(w("df/chain/Dockerfile", []byte("FROM alpine\nRUN "+strings.Repeat("true | \\\n", 100_000)+"true\n"))), 2, "chains")
	add("dockerfile-no-from", lint(w("df/nofrom/Dockerfile", []byte("RUN echo\n"))), 2, "")
	var runs bytes.Buffer
	runs.WriteString("FROM alpine\n")
	for i := range 1_000_000 {
		fmt.Fprintf(&runs, "RUN echo %d\n", i)
	}
	add("dockerfile-1M-RUN-lines", lint(w("df/runs/Dockerfile", runs.Bytes())), 2, "instruction lines, over the limit")
	cases[len(cases)-1].MaxHeap = BoundHeap
	runs.Reset()
	runs.WriteString("FROM alpine\n")
	for i := range 49_000 {
		fmt.Fprintf(&runs, "RUN echo %d\n", i)
	}
	add("dockerfile-49k-RUN-lines", lint(w("df/runs-49k/Dockerfile", runs.Bytes())), 0, "")
	cases[len(cases)-1].MaxHeap = BoundHeap
	// At the size cap: one RUN continued over 16 MiB of lines.
	add("dockerfile-16MiB-one-RUN", lint(w("df/cap/Dockerfile", []byte("FROM alpine\nRUN true"+strings.Repeat(" \\\n  "+strings.Repeat("a", 88), (16<<20-64)/95)+"\n"))), 0, "")
	cases[len(cases)-1].MaxHeap = BoundHeap

	// A vulnerable npm package padded so that its name and version are past what is read
	// of an oversized package.json: the scan is incomplete, never a silent pass.
	padded := image(imagetest.File("etc/os-release", []byte("ID=alpine\nVERSION_ID=3.20.2\n")),
		imagetest.File("app/node_modules/minimist/package.json", []byte(`{"description": "`+strings.Repeat("x", 2<<20)+`", "name": "minimist", "version": "1.2.5"}`)))
	add("package-json-padded-past-the-limit", scan(padded, "--max-file-size", "1048576"), 3, "did not analyse everything")

	// Package files past osv-scalibr's own 100 MiB cap and under imagegate's: given our
	// limit, the extractors read them, and the vulnerable package gates (exit 1); past our
	// limit they are "not analysed" (exit 3). Never a silent pass.
	pypi := filepath.Join(filepath.Dir(db), "osv-pypi")
	for _, pc := range paddedPackageFiles() {
		vuln := []string{"--db", pc.db(db, pypi), "--scanners", "vuln", "--fail-on-issues=true"}
		add(pc.name+"-101MiB-past-scalibr-cap", append(scan(image(pc.entries(101<<20)...)), vuln...), 1, "")
		add(pc.name+"-2MiB-past-ours", append(scan(image(pc.entries(2<<20)...)), append(vuln, "--max-file-size", "1048576")...), 3, "did not analyse everything")
		cases[len(cases)-1].Detail = "over the 1048576-byte limit"
	}

	// Vulnerability data.
	// An <Ecosystem>/all.zip is indexed when a scan first needs that ecosystem: the bad
	// zips are met by an image with npm packages.
	withNpm := image(imagetest.File("etc/os-release", []byte("ID=alpine\nVERSION_ID=3.20.2\n")), imagetest.File("app/node_modules/minimist/package.json", []byte(`{"name": "minimist", "version": "1.2.5"}`)))
	add("osv-zip-bomb", []string{"scan", withNpm, "--db", osvZipBomb(t, filepath.Join(dir, "osv-bomb"))}, 2, "no OSV records")
	add("osv-corrupt-zip", []string{"scan", withNpm, "--db", filepath.Dir(w("osv-corrupt/npm/all.zip", bytes.Repeat([]byte("PK"), 100)))}, 2, "not a valid zip")
	add("db-missing", []string{"scan", good, "--db", filepath.Join(dir, "no-such-db")}, 3, "no vulnerability database")
	// A record naming 1,000 packages is stored once (copied per package it was 2 GB): the
	// scan runs, in bounded memory, and finds the image's own problems (exit 1).
	add("osv-record-repeated-for-1000-packages", []string{"scan", withNpm, "--db", repeatedRecordZip(t, filepath.Join(dir, "osv-repeat"))}, 1, "")
	add("db-truncated-mid-page", []string{"scan", withNpm, "--db", truncatedStore(t, filepath.Join(dir, "db-truncated"), db)}, 3, "is corrupt")
	add("db-corrupt", []string{"scan", good, "--db", filepath.Dir(w("db-corrupt/npm.db", bytes.Repeat([]byte{0xde, 0xad}, 8192)))}, 3, "")

	// Settings, VEX and SBOMs.
	add("config-alias-bomb", append(scan(good), "--config", w("cfg/bomb.yaml", []byte(yamlBomb()))), 2, "config")
	add("config-glob-120-double-stars", append(scan(good), "--config", w("cfg/glob.yaml", []byte("ignore:\n  - id: CVE-2021-44906\n    reason: r\n    path: \""+strings.Repeat("**/", 120)+"x\"\n"))), 2, "over the limit of 4")
	add("config-invalid-utf8", append(scan(good), "--config", w("cfg/utf8.yaml", []byte("ignore:\n  - id: "+badUTF8+"\n"))), 2, "config")
	add("vex-invalid-utf8", append(scan(good), "--vex", w("vex/utf8.json", []byte(`{"@context": "`+badUTF8+`"}`))), 2, "vex")
	add("sbom-70MiB", []string{"scan", "--sbom", w("sbom/huge.json", append([]byte(`{"bomFormat": "CycloneDX", "x": "`), bytes.Repeat([]byte("x"), 70<<20)...)), "--db", db}, 2, "larger than")
	add("dpkg-200k-stanzas", scan(image(imagetest.File("etc/os-release", []byte("ID=debian\nVERSION_ID=12\n")), imagetest.File("var/lib/dpkg/status", []byte(strings.Repeat("Package: a\nStatus: install ok installed\nVersion: 1\n\n", 200_001))))), 3, "did not analyse everything")
	cases[len(cases)-1].Detail = "package entries, over the limit of 200000"
	var whl bytes.Buffer
	wz := zip.NewWriter(&whl)
	for i := range 10 {
		mw, _ := wz.Create(fmt.Sprintf("pkg%d-1.0.dist-info/METADATA", i))
		mw.Write(make([]byte, 95<<20))
	}
	wz.Close()
	add("wheel-ten-95MiB-METADATA", scan(image(imagetest.File("etc/os-release", []byte("ID=debian\nVERSION_ID=12\n")), imagetest.File("opt/wheels/pkg-1.0-py3-none-any.whl", whl.Bytes())), "--scanners", "vuln"), 3, "did not analyse everything")
	cases[len(cases)-1].Detail = "uncompressed, over the limit of 16777216"
	// SBOMs at the size cap are streamed: 130,000 described components scan in bounded
	// memory (one of them vulnerable: exit 1); two million bare purls are over the
	// component limit.
	add("sbom-60MiB-130k-components", []string{"scan", "--sbom", w("sbom/big.json", bigSBOM(130_000, 400)), "--db", db}, 1, "")
	cases[len(cases)-1].MaxHeap = BoundHeap
	add("sbom-2M-bare-components", []string{"scan", "--sbom", w("sbom/bare.json", bigSBOM(2_000_000, 0)), "--db", db}, 2, "components, over the limit")
	cases[len(cases)-1].MaxHeap = BoundHeap
	// A VEX document near its cap is read a statement at a time and matched through an
	// index of ids: its last statement settles the image's one finding (exit 0).
	add("vex-30MB-100k-statements", append(scan(withNpm, "--scanners", "vuln", "--fail-on-issues=true"), "--vex", w("vex/big.json", bigVEX(100_000))), 0, "")
	cases[len(cases)-1].MaxHeap = BoundHeap
	add("sbom-not-cyclonedx", []string{"scan", "--sbom", w("sbom/spdx.json", []byte(`{"spdxVersion": "SPDX-2.3"}`)), "--db", db}, 2, "bomFormat")
	add("sbom-truncated", []string{"scan", "--sbom", w("sbom/trunc.json", []byte(`{"bomFormat": "CycloneDX", "components": [{"purl": "pkg:npm/a@1"`)), "--db", db}, 2, "not CycloneDX")
	// A report path that is a link planted where the report goes is refused (the file it
	// points at is left as it was); /dev/stdout, a link to the process's output, works.
	victim := w("links/victim", []byte("precious"))
	if err := os.Symlink(victim, filepath.Join(dir, "links", "report.json")); err != nil {
		t.Fatal(err)
	}
	add("output-through-a-planted-link", append(scan(good), "-o", "json="+filepath.Join(dir, "links", "report.json")), 2, "symbolic link")
	add("output-to-dev-stdout", append(scan(good), "-o", "json=/dev/stdout"), 0, "")
	add("unknown-subcommand-of-db", []string{"db", "frobnicate"}, 2, `unknown command "frobnicate"`)
	add("unknown-subcommand-of-registry", []string{"registry", "frobnicate"}, 2, `unknown command "frobnicate"`)
	add("bad-flag", []string{"scan", good, "--no-such-flag"}, 2, "unknown flag")
	cases = append(cases, specialFiles(t, dir, db, good)...)
	return cases
}

// paddedPackageFile is a package file of a vulnerable package (with data in the corpus's
// databases), padded to a size.
type paddedPackageFile struct {
	name    string
	entries func(size int) []imagetest.Entry
	db      func(osv, pypi string) string
}

func paddedPackageFiles() []paddedPackageFile {
	alpine := imagetest.File("etc/os-release", []byte("ID=alpine\nVERSION_ID=3.20.2\n"))
	debian := imagetest.File("etc/os-release", []byte("ID=debian\nVERSION_ID=11\nVERSION_CODENAME=bullseye\n"))
	osv := func(osv, _ string) string { return osv }
	return []paddedPackageFile{
		{"npm-package-json", func(size int) []imagetest.Entry {
			// The name and version after the padding: not in what is read of a package.json
			// past the walk's bound.
			head, tail := `{"description": "`, `", "name": "minimist", "version": "1.2.5"}`
			return []imagetest.Entry{alpine, imagetest.File("app/node_modules/minimist/package.json", []byte(head+strings.Repeat("x", size-len(head)-len(tail))+tail))}
		}, osv},
		// Padded with packages that are not installed (dpkg keeps their config files).
		{"dpkg-status", func(size int) []imagetest.Entry {
			var b strings.Builder
			b.WriteString("Package: gzip\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.10-4\n\n")
			stanza := "Package: pad\nStatus: deinstall ok config-files\nVersion: 1\nDescription: " + strings.Repeat("p", 4000) + "\n\n"
			for b.Len() < size {
				b.WriteString(stanza)
			}
			return []imagetest.Entry{debian, imagetest.File("var/lib/dpkg/status", []byte(b.String()))}
		}, osv},
		// The description is the METADATA's body, after its headers.
		{"python-metadata", func(size int) []imagetest.Entry {
			head := "Metadata-Version: 2.1\nName: Jinja2\nVersion: 2.10\n\n"
			body := strings.Repeat(strings.Repeat("d", 79)+"\n", (size-len(head))/80+1)
			return []imagetest.Entry{debian, imagetest.File("usr/lib/python3/dist-packages/Jinja2-2.10.dist-info/METADATA", []byte(head+body))}
		}, func(_, pypi string) string { return pypi }},
	}
}

// bigSBOM is a CycloneDX SBOM of n npm components, each with a description of pad bytes;
// the first is minimist 1.2.5 (vulnerable), the others have no advisories.
func bigSBOM(n, pad int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"bomFormat": "CycloneDX", "specVersion": "1.6", "metadata": {"component": {"type": "container", "name": "big"}}, "components": [`)
	desc := strings.Repeat("d", pad)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		purl := fmt.Sprintf("pkg:npm/pad-%d@1.0.0", i)
		if i == 0 {
			purl = "pkg:npm/minimist@1.2.5"
		}
		if pad > 0 {
			fmt.Fprintf(&b, `{"type": "library", "name": "p%d", "description": "%s", "purl": "%s"}`, i, desc, purl)
		} else {
			fmt.Fprintf(&b, `{"purl": "%s"}`, purl)
		}
	}
	b.WriteString("]}")
	return b.Bytes()
}

// bigVEX is an OpenVEX document of n statements about other vulnerabilities, then one
// that says minimist 1.2.5 is not affected by CVE-2021-44906.
func bigVEX(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/big", "author": "hostile", "timestamp": "2026-01-01T00:00:00Z", "version": 1, "statements": [`)
	st := func(vuln, product, note string) {
		fmt.Fprintf(&b, `{"vulnerability": {"name": %q}, "products": [{"@id": %q}], "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path", "impact_statement": %q},`, vuln, product, note)
	}
	pad := strings.Repeat("i", 120)
	for i := range n {
		st(fmt.Sprintf("CVE-2099-%d", i), fmt.Sprintf("pkg:npm/pad-%d@1.0.0", i), pad)
	}
	st("CVE-2021-44906", "pkg:npm/minimist@1.2.5", "flags parsed are our own")
	b.Truncate(b.Len() - 1)
	b.WriteString("]}")
	return b.Bytes()
}

func yamlBomb() string {
	var b strings.Builder
	b.WriteString("a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n")
	prev := "a"
	for i := range 12 {
		name := fmt.Sprintf("b%d", i)
		fmt.Fprintf(&b, "%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", name, name, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = name
	}
	return b.String()
}

// gzipBomb writes an OCI layout whose one layer is GzipBomb("zeros", size). The layout is
// written by hand: computing the diff ID would inflate the bomb.
func gzipBomb(t testing.TB, dir string, size int64) string {
	t.Helper()
	return writeLayout(t, dir, GzipBomb(t, "zeros", size), "application/vnd.oci.image.layer.v1.tar+gzip")
}

// GzipBomb is a small gzip stream that inflates to a tar of one file of size zeros: the
// tar header, then gzip members of 1 MiB of zeros each (about a thousandfold).
func GzipBomb(t testing.TB, name string, size int64) []byte {
	t.Helper()
	var blob bytes.Buffer
	var hdr bytes.Buffer
	tw := tar.NewWriter(&hdr)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(&blob, gzip.BestCompression)
	zw.Write(hdr.Bytes())
	zw.Close()
	var one bytes.Buffer
	zw, _ = gzip.NewWriterLevel(&one, gzip.BestCompression)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	for range size >> 20 {
		blob.Write(one.Bytes())
	}
	return blob.Bytes()
}

func digest(t testing.TB, b []byte) v1.Hash {
	h, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// manyLayersLayout is an OCI layout of one image whose manifest lists the same small layer
// n times.
func manyLayersLayout(t testing.TB, dir string, n int) string {
	t.Helper()
	layer := imagetest.TarBytes(t, imagetest.File("a", []byte("a")))
	d := putBlob(t, dir, layer)
	diffIDs := make([]string, n)
	layers := make([]map[string]any, n)
	for i := range n {
		diffIDs[i] = d.String()
		layers[i] = map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d.String(), "size": len(layer)}
	}
	cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux", "rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}})
	return layout(t, dir, cfg, layers)
}

// writeLayout writes an OCI layout of one image with one layer blob. The diff ID in the
// config is the blob's own digest: the walker takes diff IDs from the config.
func writeLayout(t testing.TB, dir string, layer []byte, mediaType string) string {
	t.Helper()
	ld := putBlob(t, dir, layer)
	cfg, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"rootfs":  map[string]any{"type": "layers", "diff_ids": []string{ld.String()}},
		"history": []map[string]any{{"created_by": "hostile"}},
	})
	return layout(t, dir, cfg, []map[string]any{{"mediaType": mediaType, "digest": ld.String(), "size": len(layer)}})
}

// putBlob writes b into the layout's blobs and returns its digest.
func putBlob(t testing.TB, dir string, b []byte) v1.Hash {
	t.Helper()
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		t.Fatal(err)
	}
	d := digest(t, b)
	if err := os.WriteFile(filepath.Join(blobs, d.Hex), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

// layout finishes an OCI layout of one image: its config, a manifest listing layers (whose
// blobs are there), the index and the layout marker.
func layout(t testing.TB, dir string, cfg []byte, layers []map[string]any) string {
	t.Helper()
	cd := putBlob(t, dir, cfg)
	man, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.String(), "size": len(cfg)},
		"layers": layers,
	})
	md := putBlob(t, dir, man)
	idx, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
		"manifests": []map[string]any{{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md.String(), "size": len(man)}},
	})
	if err := os.WriteFile(filepath.Join(dir, "index.json"), idx, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion": "1.0.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// truncatedLayout is a layout whose gzip layer stops in the middle of a file.
func truncatedLayout(t testing.TB, dir string) string {
	full := imagetest.TarBytes(t, imagetest.File("big", bytes.Repeat([]byte("x"), 1<<16)))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(full[:len(full)/2])
	zw.Close()
	return writeLayout(t, dir, gz.Bytes(), "application/vnd.oci.image.layer.v1.tar+gzip")
}

// missingBlob is a layout whose manifest names a layer blob that is not there.
func missingBlob(t testing.TB, dir string) string {
	layer := imagetest.TarBytes(t, imagetest.File("a", []byte("a")))
	writeLayout(t, dir, layer, "application/vnd.oci.image.layer.v1.tar")
	if err := os.Remove(filepath.Join(dir, "blobs", "sha256", digest(t, layer).Hex)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// osvZipBomb is a folder of OSV exports whose npm zip holds one record that inflates to
// 64 MiB, eight times the record limit, from 64 KiB.
func osvZipBomb(t testing.TB, dir string) string {
	t.Helper()
	chunk := bytes.Repeat([]byte(" "), 1<<20)
	return npmExport(t, dir, "GHSA-bomb.json", zip.Deflate, func(w io.Writer) {
		for range 64 {
			w.Write(chunk)
		}
	})
}

// npmExport writes dir/npm/all.zip holding one member written by fill, and returns dir.
func npmExport(t testing.TB, dir, member string, method uint16, fill func(io.Writer)) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "npm"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "npm", "all.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: member, Method: method})
	if err != nil {
		t.Fatal(err)
	}
	fill(w)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// indexFanOut is a layout whose index lists one nested index 3,000 times, and that index
// lists the image 3,000 times: 9 million manifests from a few hundred kilobytes.
func indexFanOut(t testing.TB, dir string) string {
	t.Helper()
	writeLayout(t, dir, imagetest.TarBytes(t, imagetest.File("a", []byte("a"))), "application/vnd.oci.image.layer.v1.tar")
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var top struct {
		Manifests []map[string]any `json:"manifests"`
	}
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	image := top.Manifests[0]
	image["platform"] = map[string]any{"os": "linux", "architecture": "arm64"}
	fan := func(entry map[string]any) []byte {
		list := make([]map[string]any, 3000)
		for i := range list {
			list[i] = entry
		}
		out, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": list})
		return out
	}
	child := fan(image)
	cd := digest(t, child)
	if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", cd.Hex), child, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), fan(map[string]any{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": cd.String(), "size": len(child)}), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// manyLayers is a docker save archive whose manifest lists n layers (the same small tar n
// times): read layer by layer, go-containerregistry's tarball takes minutes over it.
func manyLayers(t testing.TB, n int) []byte {
	t.Helper()
	layer := imagetest.TarBytes(t, imagetest.File("a", []byte("a")))
	d := digest(t, layer)
	diffIDs := make([]string, n)
	paths := make([]string, n)
	for i := range n {
		diffIDs[i], paths[i] = d.String(), "layer.tar"
	}
	cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux", "rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}})
	man, _ := json.Marshal([]map[string]any{{"Config": "config.json", "RepoTags": []string{"layers:1"}, "Layers": paths}})
	return imagetest.TarBytes(t, imagetest.File("manifest.json", man), imagetest.File("config.json", cfg), imagetest.File("layer.tar", layer))
}

// repeatedRecordZip is a folder of OSV exports whose npm record repeats a 2 MiB summary
// for 1,000 packages: indexed per package, 2 GiB.
func repeatedRecordZip(t testing.TB, dir string) string {
	t.Helper()
	var affected []map[string]any
	for i := range 1000 {
		affected = append(affected, map[string]any{
			"package": map[string]any{"ecosystem": "npm", "name": fmt.Sprintf("pkg-%d", i)},
			"ranges":  []map[string]any{{"type": "SEMVER", "events": []map[string]any{{"introduced": "0"}}}},
		})
	}
	rec, _ := json.Marshal(map[string]any{"id": "GHSA-repeat", "modified": "2024-01-01T00:00:00Z", "summary": strings.Repeat("s", 2<<20), "affected": affected})
	// Stored, not compressed: the zip is as large as its record, so only the per-package
	// copies would be out of proportion.
	return npmExport(t, dir, "GHSA-repeat.json", zip.Store, func(w io.Writer) { w.Write(rec) })
}

// truncatedStore is a store built from the npm export in osv, its index then cut short in
// the middle of a page.
func truncatedStore(t testing.TB, dir, osv string) string {
	t.Helper()
	if _, err := vulndb.Import(context.Background(), dir, filepath.Join(osv, "npm", "all.zip")); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "npm.db")
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, st.Size()-1000); err != nil {
		t.Fatal(err)
	}
	return dir
}

// SparseTar is a tar of n PAX (GNU 1.0) sparse files (named by pattern and their index)
// of realSize bytes each that store one
// byte apiece: a tar reader expands the holes to zeros. archive/tar does not write sparse
// files, so each extended header is made by hand.
func SparseTar(t testing.TB, n int, realSize int64, pattern string) []byte {
	t.Helper()
	record := func(k, v string) string {
		s := " " + k + "=" + v + "\n"
		size := len(s)
		for l := 0; l != size; {
			l, size = size, len(strconv.Itoa(size))+len(s)
		}
		return strconv.Itoa(size) + s
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := range n {
		name := fmt.Sprintf(pattern, i)
		pax := record("GNU.sparse.major", "1") + record("GNU.sparse.minor", "0") + record("GNU.sparse.name", name) + record("GNU.sparse.realsize", fmt.Sprint(realSize))
		start := buf.Len()
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "PaxHeaders/x", Mode: 0o644, Size: int64(len(pax)), Format: tar.FormatUSTAR}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(pax))
		tw.Flush()
		h := buf.Bytes()[start : start+512]
		h[156] = tar.TypeXHeader
		copy(h[148:156], "        ")
		sum := 0
		for _, c := range h {
			sum += int(c)
		}
		copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
		block := make([]byte, 512)
		copy(block, fmt.Sprintf("1\n%d\n1\n", realSize-1))
		body := append(block, 'x')
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "GNUSparseFile.0/" + name, Mode: 0o644, Size: int64(len(body)), Format: tar.FormatUSTAR}); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
		tw.Flush()
	}
	buf.Write(make([]byte, 1024))
	return buf.Bytes()
}

// oneLayerArchive is a docker save archive of one image made of layer (a tar), its config
// naming the layer's real diff ID.
func oneLayerArchive(t testing.TB, layer []byte) []byte {
	t.Helper()
	d := digest(t, layer)
	cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux", "rootfs": map[string]any{"type": "layers", "diff_ids": []string{d.String()}}})
	man, _ := json.Marshal([]map[string]any{{"Config": "config.json", "RepoTags": []string{"hostile:1"}, "Layers": []string{"layer.tar"}}})
	return imagetest.TarBytes(t, imagetest.File("manifest.json", man), imagetest.File("config.json", cfg), imagetest.File("layer.tar", layer))
}

// bigConfig is a docker save archive whose image config is 9 MiB.
func bigConfig(t testing.TB) []byte {
	t.Helper()
	layer := imagetest.TarBytes(t, imagetest.File("a", []byte("a")))
	d := digest(t, layer)
	cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux", "rootfs": map[string]any{"type": "layers", "diff_ids": []string{d.String()}},
		"config": map[string]any{"Env": []string{"PAD=" + strings.Repeat("x", 9<<20)}}})
	man, _ := json.Marshal([]map[string]any{{"Config": "config.json", "RepoTags": []string{"hostile:1"}, "Layers": []string{"layer.tar"}}})
	return imagetest.TarBytes(t, imagetest.File("manifest.json", man), imagetest.File("config.json", cfg), imagetest.File("layer.tar", layer))
}

// forgedDiffIDs is an image whose config claims the diff ID of its base image's layer for
// a layer that holds a vulnerable package, and that base image: scanned with the base, the
// layer would count as the base's, and --exclude-base would drop its findings.
func forgedDiffIDs(t testing.TB) (img, base string) {
	t.Helper()
	baseImg := imagetest.Image(t, "linux/amd64",
		imagetest.Step{CreatedBy: "ADD base /", Layer: imagetest.Layer(t, imagetest.File("etc/os-release", []byte("ID=alpine\nVERSION_ID=3.20.2\n")))},
	)
	app := imagetest.Image(t, "linux/amd64",
		imagetest.Step{CreatedBy: "ADD base /", Layer: imagetest.Layer(t, imagetest.File("app/node_modules/minimist/package.json", []byte(`{"name":"minimist","version":"1.2.5"}`)))},
		imagetest.Step{CreatedBy: "COPY app /", Layer: imagetest.Layer(t, imagetest.File("app/index.js", []byte("1")))},
	)
	bcf, err := baseImg.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	forged, err := imagebuild.EditConfig(app, func(cf *v1.ConfigFile) { cf.RootFS.DiffIDs[0] = bcf.RootFS.DiffIDs[0] })
	if err != nil {
		t.Fatal(err)
	}
	return "oci-dir:" + imagetest.OCIDir(t, forged, nil), "oci-dir:" + imagetest.OCIDir(t, baseImg, nil)
}

// twoImages is a docker save archive of two tagged images.
func twoImages(t testing.TB) []byte {
	t.Helper()
	a := imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("etc/os-release", []byte("ID=base\n")))})
	b := imagetest.Image(t, "linux/amd64", imagetest.Step{Layer: imagetest.Layer(t, imagetest.File("etc/os-release", []byte("ID=app\n")))})
	ta, _ := name.NewTag("example.com/base:1")
	tb, _ := name.NewTag("app:latest")
	var buf bytes.Buffer
	if err := tarball.MultiRefWrite(map[name.Reference]v1.Image{ta: a, tb: b}, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
