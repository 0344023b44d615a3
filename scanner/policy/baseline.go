package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/report"
	"github.com/imagegate/imagegate/scanner/jsonstream"
	"github.com/imagegate/imagegate/scanner/userfile"
)

// Baseline is an earlier report a scan is compared with (--baseline): its findings'
// fingerprints, which name a finding by what it is (id, package and where in the image, the
// Dockerfile instruction, the secret) and not by layer digests or line numbers, so they
// survive a rebuild of the same content.
type Baseline struct {
	Source string
	// Image and Platform name the image the report is of.
	Image, Platform string
	// Known maps each earlier finding's fingerprint to its id.
	Known map[string]string
}

// MaxBaselineSize bounds a baseline report; MaxBaselineFindings its findings.
const (
	MaxBaselineSize     = 256 << 20
	MaxBaselineFindings = 1_000_000
)

// LoadBaseline reads an imagegate JSON report (imagegate scan -f json), a finding at a time.
// A file that is not one, or that holds a finding without a fingerprint, is refused: a
// baseline that silently knew nothing would gate on everything, and one that knew
// everything would gate on nothing.
func LoadBaseline(path string) (*Baseline, error) {
	f, st, err := userfile.Open(path, "baseline report")
	if err != nil {
		return nil, failure.WithSetting(err, "baseline")
	}
	defer f.Close()
	if st.Size() > MaxBaselineSize {
		return nil, failure.WithSetting(failure.Inputf("baseline report %s: larger than %d MiB", path, MaxBaselineSize>>20), "baseline")
	}
	b := &Baseline{Source: path, Known: map[string]string{}}
	sawFindings := false
	dec := json.NewDecoder(io.LimitReader(f, MaxBaselineSize))
	schema := ""
	err = jsonstream.Object(dec, func(dec *json.Decoder, key string) error {
		switch key {
		case "schemaVersion":
			return dec.Decode(&schema)
		case "findings":
		case "image":
			var img struct {
				Name     string `json:"name"`
				Platform string `json:"platform"`
			}
			err := dec.Decode(&img)
			b.Image, b.Platform = img.Name, img.Platform
			return err
		default:
			var skip json.RawMessage
			return dec.Decode(&skip)
		}
		sawFindings = true
		return jsonstream.Array(dec, func(dec *json.Decoder) error {
			var fd struct {
				ID          string `json:"id"`
				Fingerprint string `json:"fingerprint"`
			}
			if err := dec.Decode(&fd); err != nil {
				return err
			}
			if fd.Fingerprint == "" {
				return errors.New("a finding without a fingerprint")
			}
			if len(b.Known) >= MaxBaselineFindings {
				return fmt.Errorf("more than %d findings", MaxBaselineFindings)
			}
			b.Known[fd.Fingerprint] = fd.ID
			return nil
		})
	})
	switch {
	case err != nil:
	case !strings.HasPrefix(schema, "1."):
		err = fmt.Errorf("schemaVersion %q, want 1.x", schema)
	case !sawFindings:
		err = errors.New("no findings list")
	}
	if err != nil {
		return nil, failure.WithSetting(failure.Inputf("baseline report %s: not an imagegate JSON report (%v)", path, err), "baseline")
	}
	return b, nil
}

// mark says whether f is new or already in the baseline, and counts it.
func (b *Baseline) mark(f *report.Finding, v *report.BaselineVerdict) {
	if _, known := b.Known[f.Fingerprint]; known {
		f.Baseline = report.BaselineUnchanged
		v.Unchanged++
		return
	}
	f.Baseline = report.BaselineNew
	v.New++
}

// gone counts the baseline's findings not among those seen now (fixed, or gone with
// what held them), and names the first 100 of their ids.
func (b *Baseline) gone(seen map[string]bool) (fixed int, ids []string) {
	for fp, id := range b.Known {
		if !seen[fp] {
			fixed++
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	ids = slices.Compact(ids)
	if len(ids) > 100 {
		ids = ids[:100]
	}
	return fixed, ids
}

// baseline is the baseline of the image this policy decides on, and a warning when a scan
// of several images (or platforms) has none for it.
func (p Policy) baseline() (*Baseline, string) {
	if len(p.Baselines) == 0 {
		return nil, ""
	}
	if !p.PerImage && len(p.Baselines) == 1 {
		return p.Baselines[0], ""
	}
	name := ""
	if len(p.ImageIDs) > 0 {
		name = p.ImageIDs[0]
	}
	for _, b := range p.Baselines {
		// The same image, and the same platform when both say (--platform all scans one
		// image for several).
		if b.Image != "" && b.Image == name && (b.Platform == "" || p.ImagePlatform == "" || b.Platform == p.ImagePlatform) {
			return b, ""
		}
	}
	return &Baseline{Source: "none for " + name, Known: map[string]string{}},
		fmt.Sprintf("no baseline report names the image %s: every finding of it is new", name)
}
