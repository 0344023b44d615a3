package cyclonedx

// Reading: a CycloneDX SBOM back into an inventory: the packages (with their layers,
// locations and OS ownership when imagegate wrote the SBOM), the image it describes, and
// how its layers split into base and app. 'imagegate scan --sbom' matches it against the
// vulnerability data, so a stored SBOM can be re-checked against fresh data without the
// image. SBOMs from other tools work too: packages need a purl.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/imagegate/imagegate/report"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/osv-scalibr/purl"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/scanner/ecosystem"
	"github.com/imagegate/imagegate/scanner/jsonstream"
	"github.com/imagegate/imagegate/scanner/userfile"
)

// Properties imagegate writes on components and on the metadata component (the image).
const (
	PropLayer = "imagegate:layer"
	// PropReachability is a Go vulnerability's reachability (reachable, not-reachable,
	// unknown).
	PropReachability = "imagegate:reachability"
	PropLocation     = "imagegate:location"
	PropOSOwned      = "imagegate:os-owned"
	PropSource       = "imagegate:source-package"
	PropEcosystem    = "imagegate:ecosystem"
	PropArch         = "imagegate:arch"
	PropImageID      = "imagegate:image-id"
	PropPlatform     = "imagegate:platform"
	PropOS           = "imagegate:os"
	PropBaseLayers   = "imagegate:base-layers"
	PropAttribution  = "imagegate:attribution"
	PropInferred     = "imagegate:attribution-inferred"
)

// MaxSize bounds the SBOM read into memory.
const MaxSize = 64 << 20

// Document is what an SBOM says about an image.
type Document struct {
	// Name and Version are the metadata component's (the image name and digest).
	Name, Version string
	ImageID       string
	Platform      string
	OS            *report.OS
	Packages      []report.Package
	// BaseLayers and Attribution say how the image's layers split into base and app
	// (Attribution empty: not known).
	BaseLayers  int
	Attribution string
	Inferred    bool
	Warnings    []string
	dropped     int // warnings past maxWarnings
}

// ReadFile reads a CycloneDX JSON SBOM.
func ReadFile(path string) (*Document, error) {
	f, _, err := userfile.Open(path, "sbom")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f, path)
}

// MaxComponents bounds the components of one SBOM (as MaxPackageStanzas bounds a package
// database): at 64 MiB, a list of bare purls would be two million packages.
const MaxComponents = 200_000

// component is what is read of a CycloneDX component: the package, imagegate's
// properties, and the components nested in it.
type component struct {
	Type       cdx.ComponentType `json:"type"`
	Name       string            `json:"name"`
	Version    string            `json:"version"`
	PackageURL string            `json:"purl"`
	Properties []cdx.Property    `json:"properties"`
	Components []component       `json:"components"`
}

// Read decodes a CycloneDX JSON SBOM; name is used in messages. It streams: the document
// is read once, a component at a time, keeping only what a package needs (an SBOM at the
// size cap reads in bounded memory).
func Read(r io.Reader, name string) (*Document, error) {
	lr := &io.LimitedReader{R: r, N: MaxSize + 1}
	var format string
	var meta struct {
		Component *component `json:"component"`
	}
	var comps []component
	total := 0
	err := jsonstream.Object(json.NewDecoder(lr), func(dec *json.Decoder, key string) error {
		switch key {
		case "bomFormat":
			return dec.Decode(&format)
		case "metadata":
			return dec.Decode(&meta)
		case "components":
			return jsonstream.Array(dec, func(dec *json.Decoder) error {
				var c component
				if err := dec.Decode(&c); err != nil {
					return err
				}
				comps = append(comps, c)
				if total += 1 + nested(c.Components); total > MaxComponents {
					return errTooMany
				}
				return nil
			})
		}
		var skip json.RawMessage
		return dec.Decode(&skip)
	})
	switch {
	case lr.N <= 0:
		return nil, failure.Inputf("sbom %s: larger than %d bytes", name, MaxSize)
	case errors.Is(err, errTooMany):
		return nil, failure.Inputf("sbom %s: more than %d components, over the limit", name, MaxComponents)
	case err != nil:
		return nil, failure.Inputf("sbom %s: not CycloneDX JSON: %v", name, err)
	case format != "CycloneDX":
		return nil, failure.Inputf("sbom %s: bomFormat is %q, want CycloneDX", name, format)
	}
	doc := &Document{}
	if c := meta.Component; c != nil {
		doc.Name, doc.Version = c.Name, c.Version
		readImageProperties(doc, c.Properties)
	}
	doc.Packages = []report.Package{}
	var walk func([]component)
	walk = func(cs []component) {
		for _, c := range cs {
			if c.Type != cdx.ComponentTypeContainer && c.Type != cdx.ComponentTypeOS {
				if p, err := toPackage(c, doc.OS); err != nil {
					doc.warnf("sbom %s: component %q: %v", name, c.Name, err)
				} else if p != nil {
					doc.Packages = append(doc.Packages, *p)
				}
			}
			walk(c.Components)
		}
	}
	walk(comps)
	if doc.dropped > 0 {
		doc.Warnings = append(doc.Warnings, fmt.Sprintf("sbom %s: %d more components were not checked", name, doc.dropped))
	}
	return doc, nil
}

var errTooMany = errors.New("too many components")

func nested(cs []component) int {
	n := 0
	for _, c := range cs {
		n += 1 + nested(c.Components)
	}
	return n
}

// maxWarnings bounds the warnings one SBOM adds; the rest are counted.
const maxWarnings = 100

func (d *Document) warnf(format string, args ...any) {
	if len(d.Warnings) >= maxWarnings {
		d.dropped++
		return
	}
	d.Warnings = append(d.Warnings, fmt.Sprintf(format, args...))
}

// readImageProperties reads the properties imagegate writes on the metadata component.
func readImageProperties(doc *Document, props []cdx.Property) {
	for _, p := range props {
		switch p.Name {
		case PropImageID:
			doc.ImageID = p.Value
		case PropPlatform:
			doc.Platform = p.Value
		case PropOS:
			id, ver, _ := strings.Cut(p.Value, " ")
			doc.OS = &report.OS{ID: id, VersionID: ver}
		case PropBaseLayers:
			doc.BaseLayers, _ = strconv.Atoi(p.Value)
			doc.BaseLayers = max(doc.BaseLayers, 0)
		case PropAttribution:
			doc.Attribution = p.Value
		case PropInferred:
			doc.Inferred = p.Value == "true"
		}
	}
}

var errNoPURL = errors.New("no package URL: not checked")

func toPackage(c component, os *report.OS) (*report.Package, error) {
	if c.PackageURL == "" {
		if c.Type == cdx.ComponentTypeLibrary || c.Type == cdx.ComponentTypeApplication || c.Type == "" {
			return nil, errNoPURL
		}
		return nil, nil // files, frameworks, ...: not packages
	}
	pu, err := purl.FromString(c.PackageURL)
	if err != nil {
		return nil, fmt.Errorf("package URL %q: %w", c.PackageURL, err)
	}
	u := &pu
	p := &report.Package{
		Type:    u.Type,
		Name:    purlName(u),
		Version: u.Version,
		PURL:    c.PackageURL,
		Layer:   -1,
	}
	if c.Version != "" {
		p.Version = c.Version
	}
	if c.Name != "" && p.Type != purl.TypeMaven && p.Type != purl.TypeNPM && p.Type != purl.TypeGolang && p.Type != purl.TypeComposer {
		p.Name = c.Name
	}
	for _, pr := range c.Properties {
		switch pr.Name {
		case PropEcosystem:
			p.Ecosystem = pr.Value
		case PropLayer:
			if n, err := strconv.Atoi(pr.Value); err == nil && n >= 0 {
				p.Layer = n
			}
		case PropLocation:
			p.Locations = append(p.Locations, pr.Value)
		case PropOSOwned:
			p.OSOwned = pr.Value == "true"
		case PropArch:
			p.Arch = pr.Value
		case PropSource:
			p.SourceName, p.SourceVersion, _ = strings.Cut(pr.Value, " ")
		}
	}
	if p.Arch == "" {
		p.Arch = qualifiers(u)["arch"]
	}
	if p.SourceName == "" && qualifiers(u)["upstream"] != "" {
		// Trivy and Syft: upstream=source name (and version) on OS packages.
		up := qualifiers(u)["upstream"]
		p.SourceName, p.SourceVersion, _ = strings.Cut(up, "@")
	}
	if p.Ecosystem == "" {
		p.Ecosystem = ecosystemOf(u, os)
	}
	if p.Locations == nil {
		p.Locations = []string{}
	}
	return p, nil
}

func qualifiers(u *purl.PackageURL) map[string]string {
	m := map[string]string{}
	for _, q := range u.Qualifiers {
		m[q.Key] = q.Value
	}
	return m
}

// purlName is the name advisories use: "group:artifact" for Maven, "scope/name" for npm,
// the module path for Go, "vendor/name" for Composer.
func purlName(u *purl.PackageURL) string {
	if u.Namespace == "" {
		return u.Name
	}
	if u.Type == purl.TypeMaven {
		return u.Namespace + ":" + u.Name
	}
	if u.Type == purl.TypeNPM || u.Type == purl.TypeGolang || u.Type == purl.TypeComposer {
		return u.Namespace + "/" + u.Name
	}
	return u.Name
}

// ecosystemOf derives the OSV ecosystem of a package from its purl, for SBOMs that do not
// carry imagegate's ecosystem property. OS packages take the release from the purl's
// distro qualifier or the SBOM's OS.
func ecosystemOf(u *purl.PackageURL, os *report.OS) string {
	if ecosystem.IsDistroType(u.Type) {
		distro := qualifiers(u)["distro"]
		id, ver, _ := strings.Cut(distro, "-")
		if id != "" && id[0] >= '0' && id[0] <= '9' {
			id, ver = "", distro // Trivy: distro=3.20.2
		}
		if id == "" {
			id = u.Namespace
		}
		if ver == "" && os != nil {
			ver = os.VersionID
		}
		return ecosystem.ForDistro(id, ver)
	}
	return ecosystem.ForPURLType(u.Type)
}
