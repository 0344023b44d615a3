// Package sbom reads a CycloneDX SBOM back into an inventory: the packages (with their
// layers, locations and OS ownership when imagegate wrote the SBOM), the image it
// describes, and how its layers split into base and app. 'imagegate scan --sbom' matches
// it against the vulnerability data, so a stored SBOM can be re-checked against fresh data
// without the image. SBOMs from other tools work too: packages need a purl.
package sbom

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/imagegate/imagegate/report"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/osv-scalibr/purl"

	"github.com/imagegate/imagegate/scanner/ecosystem"
	"github.com/imagegate/imagegate/scanner/failure"
	"github.com/imagegate/imagegate/scanner/userfile"
)

// Properties imagegate writes on components and on the metadata component (the image).
const (
	PropLayer       = "imagegate:layer"
	PropLocation    = "imagegate:location"
	PropOSOwned     = "imagegate:os-owned"
	PropSource      = "imagegate:source-package"
	PropEcosystem   = "imagegate:ecosystem"
	PropArch        = "imagegate:arch"
	PropImageID     = "imagegate:image-id"
	PropPlatform    = "imagegate:platform"
	PropOS          = "imagegate:os"
	PropBaseLayers  = "imagegate:base-layers"
	PropAttribution = "imagegate:attribution"
	PropInferred    = "imagegate:attribution-inferred"
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

// Read decodes a CycloneDX JSON SBOM; name is used in messages.
func Read(r io.Reader, name string) (*Document, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, failure.Inputf("sbom %s: %w", name, err)
	}
	if len(data) > MaxSize {
		return nil, failure.Inputf("sbom %s: larger than %d bytes", name, MaxSize)
	}
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(data), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		return nil, failure.Inputf("sbom %s: not CycloneDX JSON: %w", name, err)
	}
	if bom.BOMFormat != "CycloneDX" {
		return nil, failure.Inputf("sbom %s: bomFormat is %q, want CycloneDX", name, bom.BOMFormat)
	}
	doc := &Document{}
	if bom.Metadata != nil && bom.Metadata.Component != nil {
		c := bom.Metadata.Component
		doc.Name, doc.Version = c.Name, c.Version
		for _, p := range props(c.Properties) {
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
	doc.Packages = []report.Package{}
	var walk func([]cdx.Component)
	walk = func(cs []cdx.Component) {
		for _, c := range cs {
			if c.Type != cdx.ComponentTypeContainer && c.Type != cdx.ComponentTypeOS {
				if p, err := toPackage(c, doc.OS); err != nil {
					doc.Warnings = append(doc.Warnings, fmt.Sprintf("sbom %s: component %q: %v", name, c.Name, err))
				} else if p != nil {
					doc.Packages = append(doc.Packages, *p)
				}
			}
			if c.Components != nil {
				walk(*c.Components)
			}
		}
	}
	if bom.Components != nil {
		walk(*bom.Components)
	}
	return doc, nil
}

func props(p *[]cdx.Property) []cdx.Property {
	if p == nil {
		return nil
	}
	return *p
}

var errNoPURL = errors.New("no package URL: not checked")

func toPackage(c cdx.Component, os *report.OS) (*report.Package, error) {
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
	for _, pr := range props(c.Properties) {
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
