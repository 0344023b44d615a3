package output

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/reporters/markdown"
	"github.com/imagegate/imagegate/reporters/sarif"
	"github.com/imagegate/imagegate/reporters/table"
	"github.com/imagegate/imagegate/reporters/visible"
)

// A scan of several images reports them together where the format can (table and
// Markdown a section per image and the combined verdict; SARIF a run per image, each under
// its own category) and as one document per image where it cannot (JSON, JUnit,
// CycloneDX: files named per image by ImagePath, documents one after the other on stdout).

// PerImage says whether format f writes one document per image.
func PerImage(f string) bool {
	for _, x := range formats {
		if x.name == f {
			return x.several == nil
		}
	}
	return false
}

// RenderAll writes the results of one or more images in format f.
func RenderAll(w io.Writer, f string, rs []*report.Result, o Options) error {
	if len(rs) == 1 {
		return Render(w, f, rs[0], o)
	}
	for _, x := range formats {
		if x.name == f && x.several != nil {
			return x.several(w, rs, o)
		}
	}
	for _, r := range rs {
		if err := Render(w, f, r, o); err != nil {
			return err
		}
	}
	return CheckFormat(f)
}

// WriteAll writes spec for the results of images (the arguments, in order): one file, or
// for a per-image format and several images one file per image (ImagePath).
func WriteAll(sp Spec, images []string, rs []*report.Result, o Options) error {
	if len(rs) > 1 && PerImage(sp.Format) && !isStream(sp.Path) {
		for i, r := range rs {
			if err := WriteFile(ImagePath(sp.Path, images, i), func(w io.Writer) error { return Render(w, sp.Format, r, o) }); err != nil {
				return err
			}
		}
		return nil
	}
	return WriteFile(sp.Path, func(w io.Writer) error { return RenderAll(w, sp.Format, rs, o) })
}

// Paths are the files WriteAll writes for spec, to check before any work.
func Paths(sp Spec, images []string) []string {
	if len(images) < 2 || !PerImage(sp.Format) || isStream(sp.Path) {
		return []string{sp.Path}
	}
	out := make([]string, len(images))
	for i := range images {
		out[i] = ImagePath(sp.Path, images, i)
	}
	return out
}

// isStream says whether path is a device or a pipe (/dev/stdout, a FIFO): one
// destination, the documents one after the other, never files named beside it.
func isStream(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.Mode().IsRegular() && !st.IsDir()
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Slugs are the images' names as file names take them: the last path element of each
// argument without its digest ("ghcr.io/org/api:1.2" → "api-1.2"), numbered where two
// would be the same.
func Slugs(images []string) []string {
	out := make([]string, len(images))
	seen := map[string]int{}
	for i, img := range images {
		base := img[strings.LastIndex(img, "/")+1:]
		if at := strings.Index(base, "@sha256:"); at > 0 {
			base = base[:at]
		}
		s := strings.Trim(unsafeName.ReplaceAllString(base, "-"), "-.")
		if s == "" {
			s = "image"
		}
		out[i] = s
		seen[s]++
	}
	for i, s := range out {
		if seen[s] > 1 {
			out[i] = s + "-" + strconv.Itoa(i+1)
		}
	}
	return out
}

// ImagePath is path with image i's slug before its extensions: imagegate.json →
// imagegate-api-ci.json, sbom.cdx.json → sbom-api-ci.cdx.json.
func ImagePath(path string, images []string, i int) string {
	dir, base := filepath.Split(path)
	stem, ext := base, ""
	if dot := strings.Index(base[min(1, len(base)):], "."); dot >= 0 {
		stem, ext = base[:dot+1], base[dot+1:]
	}
	return dir + stem + "-" + Slugs(images)[i] + ext
}

// Overall is the outcome of several images: incomplete when any scan is (the gate fails
// closed), else failed when any image fails, else passed.
func Overall(rs []*report.Result) report.Outcome {
	out := report.Passed
	for _, r := range rs {
		out = max(out, r.Verdict.Outcome())
	}
	return out
}

// overallLine says what the gate decided over all the images.
func overallLine(rs []*report.Result) string {
	var failed []string
	for _, r := range rs {
		if r.Verdict.Outcome() != report.Passed {
			failed = append(failed, name(r))
		}
	}
	switch Overall(rs) {
	case report.FailedIncomplete:
		return fmt.Sprintf("imagegate: %d images, %d failing the gate (%s): a scan is incomplete, the gate fails closed", len(rs), len(failed), strings.Join(failed, ", "))
	case report.FailedOnFindings:
		return fmt.Sprintf("imagegate: %d images, %d failing the gate (%s)", len(rs), len(failed), strings.Join(failed, ", "))
	}
	return fmt.Sprintf("imagegate: %d images, all pass the gate", len(rs))
}

func name(r *report.Result) string {
	if r.Image == nil {
		return "?"
	}
	return r.Image.Label()
}

func severalTables(w io.Writer, rs []*report.Result, o Options) error {
	for i, r := range rs {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"+strings.Repeat("─", 72)+"\n\n"); err != nil {
				return err
			}
		}
		if err := table.Write(w, r, table.Options{Color: o.Color, Packages: o.Packages}); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "\n"+visible.String(overallLine(rs))+"\n")
	return err
}

func severalMarkdown(w io.Writer, rs []*report.Result, _ Options) error {
	verdict := "✅ PASS"
	if Overall(rs) != report.Passed {
		verdict = "❌ FAIL"
	}
	if _, err := fmt.Fprintf(w, "# imagegate: %s\n\n%s\n\n", verdict, markdown.Text(overallLine(rs))); err != nil {
		return err
	}
	for _, r := range rs {
		if err := markdown.Write(w, r, markdown.Options{MaxSize: markdown.MaxSize / len(rs)}); err != nil {
			return err
		}
		if _, err := io.WriteString(w, "\n"); err != nil {
			return err
		}
	}
	return nil
}

func severalSARIF(w io.Writer, rs []*report.Result, o Options) error {
	runs := make([]sarif.Run, len(rs))
	cats := make([]string, len(rs))
	count := map[string]int{}
	for i, r := range rs {
		cats[i] = sarif.DefaultCategory(r)
		if o.SARIFCategory != "" {
			cats[i] = o.SARIFCategory + "/" + strings.TrimPrefix(cats[i], "imagegate/image/")
		}
		count[cats[i]]++
	}
	seen := map[string]int{}
	for i, r := range rs {
		c := cats[i]
		if count[c] > 1 && r.Image != nil && r.Image.Platform != "" {
			c += "/" + strings.ReplaceAll(r.Image.Platform, "/", "-") // the platforms of one index
		}
		seen[c]++
		if seen[c] > 1 {
			c += "-" + strconv.Itoa(seen[c])
		}
		runs[i] = sarif.Run{Result: r, Options: sarif.Options{Category: c}}
	}
	return sarif.WriteRuns(w, runs)
}
